// Performance: latency and time-to-first-token percentiles of a project by
// model and by provider, and its requests by HTTP status and by outcome
// over time. Percentiles come from the rollups' histograms (each within the
// stated error of the exact one); a row or a point opens the requests.

import { analytics } from '../api.js';
import { releaseCharts, stackedAreaChart } from '../charts.js';
import { formatBucket, formatInt, formatRange, plural } from '../format.js';
import { requestsLink } from '../state/url.js';
import { card, emptyState, errorState, h, loadingBlock, mount, statCard, statSkeleton } from '../ui.js';
import { intervalFor, pageHeader } from './analytics.js';

export const title = 'Performance';

const OUTCOMES = [
  ['success', 'Success', 'success'],
  ['upstreamError', 'Provider error', 'upstream_error'],
  ['gatewayError', 'Gateway error', 'gateway_error'],
  ['clientError', 'Refused', 'client_error'],
  ['canceled', 'Canceled', 'canceled'],
];

function ms(v) {
  if (v === null || v === undefined) return '—';
  return v >= 100 ? `${formatInt(Math.round(v))} ms` : `${v.toFixed(1)} ms`;
}

function latencyTable(rows, { label, onPick, testId }) {
  const num = (text) => h('td', { class: 'num' }, text);
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'table', dataset: { table: testId } },
      h('caption', { class: 'sr-only' }, `Latency percentiles by ${label}`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, label === 'model' ? 'Model' : 'Provider'),
        label === 'model' ? h('th', { scope: 'col' }, 'Provider') : null,
        h('th', { scope: 'col', class: 'num' }, 'Requests'),
        h('th', { scope: 'col', class: 'num' }, 'p50'),
        h('th', { scope: 'col', class: 'num' }, 'p95'),
        h('th', { scope: 'col', class: 'num' }, 'p99'),
        h('th', { scope: 'col', class: 'num' }, 'TTFT p50'),
        h('th', { scope: 'col', class: 'num' }, 'TTFT p95'))),
      h('tbody', {}, rows.map((r) => {
        const link = h('a', { href: onPick(r), class: 'mono' }, label === 'model' ? r.model : r.provider);
        return h('tr', { dataset: { row: label === 'model' ? r.model : r.provider } },
          h('th', { scope: 'row', class: 'cell-model' }, link),
          label === 'model' ? h('td', {}, r.provider) : null,
          num(formatInt(r.requests)),
          num(ms(r.latencyMs.p50)),
          num(ms(r.latencyMs.p95)),
          num(ms(r.latencyMs.p99)),
          num(ms(r.ttftMs?.p50)),
          num(ms(r.ttftMs?.p95)));
      }))));
}

/** A stacked-area card over the view's buckets; `series` [{name, values, pick}]. */
function seriesCard({ titleText, description, testId, data, series, onPick, signal }) {
  const slot = h('div', { class: 'card-slot' });
  const el = card({ title: titleText, description, body: slot, className: 'card-over-time' });
  el.dataset.card = testId;
  const labels = data.buckets.map((b) => formatBucket(b.start, data.interval, data.range.from === data.range.to));
  const totals = data.buckets.map((_, i) => formatInt(series.reduce((acc, s) => acc + s.values[i], 0)));
  if (!series.length || totals.every((t) => t === '0')) {
    mount(slot, emptyState({ title: 'No requests in this range', height: 260 }));
    return el;
  }
  const chartEl = h('div', { class: 'chart chart-area', dataset: { chart: testId } });
  mount(slot, chartEl);
  stackedAreaChart(chartEl, {
    labels,
    series: series.map((s) => ({ ...s, exact: s.values.map(formatInt) })),
    totals,
  }, 'requests', {
    signal,
    metricLabel: 'requests',
    onPick: ({ index, series: s }) => onPick(s, data.buckets[index].start),
    ariaLabel: `${titleText}, ${data.buckets.length} ${data.interval === 'hour' ? 'hours' : 'days'}: ${series.map((s) => s.name).join(', ')}`,
  });
  return el;
}

