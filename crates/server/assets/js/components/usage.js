// The analytics building blocks shared by the Analytics, key statistics and
// member pages: summary cards, the "Cost by Model" ranking, the "Cost by
// Model Over Time" stacked area, and the models table.

import { barChart, releaseCharts, stackedAreaChart } from '../charts.js';
import {
  formatBucket, formatCompact, formatInt, formatMetric, formatMetricExact, formatPercent, formatUsd,
  formatUsdExact, moneyToNanos, moneyToNumber, plural,
} from '../format.js';
import { card, emptyState, errorState, h, loadingBlock, mount, segmented, statCard, statSkeleton, tabs, uniqueId } from '../ui.js';

export const METRIC_OPTIONS = [
  { value: 'cost', label: 'Cost' },
  { value: 'requests', label: 'Requests' },
  { value: 'tokens', label: 'Tokens' },
];
const METRIC_NAMES = { cost: 'cost', requests: 'requests', tokens: 'tokens' };
const BAR_LIMIT = 10;
const AREA_LIMIT = 6;

/** Cost, requests, tokens and error rate of a Usage object, as cards. */
export function summaryCards(usage, { errorsHref } = {}) {
  const t = usage.tokens || {};
  const notes = [];
  if (usage.unpricedRequests) notes.push(`${plural(usage.unpricedRequests, 'request')} without a price`);
  if (usage.invalidUsageRequests) notes.push(`${plural(usage.invalidUsageRequests, 'request')} with invalid usage from the provider`);
  if (usage.estimatedRequests) notes.push(`${plural(usage.estimatedRequests, 'request')} estimated`);
  return [
    statCard({
      label: 'Total cost', value: formatUsd(usage.cost), exact: formatUsdExact(usage.cost), raw: usage.cost, testId: 'cost',
      sub: notes.length ? notes.join(' · ') : moneyToNanos(usage.cost) === 0n ? 'No spend in this range' : `${formatUsdExact(usage.cost)} exactly`,
    }),
    statCard({
      label: 'Requests', value: formatInt(usage.requests), exact: formatInt(usage.requests), raw: String(usage.requests), testId: 'requests',
      sub: usage.clientErrors ? `${plural(usage.clientErrors, 'request')} refused by the gateway`
        : usage.canceled ? `${plural(usage.canceled, 'stream')} canceled by the client` : 'None refused by the gateway',
    }),
    statCard({
      label: 'Tokens', value: formatCompact(t.total), exact: `${formatInt(t.total)} tokens`, raw: String(t.total ?? 0), testId: 'tokens',
      sub: `${formatCompact(t.input)} input · ${formatCompact(t.output)} output`,
    }),
    statCard({
      label: 'Error rate', value: formatPercent(usage.errorRate), exact: `${formatInt(usage.errors)} of ${formatInt(usage.requests)} requests failed`,
      raw: String(usage.errorRate), testId: 'error-rate', tone: usage.errorRate >= 0.05 ? 'warn' : null,
      sub: `${plural(usage.errors, 'error')} of ${plural(usage.requests, 'request')}`,
      link: errorsHref && usage.errors ? h('a', { class: 'stat-link', href: errorsHref, dataset: { link: 'errors' } }, 'View failed requests') : null,
    }),
  ];
}

export function summarySkeleton() {
  return ['Total cost', 'Requests', 'Tokens', 'Error rate'].map(statSkeleton);
}

/** The value of `metric` of a Usage object as a BigInt (cost in nano-USD). */
function metricValue(metric, usage) {
  if (metric === 'cost') return moneyToNanos(usage.cost);
  if (metric === 'requests') return BigInt(usage.requests || 0);
  return BigInt(usage.tokens?.total || 0);
}

function metricNumber(metric, usage) {
  if (metric === 'cost') return moneyToNumber(usage.cost);
  if (metric === 'requests') return usage.requests || 0;
  return usage.tokens?.total || 0;
}

function shareOf(part, total) {
  if (total === 0n) return '';
  return formatPercent(Number((part * 100_000n) / total) / 100_000);
}

/** Adds up Usage objects (only what the charts and tables show). */
export function addUsage(list) {
  let cost = 0n;
  let requests = 0;
  let errors = 0;
  let total = 0;
  let input = 0;
  let output = 0;
  for (const u of list) {
    cost += moneyToNanos(u.cost);
    requests += u.requests || 0;
    errors += u.errors || 0;
    total += u.tokens?.total || 0;
    input += u.tokens?.input || 0;
    output += u.tokens?.output || 0;
  }
  const s = cost.toString().padStart(10, '0');
  return {
    cost: `${s.slice(0, -9)}.${s.slice(-9)}`, requests, errors, errorRate: requests ? errors / requests : 0,
    tokens: { total, input, output },
  };
}

export function modelLabel(model) {
  return model ?? '(no model)';
}

/**
 * A card ranking rows by a metric, with Cost / Requests / Tokens tabs.
 * `setData(items)` takes [{label, usage, note}] and draws the top ten
 * (the rest as "Other").
 */
