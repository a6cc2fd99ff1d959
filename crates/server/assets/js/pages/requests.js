// Requests: the request log of a project (or one key, or one member's
// keys) over the view's range, filtered by chips, newest (or dearest,
// slowest) first, page by page; one request opens in a drawer. The URL
// holds scope, filters, order and the open request, so a view can be shared.

import { ApiError, api, rangeParams } from '../api.js';
import { formatInt, formatRange, formatTimestamp, formatUsd, formatUsdExact } from '../format.js';
import { linkTo } from '../state/url.js';
import { badge, emptyState, errorState, h, icon, loadingBlock, mount, openDialog } from '../ui.js';
import { pageHeader } from './analytics.js';

export const title = 'Requests';

/** URL parameter → [API parameter, chip label]. */
export const FILTERS = {
  model: ['model', 'Model'],
  routedModel: ['routedModel', 'Model'],
  provider: ['provider', 'Provider'],
  app: ['app', 'App'],
  endUser: ['endUser', 'End user'],
  tag: ['tag', 'Tag'],
  outcome: ['outcome', 'Outcome'],
  status: ['status', 'Status'],
  stream: ['stream', 'Streamed'],
  minCost: ['minCost', 'Cost at least'],
  minLatencyMs: ['minLatencyMs', 'Latency at least (ms)'],
};
const SCOPES = { key: 'apiKeyId', member: 'userId' };
const OUTCOMES = {
  success: ['Success', 'success'],
  upstream_error: ['Provider error', 'danger'],
  gateway_error: ['Gateway error', 'danger'],
  client_error: ['Refused', 'neutral'],
  canceled: ['Canceled', 'neutral'],
  blocked: ['Blocked by a budget', 'danger'],
};
const SORTS = [{ value: '', label: 'Newest first' }, { value: 'cost', label: 'Most expensive' }, { value: 'latency', label: 'Slowest' }];

function ms(us) {
  if (us === null || us === undefined) return '—';
  return `${formatInt(Math.round(us / 1000))} ms`;
}

function outcomeBadge(e) {
  const [label, tone] = OUTCOMES[e.outcome] || [e.outcome, 'neutral'];
  return h('span', { class: 'outcome' }, badge(label, tone), h('span', { class: 'cell-sub' }, String(e.status)));
}

/** The API query of the view: scope, range, filters and order. */
function apiQuery(q, project, org) {
  const query = { ...rangeParams(q) };
  if (q.key) query.apiKeyId = q.key;
  else if (q.member) {
    query.organizationId = org.id;
    query.userId = q.member;
  } else query.projectId = project?.id;
  for (const [k, [param]] of Object.entries(FILTERS)) if (q[k]) query[param] = q[k];
  if (q.sort) query.sort = q.sort;
  return query;
}