export async function render(ctx) {
  const { el, q, org, project, signal } = ctx;
  if (!project) {
    mount(el, h('div', { class: 'page' }, pageHeader('Performance', org.name),
      emptyState({ title: 'No projects yet', message: `${org.name} has no projects yet.` })));
    return;
  }
  const stats = h('div', { class: 'stats', dataset: { stats: 'latency' } },
    ['Latency p50', 'Latency p95', 'Latency p99', 'Time to first token p50'].map(statSkeleton));
  const body = h('div', { class: 'page-body' }, loadingBlock(320));
  mount(el, h('div', { class: 'page', dataset: { page: 'performance' } },
    pageHeader('Performance', `${project.name} · ${formatRange(q.from, q.to)} · ${q.tz}`),
    stats, body));

  async function load() {
    mount(body, loadingBlock(320));
    let data;
    try {
      data = await analytics.performance({ projectId: project.id }, q, intervalFor(q), signal);
    } catch (e) {
      if (e.name !== 'AbortError' && !signal.aborted) mount(body, errorState({ error: e, retry: load, height: 320 }));
      return;
    }
    if (signal.aborted) return;
    const o = data.overall;
    const within = `within ±${data.relativeErrorPercent}%`;
    mount(stats,
      statCard({ label: 'Latency p50', value: ms(o.latencyMs.p50), sub: plural(o.requests, 'request'), testId: 'p50' }),
      statCard({ label: 'Latency p95', value: ms(o.latencyMs.p95), sub: within, testId: 'p95' }),
      statCard({ label: 'Latency p99', value: ms(o.latencyMs.p99), sub: within, testId: 'p99' }),
      statCard({
        label: 'Time to first token p50', value: ms(o.ttftMs?.p50), testId: 'ttft',
        sub: o.ttftMs ? `p95 ${ms(o.ttftMs.p95)} · ${plural(o.ttftMs.requests, 'stream')}` : 'No streamed requests in this range',
      }));
    if (!o.requests) {
      releaseCharts(body);
      mount(body, emptyState({ title: 'No requests in this range', message: 'Requests through this gateway will show up here.', height: 260 }));
      return;
    }
    const slowest = (filters) => requestsLink(q, { ...filters, sort: 'latency' });
    const day = (start) => start.slice(0, 10);
    const statusSeries = data.statuses.map((code, k) => ({
      name: code === 0 ? 'unknown' : String(code),
      code,
      values: data.buckets.map((b) => b.statuses[k]),
    }));
    const outcomeSeries = OUTCOMES.map(([field, name, outcome]) => ({
      name, outcome, values: data.buckets.map((b) => b.outcomes[field]),
    })).filter((s) => s.values.some((v) => v > 0));
    releaseCharts(body);
    mount(body,
      card({
        title: 'Latency by Model',
        description: `Percentiles over every request routed to the model, from rollup histograms (${within} of the exact value). A model opens its slowest requests.`,
        body: latencyTable(data.models, { label: 'model', testId: 'latency-models', onPick: (r) => slowest({ model: r.model, provider: r.provider }) }),
        className: 'card-table',
      }),
      card({
        title: 'Latency by Provider',
        description: 'The same percentiles per provider.',
        body: latencyTable(data.providers, { label: 'provider', testId: 'latency-providers', onPick: (r) => slowest({ provider: r.provider }) }),
        className: 'card-table',
      }),
      h('div', { class: 'grid-2' },
        seriesCard({
          titleText: 'Requests by Status',
          description: 'HTTP status answered to the client.',
          testId: 'statuses',
          data,
          signal,
          series: statusSeries,
          onPick: (s, start) => ctx.navigate(requestsLink({ ...q, from: day(start), to: day(start) }, s.code ? { status: String(s.code) } : {})),
        }),
        seriesCard({
          titleText: 'Requests by Outcome',
          description: 'Served, failed at the provider or the gateway, refused, canceled.',
          testId: 'outcomes',
          data,
          signal,
          series: outcomeSeries,
          onPick: (s, start) => ctx.navigate(requestsLink({ ...q, from: day(start), to: day(start) }, { outcome: s.outcome })),
        })));
  }
  await load();
}