export function rankCard({ title, description, metric, onMetric, noun = 'models', onPick, extraTools, empty }) {
  const panelId = uniqueId('panel');
  const slot = h('div', { class: 'card-slot', id: panelId, role: 'tabpanel' }, loadingBlock(260));
  let items = null;
  let signal = null;
  const tabList = tabs({
    label: `${title}: metric`,
    options: METRIC_OPTIONS,
    value: metric,
    controls: panelId,
    onChange: (m) => {
      metric = m;
      onMetric?.(m);
      draw();
    },
  });
  const tools = extraTools ? h('div', { class: 'tool-row' }, extraTools, tabList) : tabList;
  const el = card({ title, description, tools, body: slot, className: 'card-rank' });
  el.dataset.card = 'rank';

  function draw() {
    if (!items) return;
    if (!items.length || items.every((i) => metricValue('requests', i.usage) === 0n && metricValue('cost', i.usage) === 0n)) {
      mount(slot, emptyState({
        title: 'No usage in this range', message: `Nothing was recorded for these ${noun}. Try a longer range.`, ...empty, height: 220,
      }));
      return;
    }
    const ranked = [...items].sort((a, b) => {
      const d = metricValue(metric, b.usage) - metricValue(metric, a.usage);
      return d > 0n ? 1 : d < 0n ? -1 : 0;
    });
    let shown = ranked;
    if (ranked.length > BAR_LIMIT + 1) {
      const rest = ranked.slice(BAR_LIMIT);
      shown = [...ranked.slice(0, BAR_LIMIT), { label: `Other (${rest.length} ${noun})`, usage: addUsage(rest.map((r) => r.usage)), other: true }];
    }
    const total = ranked.reduce((acc, r) => acc + metricValue(metric, r.usage), 0n);
    const rows = shown.map((r) => ({
      label: r.label,
      value: metricNumber(metric, r.usage),
      exact: formatMetricExact(metric, r.usage),
      short: formatMetric(metric, r.usage),
      share: shareOf(metricValue(metric, r.usage), total),
      metricLabel: METRIC_OPTIONS.find((o) => o.value === metric).label,
      note: r.note,
      other: r.other,
      item: r,
    }));
    const chartEl = h('div', { class: 'chart chart-bar', dataset: { metric } });
    releaseCharts(slot);
    mount(slot, chartEl);
    slot.setAttribute('aria-labelledby', tabList.querySelector('[aria-selected="true"]')?.id || '');
    barChart(chartEl, rows, metric, {
      signal,
      onPick: onPick ? (row) => { if (!row.other) onPick(row.item); } : undefined,
      ariaLabel: `${title}, ranked by ${METRIC_NAMES[metric]}: ${rows.slice(0, 5).map((r) => `${r.label} ${r.exact}`).join('; ')}`,
    });
  }

  return {
    el,
    loading() {
      releaseCharts(slot);
      mount(slot, loadingBlock(260));
    },
    error(error, retry) {
      releaseCharts(slot);
      mount(slot, errorState({ error, retry, height: 260 }));
    },
    setData(newItems, newSignal) {
      items = newItems;
      signal = newSignal;
      draw();
    },
  };
}

/**
 * "Cost by Model Over Time": a stacked area of the top six models by the
 * chosen metric plus "Other", with metric tabs and a Mappings / Canonical
 * toggle (`onView` fetches the other view and calls `setData`).
 */