export async function render(ctx) {
  const { el, q, org, project, signal, navigate } = ctx;
  if (!project && !q.key && !q.member) {
    mount(el, h('div', { class: 'page' }, pageHeader('Requests', org.name),
      emptyState({ title: 'No projects yet', message: `${org.name} has no projects yet.` })));
    return;
  }
  const query = apiQuery(q, project, org);
  const go = (patch) => navigate(linkTo('/requests', q, { ...currentExtras(q), ...patch }));

  const scopeText = q.key ? 'One API key' : q.member ? 'One member’s keys' : project.name;
  const exportHref = `/api/activity/export.csv?${new URLSearchParams(Object.entries(query).filter(([, v]) => v))}`;
  const exportButton = h('a', { class: 'btn btn-secondary', href: exportHref, download: `tally-requests-${q.from}-${q.to}.csv`, dataset: { export: 'requests' } },
    icon('download'), 'Export CSV');

  const chips = h('div', { class: 'chips', role: 'list', 'aria-label': 'Filters', dataset: { chips: '' } });
  for (const [k, [, label]] of Object.entries({ ...FILTERS, key: ['', 'API key'], member: ['', 'Member'] })) {
    if (!q[k]) continue;
    const value = k === 'outcome' ? q[k].split(',').map((o) => OUTCOMES[o]?.[0] || o).join(' or ') : q[k];
    chips.append(h('span', { class: 'chip', role: 'listitem', dataset: { filter: k } },
      h('span', {}, `${label}: `, h('b', {}, value)),
      h('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove filter ${label}`, onclick: () => go({ [k]: '' }) }, icon('close', 12))));
  }

  const outcomeSelect = h('select', { class: 'select', 'aria-label': 'Outcome', dataset: { control: 'outcome' } },
    h('option', { value: '' }, 'Any outcome'),
    h('option', { value: 'upstream_error,gateway_error', selected: q.outcome === 'upstream_error,gateway_error' }, 'Errors'),
    Object.entries(OUTCOMES).map(([v, [label]]) => h('option', { value: v, selected: q.outcome === v }, label)));
  outcomeSelect.addEventListener('change', () => go({ outcome: outcomeSelect.value }));
  const sortSelect = h('select', { class: 'select', 'aria-label': 'Order', dataset: { control: 'sort' } },
    SORTS.map((s) => h('option', { value: s.value, selected: (q.sort || '') === s.value }, s.label)));
  sortSelect.addEventListener('change', () => go({ sort: sortSelect.value }));
  const modelInput = h('input', { class: 'input', type: 'search', placeholder: 'Model, e.g. gpt-4o', 'aria-label': 'Filter by model', value: q.model || '' });
  const filterForm = h('form', { class: 'filter-bar', role: 'search', onsubmit: (e) => {
    e.preventDefault();
    go({ model: modelInput.value.trim() });
  } }, modelInput, outcomeSelect, sortSelect);

  const body = h('div', { class: 'card-slot' }, loadingBlock(320, 'Loading requests…'));
  const more = h('div', { class: 'load-more' });
  mount(el, h('div', { class: 'page', dataset: { page: 'requests' } },
    pageHeader('Requests', `${scopeText} · ${formatRange(q.from, q.to)} · ${q.tz}`, exportButton),
    h('section', { class: 'card card-table', 'aria-labelledby': 'requests-title', dataset: { card: 'requests' } },
      h('header', { class: 'card-header' },
        h('div', { class: 'card-heading' }, h('h2', { class: 'card-title', id: 'requests-title' }, 'Requests'),
          h('p', { class: 'card-description' }, org.role === 'developer' ? 'The requests of the keys you created.' : 'Every request recorded by the gateway.')),
        h('div', { class: 'card-tools' }, filterForm)),
      chips.childElementCount ? h('div', { class: 'chips-row' }, chips) : null,
      h('div', { class: 'card-body' }, body, more))));

  const tbody = h('tbody', {});
  let shown = 0;
  async function page(cursor) {
    try {
      const data = await api('/activity', { query: { ...query, cursor, limit: 50 }, signal });
      if (signal.aborted) return;
      if (!cursor) {
        if (!data.data.length) {
          mount(body, emptyState({ title: 'No requests match', message: 'Nothing was recorded for these filters in this range. Remove a filter or pick a longer range.', iconName: 'inbox' }));
          return;
        }
        mount(body, table());
      }
      for (const e of data.data) tbody.append(row(e));
      shown += data.data.length;
      mount(more, data.nextCursor
        ? h('button', { type: 'button', class: 'btn btn-secondary', dataset: { action: 'more' }, onclick: () => page(data.nextCursor) }, `Load more (${formatInt(shown)} shown)`)
        : h('p', { class: 'card-description', dataset: { end: '' } }, `${formatInt(shown)} ${shown === 1 ? 'request' : 'requests'}, all shown`));
    } catch (e) {
      if (e.name === 'AbortError' || signal.aborted) return;
      mount(body, errorState({ error: e, retry: () => page(cursor) }));
    }
  }

  function table() {
    return h('div', { class: 'table-wrap' }, h('table', { class: 'table table-requests', dataset: { table: 'requests' } },
      h('caption', { class: 'sr-only' }, 'Requests'),
      h('thead', {}, h('tr', {}, ['Time', 'Model', 'Key', 'App', 'Status', 'Tokens', 'Cost', 'Latency', 'TTFT']
        .map((t, i) => h('th', { scope: 'col', class: i >= 5 ? 'num' : null }, t)))),
      tbody));
  }

  function row(e) {
    return h('tr', { dataset: { requestId: e.id, outcome: e.outcome } },
      h('th', { scope: 'row' }, h('button', { type: 'button', class: 'row-link link-button', onclick: () => go({ request: e.id }) },
        formatTimestamp(e.startedAtUtc, q.tz))),
      h('td', { dataset: { label: 'Model' } }, e.routedModel || e.requestedModel || '(no model)'),
      h('td', { dataset: { label: 'Key' } }, e.apiKeyName || '—'),
      h('td', { dataset: { label: 'App' } }, e.app || '—'),
      h('td', { dataset: { label: 'Status' } }, outcomeBadge(e)),
      h('td', { class: 'num', dataset: { label: 'Tokens' } }, formatInt(e.tokens.total)),
      h('td', { class: 'num', dataset: { label: 'Cost' }, title: formatUsdExact(e.cost) }, formatUsd(e.cost)),
      h('td', { class: 'num', dataset: { label: 'Latency' } }, ms(e.latencyUs)),
      h('td', { class: 'num', dataset: { label: 'TTFT' } }, ms(e.ttftUs)));
  }

  await page(undefined);
  if (q.request && !signal.aborted) openRequest(ctx, q.request, () => go({ request: '' }));
}

/** The URL parameters of the Requests page beyond the global ones. */
function currentExtras(q) {
  const out = {};
  for (const k of [...Object.keys(FILTERS), ...Object.keys(SCOPES), 'sort', 'request']) if (q[k]) out[k] = q[k];
  return out;
}

/** One request in full, in a dialog drawer. */
async function openRequest(ctx, id, onClose) {
  const { q, signal } = ctx;
  const slot = h('div', { class: 'request-detail', dataset: { detail: id } }, loadingBlock(200, 'Loading the request…'));
  const closed = openDialog({ title: 'Request', className: 'drawer', render: () => slot });
  try {
    const d = await api(`/activity/${encodeURIComponent(id)}`, { query: { timezone: q.tz }, signal });
    mount(slot, detail(d, q));
  } catch (e) {
    if (e.name === 'AbortError') return;
    mount(slot, e instanceof ApiError && e.status === 404
      ? emptyState({ title: 'Request not found', message: 'It does not exist, was pruned, or is not yours to see.', iconName: 'lock' })
      : errorState({ error: e }));
  }
  await closed;
  if (!signal.aborted) onClose();
}

function detail(d, q) {
  const item = (label, value) => [h('dt', {}, label), h('dd', {}, value ?? '—')];
  const t = d.tokens;
  return [
    h('dl', { class: 'detail-list' },
      item('Request id', h('code', { dataset: { field: 'requestId' } }, d.requestId)),
      item('Started', `${formatTimestamp(d.startedAtUtc, q.tz)} (${d.startedAt})`),
      item('Started (UTC)', d.startedAtUtc),
      item('Outcome', outcomeBadge(d)),
      d.error ? item('Error', d.error) : null,
      item('Requested model', d.requestedModel),
      item('Routed model', d.routedModel),
      item('Canonical model', d.model),
      item('Provider', d.provider),
      item('Endpoint', d.endpoint),
      item('Streamed', d.stream ? 'Yes' : 'No'),
      item('API key', d.key ? [d.key.name, ' ', h('code', { class: 'key-mask' }, d.key.maskedKey)] : 'Deleted key'),
      item('Member', d.member.name || d.member.email || d.member.userId),
      item('Project', d.project.name || 'Deleted project'),
      item('App', d.app),
      item('End user', d.endUser),
      item('Tags', d.tags ? h('span', { class: 'tag-list', dataset: { field: 'tags' } },
        Object.entries(d.tags).map(([k, v]) => badge(`${k}=${v}`, 'neutral'))) : null),
      item('Latency', ms(d.latencyUs)),
      item('Time to first token', ms(d.ttftUs)),
      d.tokensPerSecond ? item('Tokens per second', formatInt(Math.round(d.tokensPerSecond))) : null,
      item('Tokens', `${formatInt(t.total)} (${formatInt(t.input)} input, ${formatInt(t.cachedInput)} cached, ${formatInt(t.cacheWrite)} cache writes, ${formatInt(t.output)} output, ${formatInt(t.reasoning)} reasoning)`),
      item('Cost', h('span', { dataset: { field: 'cost' } }, formatUsdExact(d.cost))),
      d.estimated ? item('Usage', 'Estimated: the provider reported none') : null,
      d.invalidUsage ? item('Usage', 'The provider reported usage that was refused') : null,
      d.unpriced ? item('Price', 'The model has no price') : null),
    d.pricing.charges.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table table-charges' },
      h('caption', {}, `Charges at today’s ${d.pricing.source} prices${d.pricing.matchesRecorded ? '' : ' (prices changed since: the cost above is what was charged)'}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Tokens'), h('th', { scope: 'col', class: 'num' }, 'Count'), h('th', { scope: 'col', class: 'num' }, 'USD / 1M'), h('th', { scope: 'col', class: 'num' }, 'Cost'))),
      h('tbody', {}, d.pricing.charges.map((c) => h('tr', {},
        h('th', { scope: 'row' }, c.class.replace('_', ' ')),
        h('td', { class: 'num' }, formatInt(c.tokens)),
        h('td', { class: 'num' }, `$${c.pricePerMillion}`),
        h('td', { class: 'num' }, formatUsdExact(c.cost))))))) : null,
    bodies(d),
  ];
}

/** The captured request and response, collapsed; or why there are none. */
function bodies(d) {
  if (!d.bodies) {
    const why = d.project.captureBodies
      ? 'No bodies were kept for this request: it came before capture was turned on, or they are past the project’s retention.'
      : 'Body capture is off for this project.';
    return h('p', { class: 'card-description', dataset: { bodies: 'none' } }, why);
  }
  const block = (label, text, truncated) => h('details', { class: 'body-capture', dataset: { body: label.toLowerCase() } },
    h('summary', {}, label, truncated ? ' (cut at 64 KiB)' : ''),
    h('pre', { class: 'body-text' }, text || '(empty)'));
  return h('div', { dataset: { bodies: '' } },
    block('Request', d.bodies.request, d.bodies.requestTruncated),
    block('Response', d.bodies.response, d.bodies.responseTruncated));
}
