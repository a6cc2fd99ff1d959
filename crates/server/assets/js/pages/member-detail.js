// One member's analytics: summary cards, most used model / provider / app,
// cost by (canonical) model, daily spend, top providers and top apps.

import { ApiError, analytics } from '../api.js';
import { stackedAreaChart } from '../charts.js';
import { modelLabel, rankCard, summaryCards, summarySkeleton } from '../components/usage.js';
import {
  formatCompact, formatDay, formatInt, formatPercent, formatRange, formatUsd, formatUsdExact, initials, moneyToNanos, moneyToNumber,
} from '../format.js';
import { badge, card, emptyState, errorBanner, h, icon, loadingBlock, mount } from '../ui.js';
import { gateFor } from './members.js';
import { requestsLink } from '../state/url.js';

export const title = 'Member';

export async function render(ctx) {
  const { el, q, org, signal, params } = ctx;
  const userId = params[0];
  const back = h('a', { class: 'back-link', href: ctx.link('/members') }, icon('arrowLeft', 14), 'Members');
  const header = h('div', { class: 'page-header' },
    h('div', {}, back,
      h('h1', { class: 'page-title' }, h('span', { class: 'skeleton-line wide', 'aria-hidden': 'true' }), h('span', { class: 'sr-only' }, 'Loading member…')),
      h('p', { class: 'page-sub' }, `${formatRange(q.from, q.to)} · ${q.tz}`)));
  const stats = h('div', { class: 'stats', dataset: { stats: 'summary' } }, summarySkeleton());
  const mostUsed = h('div', { class: 'most-used' }, ['Model', 'Provider', 'App'].map((l) => mostUsedItem(l, null)));
  const rank = rankCard({
    title: 'Cost by Model',
    description: 'Canonical models, ranked over the selected range.',
    metric: q.tab,
    onMetric: (m) => ctx.setQuery({ tab: m }),
  });
  const dailySlot = h('div', { class: 'card-slot' }, loadingBlock(260));
  const daily = card({ title: 'Daily spend', description: 'Cost per day in the selected time zone.', body: dailySlot, className: 'card-daily' });
  const providersSlot = h('div', { class: 'card-slot' }, loadingBlock(160));
  const appsSlot = h('div', { class: 'card-slot' }, loadingBlock(160));
  const providers = card({ title: 'Top providers', body: providersSlot, className: 'card-table' });
  providers.dataset.card = 'providers';
  const apps = card({ title: 'Top apps', description: 'By the X-Title or X-Source header, else the referring site.', body: appsSlot, className: 'card-table' });
  apps.dataset.card = 'apps';
  const page = h('div', { class: 'page', dataset: { page: 'member' } },
    header, stats, mostUsed,
    rank.el, daily,
    h('div', { class: 'grid-2' }, providers, apps));
  mount(el, page);

  let data;
  try {
    data = await analytics.member(org.id, userId, q, signal);
  } catch (e) {
    if (e.name === 'AbortError' || signal.aborted) return;
    const gate = gateFor(e, org, ctx.link);
    if (gate) {
      mount(el, h('div', { class: 'page' }, h('div', { class: 'page-header' }, h('div', {}, back, h('h1', { class: 'page-title' }, 'Member'))), gate));
    } else if (e instanceof ApiError && e.status === 404) {
      mount(el, h('div', { class: 'page' }, h('div', { class: 'page-header' }, h('div', {}, back, h('h1', { class: 'page-title' }, 'Member not found'))),
        emptyState({ title: 'No such member in this organization', message: 'They may belong to another organization.', iconName: 'users' })));
    } else {
      mount(stats, errorBanner({ error: e, retry: () => render(ctx) }));
      rank.error(e, () => render(ctx));
    }
    return;
  }
  if (signal.aborted) return;
  const m = data.member;
  mount(header.firstChild,
    back,
    h('div', { class: 'person person-lg' },
      h('div', { class: 'avatar avatar-lg', 'aria-hidden': 'true' }, initials(m.name)),
      h('div', {},
        h('h1', { class: 'page-title' }, m.name, ' ', m.former ? badge('former member', 'neutral') : badge(m.role || 'member', 'info')),
        h('p', { class: 'page-sub' }, [m.email, `${formatInt(m.apiKeyCount ?? 0)} API ${m.apiKeyCount === 1 ? 'key' : 'keys'}`, formatRange(q.from, q.to), q.tz].filter(Boolean).join(' · ')))));
  document.title = `${m.name} · tally`;
  const mine = { member: userId };
  mount(stats, summaryCards(data.summary, { errorsHref: requestsLink(q, { ...mine, outcome: 'upstream_error,gateway_error' }) }));
  const mu = data.mostUsed || {};
  mount(mostUsed, mostUsedItem('Model', mu.model, 'mono'), mostUsedItem('Provider', mu.provider), mostUsedItem('App', mu.app));
  rank.setData((data.costByModel || []).map((x) => ({ label: modelLabel(x.model), usage: x.usage })), signal);
  drawDaily(dailySlot, data.timeseries || [], signal);
  mount(providersSlot, usageTable('Provider', (data.topProviders || []).map((p) => ({ name: p.provider, usage: p.usage })), data.summary, 'providers'));
  mount(appsSlot, usageTable('App', (data.topApps || []).map((a) => ({ name: a.app, usage: a.usage, href: a.app ? requestsLink(q, { ...mine, app: a.app }) : null })), data.summary, 'apps'));
}

