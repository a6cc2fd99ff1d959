// The one way the dashboard talks to the server: JSON under /api, the
// session cookie sent along, every error turned into an ApiError carrying
// the API's {status, code, message, param}.

export class ApiError extends Error {
  constructor(status, code, message, param) {
    super(message || code || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.param = param;
  }
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, v);
  }
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

/**
 * `api('/organizations', {query, method, body, signal})`: resolves with the
 * parsed JSON (null for 204), rejects with an ApiError. A 401 anywhere but
 * the login call also tells the app the session is gone.
 */
export async function api(path, { method = 'GET', body, query, signal } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(withQuery(`/api${path}`, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error', 'Cannot reach the tally server. Check your connection and try again.');
  }
  if (response.status === 204) return null;
  let data = null;
  const text = await response.text();
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const e = data?.error || {};
    const error = new ApiError(response.status, e.code || 'http_error', e.message || `The server answered ${response.status}.`, e.param);
    if (response.status === 401 && path !== '/auth/login') {
      window.dispatchEvent(new CustomEvent('tally:unauthenticated'));
    }
    throw error;
  }
  return data;
}

/** The common analytics parameters of a view. */
export function rangeParams(q) {
  return { from: q.from, to: q.to, timezone: q.tz };
}

/** The CSV export of a scope over the view's range (a download link). */
export function exportUrl(scope, q, groupBy = 'model') {
  const params = new URLSearchParams({ ...scope, ...rangeParams(q), groupBy, interval: 'day' });
  return `/api/analytics/export.csv?${params}`;
}

export const analytics = {
  models: (scope, q, view, signal) =>
    api('/analytics/models', { query: { ...scope, ...rangeParams(q), view }, signal }),
  timeseries: (scope, q, view, interval, signal) =>
    api('/analytics/models/timeseries', { query: { ...scope, ...rangeParams(q), view, interval }, signal }),
  key: (keyId, q, signal) =>
    api(`/analytics/keys/${encodeURIComponent(keyId)}`, { query: rangeParams(q), signal }),
  members: (orgId, q, signal) =>
    api('/analytics/members', { query: { organizationId: orgId, ...rangeParams(q) }, signal }),
  endUsers: (scope, q, signal) =>
    api('/analytics/end-users', { query: { ...scope, ...rangeParams(q) }, signal }),
  tags: (scope, q, key, signal) =>
    api('/analytics/tags', { query: { ...scope, ...rangeParams(q), key }, signal }),
  performance: (scope, q, interval, signal) =>
    api('/analytics/performance', { query: { ...scope, ...rangeParams(q), interval }, signal }),
  member: (orgId, userId, q, signal) =>
    api(`/analytics/members/${encodeURIComponent(userId)}`, { query: { organizationId: orgId, ...rangeParams(q) }, signal }),
};
