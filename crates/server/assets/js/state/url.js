// The view's state lives in the URL, so that a link reproduces it:
//   ?org=…&project=…&from=YYYY-MM-DD&to=YYYY-MM-DD&tz=Area/City
//    &tab=cost|requests|tokens   (Cost by Model)
//    &ttab=cost|requests|tokens  (Cost by Model Over Time)
//    &view=mapping|canonical     (Over Time: Mappings / Canonical)
//    &scope=all                  (API Keys: every project of the organization)

import { DEFAULT_PRESET, browserTimeZone, isTimeZone, presets, rangeProblem } from '../dates.js';

/** Parameters that follow the user from page to page. */
export const GLOBAL_KEYS = ['org', 'project', 'from', 'to', 'tz'];
/** Parameters whose change needs new data (the rest only redraw). */
export const DATA_KEYS = ['org', 'project', 'from', 'to', 'tz'];
const ORDER = ['org', 'project', 'from', 'to', 'tz', 'view', 'tab', 'ttab', 'scope', 'next'];

export const METRICS = ['cost', 'requests', 'tokens'];
export const VIEWS = ['mapping', 'canonical'];

/** The raw query of the current location. */
export function rawQuery() {
  return Object.fromEntries(new URLSearchParams(window.location.search));
}

/**
 * The query with defaults filled and invalid values replaced: the browser's
 * time zone, the last 30 days in it, the cost tab, the mappings view.
 */
export function normalize(raw) {
  const q = { ...raw };
  if (!isTimeZone(q.tz)) q.tz = browserTimeZone();
  if (rangeProblem(q.from, q.to)) {
    const p = presets(q.tz).find((x) => x.id === DEFAULT_PRESET);
    q.from = p.from;
    q.to = p.to;
  }
  if (!METRICS.includes(q.tab)) q.tab = 'cost';
  if (!METRICS.includes(q.ttab)) q.ttab = 'cost';
  if (!VIEWS.includes(q.view)) q.view = 'mapping';
  return q;
}

/** A query string in a stable order, leaving out empty values and defaults. */
export function queryString(q) {
  const defaults = { tab: 'cost', ttab: 'cost', view: 'mapping' };
  const params = new URLSearchParams();
  const keys = [...ORDER, ...Object.keys(q).filter((k) => !ORDER.includes(k))];
  for (const k of keys) {
    const v = q[k];
    if (v === undefined || v === null || v === '' || defaults[k] === v) continue;
    params.set(k, v);
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** A link to `path` that keeps the global parameters of `q`. */
export function linkTo(path, q, extra = {}) {
  const keep = {};
  for (const k of GLOBAL_KEYS) if (q[k]) keep[k] = q[k];
  return path + queryString({ ...keep, ...extra });
}

/** A link to the Requests page of the view `q`, filtered by `filters` (its URL parameters). */
export function requestsLink(q, filters) {
  return linkTo('/requests', q, filters);
}

/**
 * Writes `patch` into the URL (replacing the history entry unless `push`),
 * and tells the app which keys changed.
 */
export function setQuery(patch, { push = false } = {}) {
  const before = rawQuery();
  const next = { ...before, ...patch };
  const changed = Object.keys(patch).filter((k) => (before[k] ?? '') !== (next[k] ?? ''));
  const url = window.location.pathname + queryString(next);
  if (url === window.location.pathname + window.location.search) return changed;
  if (push) window.history.pushState(null, '', url);
  else window.history.replaceState(null, '', url);
  window.dispatchEvent(new CustomEvent('tally:query', { detail: { changed } }));
  return changed;
}
