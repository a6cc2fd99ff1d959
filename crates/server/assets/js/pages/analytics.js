// Project Analytics: summary cards, "Cost by Model", "Cost by Model Over
// Time", the models table, and cost by end user and by tag, all for the
// project and range in the URL.

import { analytics, exportUrl } from '../api.js';
import { breakdownSections } from '../components/breakdowns.js';
import { modelLabel, modelsTable, overTimeCard, rankCard, summaryCards, summarySkeleton } from '../components/usage.js';
import { rangeDays } from '../dates.js';
import { formatRange } from '../format.js';
import { requestsLink } from '../state/url.js';
import { card, emptyState, errorBanner, errorState, h, icon, loadingBlock, mount } from '../ui.js';

export const title = 'Analytics';

/** Hourly buckets for short ranges, so "Today" is a curve and not a dot. */
export function intervalFor(q) {
  return rangeDays(q.from, q.to) <= 2 ? 'hour' : 'day';
}

/**
 * The model charts and table for a scope ({projectId} or {apiKeyId}).
 * `onTotals(usage)` receives the totals of the range (for summary cards).
 */
export function modelSections(ctx, scope, { onTotals, onError } = {}) {
  const { q, signal, setQuery, navigate } = ctx;
  // Clicking a bar or a point opens the requests behind it.
  const filters = scopeFilters(scope);
  const rank = rankCard({
    onPick: (item) => {
      if (item.model) navigate(requestsLink(q, { ...filters, routedModel: item.model }));
    },
    title: 'Cost by Model',
    description: 'Models ranked over the selected range.',
    metric: q.tab,
    onMetric: (m) => setQuery({ tab: m }),
  });
  let view = q.view;
  const overTime = overTimeCard({
    metric: q.ttab,
    view,
    onMetric: (m) => setQuery({ ttab: m }),
    onPick: ({ model, start, view: v }) => {
      const day = start.slice(0, 10);
      navigate(requestsLink({ ...q, from: day, to: day }, { ...filters, [v === 'canonical' ? 'model' : 'routedModel']: model }));
    },
    onView: (v) => {
      view = v;
      setQuery({ view: v });
      loadSeries();
    },
  });
  const tableSlot = h('div', { class: 'card-slot' }, loadingBlock(160));
  const table = card({ title: 'Models', description: 'Every routed model in the range, by cost.', body: tableSlot, className: 'card-table' });
  table.dataset.card = 'models';

  let seriesController = null;
  async function loadSeries() {
    seriesController?.abort();
    seriesController = new AbortController();
    const local = seriesController;
    signal.addEventListener('abort', () => local.abort(), { once: true });
    overTime.loading();
    try {
      const data = await analytics.timeseries(scope, q, view, intervalFor(q), local.signal);
      if (!local.signal.aborted) overTime.setData(data, signal);
    } catch (e) {
      if (e.name !== 'AbortError' && !local.signal.aborted) overTime.error(e, loadSeries);
    }
  }

  async function loadModels() {
    rank.loading();
    mount(tableSlot, loadingBlock(160));
    try {
      const data = await analytics.models(scope, q, 'mapping', signal);
      if (signal.aborted) return;
      onTotals?.(data.totals);
      rank.setData(data.models.map((m) => ({
        label: modelLabel(m.model),
        model: m.model,
        usage: m.usage,
        note: m.model === null ? 'Refused before a model was resolved' : null,
      })), signal);
      mount(tableSlot, modelsTable(data.models, data.totals, { view: 'mapping' }));
    } catch (e) {
      if (e.name === 'AbortError' || signal.aborted) return;
      onError?.(e, loadModels);
      rank.error(e, loadModels);
      mount(tableSlot, errorState({ error: e, retry: loadModels, height: 160 }));
    }
  }

  return {
    elements: [rank.el, overTime.el, table],
    load: () => Promise.all([loadModels(), loadSeries()]),
  };
}

export async function render(ctx) {
  const { el, q, org, project } = ctx;
  if (!project) {
    mount(el, h('div', { class: 'page' },
      pageHeader('Analytics', org.name),
      emptyState({ title: 'No projects yet', message: `${org.name} has no projects. Owners and admins create them (POST /api/organizations/{id}/projects).` })));
    return;
  }
  const stats = h('div', { class: 'stats', dataset: { stats: 'summary' } }, summarySkeleton());
  const sections = modelSections(ctx, { projectId: project.id }, {
    onTotals: (totals) => mount(stats, summaryCards(totals, { errorsHref: errorsLink(q, { projectId: project.id }) })),
    onError: (e, retry) => mount(stats, errorBanner({ error: e, retry })),
  });
  const breakdowns = breakdownSections(ctx, { projectId: project.id }, {});
  mount(el, h('div', { class: 'page', dataset: { page: 'analytics' } },
    pageHeader('Analytics', `${project.name} · ${formatRange(q.from, q.to)} · ${q.tz}`, exportLink({ projectId: project.id }, q)),
    stats,
    sections.elements,
    h('div', { class: 'grid-2' }, breakdowns.elements)));
  await Promise.all([sections.load(), breakdowns.load()]);
}

/** The Requests page's scope parameters for an analytics scope. */
export function scopeFilters(scope) {
  return scope.apiKeyId ? { key: scope.apiKeyId } : {};
}

/** The failed requests (the analytics' errors) of a scope. */
export function errorsLink(q, scope) {
  return requestsLink(q, { ...scopeFilters(scope), outcome: 'upstream_error,gateway_error' });
}

/** "Export CSV": usage per day and model of the scope, as the API's CSV. */
export function exportLink(scope, q) {
  return h('a', {
    class: 'btn btn-secondary', href: exportUrl(scope, q), download: `tally-${q.from}-${q.to}.csv`, dataset: { export: 'csv' },
  }, icon('download'), 'Export CSV');
}

export function pageHeader(text, sub, actions) {
  return h('div', { class: 'page-header' },
    h('div', {},
      h('h1', { class: 'page-title' }, text),
      sub ? h('p', { class: 'page-sub' }, sub) : null),
    actions ? h('div', { class: 'page-actions' }, actions) : null);
}