function mostUsedItem(label, value, cls = '') {
  return h('div', { class: 'most-used-item', dataset: { mostUsed: label.toLowerCase() } },
    h('p', { class: 'eyebrow' }, `Most used ${label.toLowerCase()}`),
    value === null
      ? h('p', { class: 'most-used-value' }, h('span', { class: 'skeleton-line', 'aria-hidden': 'true' }))
      : h('p', { class: `most-used-value ${cls}` }, value || '—'));
}

function drawDaily(slot, series, signal) {
  if (!series.length || series.every((d) => moneyToNanos(d.cost) === 0n && !d.requests)) {
    mount(slot, emptyState({ title: 'No spend in this range', height: 240 }));
    return;
  }
  const chartEl = h('div', { class: 'chart chart-area chart-daily' });
  mount(slot, chartEl);
  stackedAreaChart(chartEl, {
    labels: series.map((d) => formatDay(d.date)),
    series: [{ name: 'Cost', values: series.map((d) => moneyToNumber(d.cost)), exact: series.map((d) => formatUsdExact(d.cost)) }],
    totals: series.map((d) => `${formatInt(d.requests)} requests · ${formatInt(d.tokens)} tokens`),
  }, 'cost', { signal, metricLabel: '', ariaLabel: `Daily spend over ${series.length} days` });
}

function usageTable(label, rows, summary, name) {
  if (!rows.length) return emptyState({ title: `No ${label.toLowerCase()}s in this range`, height: 140 });
  const total = moneyToNanos(summary.cost);
  const num = (text, extra = {}) => h('td', { class: 'num', ...extra }, text);
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'table', dataset: { table: name } },
      h('caption', { class: 'sr-only' }, `Top ${label.toLowerCase()}s by cost`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, label),
        h('th', { scope: 'col', class: 'num' }, 'Requests'),
        h('th', { scope: 'col', class: 'num' }, 'Tokens'),
        h('th', { scope: 'col', class: 'num' }, 'Error rate'),
        h('th', { scope: 'col', class: 'num' }, 'Cost'))),
      h('tbody', {}, rows.map((r) => h('tr', {},
        h('th', { scope: 'row' }, r.href ? h('a', { class: 'row-link', href: r.href }, r.name) : r.name ?? '(unknown)',
          total > 0n ? h('span', { class: 'share-bar', 'aria-hidden': 'true' }, h('i', { style: `width:${Number((moneyToNanos(r.usage.cost) * 1000n) / total) / 10}%` })) : null),
        num(formatInt(r.usage.requests)),
        num(formatCompact(r.usage.tokens?.total), { title: `${formatInt(r.usage.tokens?.total)} tokens` }),
        num(formatPercent(r.usage.errorRate)),
        num(formatUsd(r.usage.cost), { title: formatUsdExact(r.usage.cost), dataset: { exact: r.usage.cost } }))))));
}