export function overTimeCard({ metric, view, onMetric, onView, onPick }) {
  const panelId = uniqueId('panel');
  const slot = h('div', { class: 'card-slot', id: panelId, role: 'tabpanel' }, loadingBlock(320));
  let data = null;
  let signal = null;
  const tabList = tabs({
    label: 'Cost by Model Over Time: metric',
    options: METRIC_OPTIONS,
    value: metric,
    controls: panelId,
    onChange: (m) => {
      metric = m;
      onMetric?.(m);
      draw();
    },
  });
  const toggle = segmented({
    label: 'Model names',
    options: [{ value: 'mapping', label: 'Mappings' }, { value: 'canonical', label: 'Canonical' }],
    value: view,
    onChange: (v) => {
      view = v;
      onView(v);
    },
  });
  const el = card({
    title: 'Cost by Model Over Time',
    description: 'Top models stacked; the rest as “Other”.',
    tools: h('div', { class: 'tool-row' }, toggle, tabList),
    body: slot,
    className: 'card-over-time',
  });
  el.dataset.card = 'over-time';

  function draw() {
    if (!data) return;
    const { models, buckets, interval } = data;
    if (!models.length || !buckets.length || data.totals?.requests === 0) {
      mount(slot, emptyState({ title: 'No usage in this range', message: 'Requests through this gateway will show up here.', height: 300 }));
      return;
    }
    const key = metric;
    // Rank models by the metric over the whole range (exactly, as BigInt).
    const totalsByModel = models.map((_, m) => buckets.reduce((acc, b) => acc + (key === 'cost' ? moneyToNanos(b.cost[m]) : BigInt(b[key][m] || 0)), 0n));
    const order = models.map((_, m) => m).sort((a, b) => (totalsByModel[b] > totalsByModel[a] ? 1 : totalsByModel[b] < totalsByModel[a] ? -1 : a - b));
    const top = order.length > AREA_LIMIT + 1 ? order.slice(0, AREA_LIMIT) : order;
    const rest = order.slice(top.length);
    const exactOf = (v) => (key === 'cost' ? formatUsdExact(v) : formatInt(v));
    const numberOf = (v) => (key === 'cost' ? Number(v) / 1e9 : Number(v));
    const valueAt = (b, m) => (key === 'cost' ? moneyToNanos(b.cost[m]) : BigInt(b[key][m] || 0));
    const series = top.map((m) => {
      const vals = buckets.map((b) => valueAt(b, m));
      return { name: models[m], values: vals.map(numberOf), exact: vals.map(exactOf), model: models[m] };
    });
    if (rest.length) {
      const vals = buckets.map((b) => rest.reduce((acc, m) => acc + valueAt(b, m), 0n));
      series.push({ name: `Other (${rest.length})`, values: vals.map(numberOf), exact: vals.map(exactOf), other: true });
    }
    const totals = buckets.map((b) => exactOf(models.reduce((acc, _, m) => acc + valueAt(b, m), 0n)));
    const chartEl = h('div', { class: 'chart chart-area', dataset: { metric, view: data.view || view } });
    releaseCharts(slot);
    mount(slot, chartEl);
    slot.setAttribute('aria-labelledby', tabList.querySelector('[aria-selected="true"]')?.id || '');
    stackedAreaChart(chartEl, {
      labels: buckets.map((b) => formatBucket(b.start, interval, data.range?.from === data.range?.to)),
      series,
      totals,
    }, metric, {
      signal,
      onPick: onPick ? ({ index, series: s }) => {
        if (!s.other) onPick({ model: s.model, start: buckets[index].start, interval, view: data.view || view });
      } : undefined,
      metricLabel: METRIC_NAMES[metric],
      ariaLabel: `${METRIC_NAMES[metric]} by model over time, ${buckets.length} ${interval === 'hour' ? 'hours' : 'days'}, models: ${series.map((s) => s.name).join(', ')}`,
    });
  }

  return {
    el,
    loading() {
      releaseCharts(slot);
      mount(slot, loadingBlock(320));
    },
    error(error, retry) {
      releaseCharts(slot);
      mount(slot, errorState({ error, retry, height: 320 }));
    },
    setData(newData, newSignal) {
      data = newData;
      signal = newSignal;
      draw();
    },
  };
}

/** Every model of the range with its numbers, and a totals row. */
export function modelsTable(models, totals, { view = 'mapping' } = {}) {
  if (!models.length) {
    return emptyState({ title: 'No models used in this range', height: 120 });
  }
  const totalNanos = moneyToNanos(totals.cost);
  const num = (text, extra = {}) => h('td', { class: 'num', ...extra }, text);
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'table', dataset: { table: 'models' } },
      h('caption', { class: 'sr-only' }, `Usage by model (${view === 'canonical' ? 'canonical models' : 'routed models'})`),
      h('thead', {},
        h('tr', {},
          h('th', { scope: 'col' }, 'Model'),
          h('th', { scope: 'col', class: 'num' }, 'Requests'),
          h('th', { scope: 'col', class: 'num' }, 'Tokens'),
          h('th', { scope: 'col', class: 'num' }, 'Error rate'),
          h('th', { scope: 'col', class: 'num' }, 'Cost'),
          h('th', { scope: 'col', class: 'num hide-sm' }, 'Share'))),
      h('tbody', {},
        models.map((m) => h('tr', {},
          h('th', { scope: 'row', class: 'cell-model' },
            h('span', { class: 'mono' }, modelLabel(m.model)),
            m.variants && m.variants.length > 1 ? h('span', { class: 'cell-sub' }, m.variants.join(', ')) : null),
          num(formatInt(m.usage.requests)),
          num(formatCompact(m.usage.tokens.total), { title: `${formatInt(m.usage.tokens.total)} tokens` }),
          num(formatPercent(m.usage.errorRate)),
          num(formatUsd(m.usage.cost), { title: formatUsdExact(m.usage.cost), dataset: { exact: m.usage.cost } }),
          num(shareOf(moneyToNanos(m.usage.cost), totalNanos) || '—', { class: 'num hide-sm' })))),
      h('tfoot', {},
        h('tr', {},
          h('th', { scope: 'row' }, 'Total'),
          num(formatInt(totals.requests)),
          num(formatCompact(totals.tokens.total), { title: `${formatInt(totals.tokens.total)} tokens` }),
          num(formatPercent(totals.errorRate)),
          num(formatUsd(totals.cost), { title: formatUsdExact(totals.cost), dataset: { exact: totals.cost } }),
          num('100%', { class: 'num hide-sm' })))));
}
