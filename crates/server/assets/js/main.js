// The dashboard's entry point: the client-side router, the session and the
// organization / project in use. Every page renders from the URL alone.

import { ApiError, api } from './api.js';
import { createShell } from './shell.js';
import { DATA_KEYS, linkTo, normalize, queryString, rawQuery, setQuery } from './state/url.js';
import { announce, emptyState, errorState, h, mount } from './ui.js';
import * as acceptInvitePage from './pages/accept-invite.js';
import * as analyticsPage from './pages/analytics.js';
import * as budgetsPage from './pages/budgets.js';
import * as keyStatsPage from './pages/key-stats.js';
import * as keysPage from './pages/keys.js';
import * as loginPage from './pages/login.js';
import * as memberDetailPage from './pages/member-detail.js';
import * as membersPage from './pages/members.js';
import * as notFoundPage from './pages/not-found.js';
import * as performancePage from './pages/performance.js';
import * as requestsPage from './pages/requests.js';

/**
 * nav: the sidebar entry it belongs to; project: shows the project
 * switcher; range: shows the date-range picker.
 */
const ROUTES = [
  { re: /^\/analytics\/?$/, page: analyticsPage, nav: 'analytics', project: true, range: true },
  { re: /^\/requests\/?$/, page: requestsPage, nav: 'requests', project: true, range: true },
  { re: /^\/performance\/?$/, page: performancePage, nav: 'performance', project: true, range: true },
  { re: /^\/keys\/?$/, page: keysPage, nav: 'keys', project: true, range: false },
  { re: /^\/keys\/([^/]+)\/?$/, page: keyStatsPage, nav: 'keys', project: false, range: true, detail: '/keys' },
  { re: /^\/budgets\/?$/, page: budgetsPage, nav: 'budgets', project: false, range: false },
  { re: /^\/members\/?$/, page: membersPage, nav: 'members', project: false, range: true },
  { re: /^\/members\/([^/]+)\/?$/, page: memberDetailPage, nav: 'members', project: false, range: true, detail: '/members' },
];

const root = document.getElementById('app');
const app = {
  me: null,
  projects: new Map(),
  shell: null,
  controller: null,
  lastPath: null,
};

function matchRoute(path) {
  for (const r of ROUTES) {
    const m = r.re.exec(path);
    if (m) return { ...r, params: m.slice(1).map(decodeURIComponent) };
  }
  return { page: notFoundPage, nav: null, project: false, range: false, params: [] };
}

export function navigate(url, { replace = false } = {}) {
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  render();
}

function toLogin() {
  const here = window.location.pathname + window.location.search;
  const next = here.startsWith('/login') ? '' : here;
  app.me = null;
  app.projects.clear();
  navigate(`/login${queryString({ next: next === '/' ? '' : next })}`, { replace: true });
}

async function projectsOf(orgId, signal) {
  if (!app.projects.has(orgId)) {
    const list = await api(`/organizations/${orgId}/projects`, { signal });
    list.sort((a, b) => a.name.localeCompare(b.name));
    app.projects.set(orgId, list);
  }
  return app.projects.get(orgId);
}

function fatal(error, retry) {
  app.shell = null;
  document.body.dataset.view = 'ready';
  mount(root, h('div', { class: 'fatal' }, errorState({ error, retry, title: 'The dashboard could not start' })));
}

async function render() {
  app.controller?.abort();
  const controller = new AbortController();
  const { signal } = controller;
  app.controller = controller;
  const path = window.location.pathname;
  // "loading" until the page has its data (tests and tools wait for "ready").
  document.body.dataset.view = 'loading';
  const done = () => {
    if (!signal.aborted) document.body.dataset.view = 'ready';
  };

  if (path === '/' || path === '/index.html') {
    window.history.replaceState(null, '', `/analytics${window.location.search}`);
    return render();
  }

  if (/^\/login\/?$/.test(path)) {
    app.shell = null;
    document.title = 'Sign in · tally';
    loginPage.render({
      el: root,
      next: rawQuery().next,
      onSignedIn: (me, next) => {
        app.me = me;
        // Only a path of this site (not "//host" or "/\\host") is a place to go back to.
        navigate(/^\/(?![/\\])/.test(next || '') ? next : '/analytics', { replace: true });
      },
      signal,
    }).then(done);
    return;
  }

  if (/^\/invite\/?$/.test(path)) {
    app.shell = null;
    document.title = 'Accept invitation · tally';
    acceptInvitePage.render({
      el: root,
      onAccepted: (org) => {
        app.me = null;
        app.projects.clear();
        navigate(`/analytics${queryString({ org: org.id })}`, { replace: true });
      },
      signal,
    }).then(done);
    return;
  }

  try {
    if (!app.me) app.me = await api('/me', { signal });
  } catch (e) {
    if (e.name === 'AbortError') return;
    if (e instanceof ApiError && e.status === 401) return; // toLogin runs on the event
    fatal(e, render);
    return;
  }
  const me = app.me;
  const raw = rawQuery();
  const q = normalize(raw);
  const route = matchRoute(path);

  const org = me.organizations.find((o) => o.id === q.org) || me.organizations[0] || null;
  let projects = [];
  if (org) {
    try {
      projects = await projectsOf(org.id, signal);
    } catch (e) {
      if (e.name === 'AbortError') return;
      if (e instanceof ApiError && e.status === 401) return;
      fatal(e, render);
      return;
    }
  }
  if (signal.aborted) return;
  const project = projects.find((p) => p.id === q.project) || projects[0] || null;
  q.org = org?.id || '';
  q.project = project?.id || '';

  // The URL always spells out the whole view, so a copied link reproduces it.
  const wanted = path + queryString({ ...raw, org: q.org, project: q.project, from: q.from, to: q.to, tz: q.tz, tab: q.tab, ttab: q.ttab, view: q.view });
  if (wanted !== path + window.location.search) window.history.replaceState(null, '', wanted);

  if (!app.shell) {
    app.shell = createShell({
      onOrg: (id) => {
        const r = matchRoute(window.location.pathname);
        const patch = { org: id, project: '' };
        if (r.detail) navigate(linkTo(r.detail, { ...normalize(rawQuery()), ...patch }));
        else setQuery(patch, { push: true });
      },
      onProject: (id) => setQuery({ project: id }, { push: true }),
      onQuery: (patch) => setQuery(patch, { push: true }),
      onLogout: async () => {
        try {
          await api('/auth/logout', { method: 'POST' });
        } finally {
          app.me = null;
          app.projects.clear();
          navigate('/login', { replace: true });
        }
      },
    });
    mount(root, app.shell.el);
  }

  const ctx = {
    q, me, org, projects, project, route, params: route.params, signal,
    el: app.shell.main,
    link: (p, extra) => linkTo(p, q, extra),
    navigate,
    setQuery,
    invalidateProjects: () => app.projects.delete(org?.id),
  };
  app.shell.update(ctx);

  const routeChanged = app.lastPath !== path;
  app.lastPath = path;
  if (!org) {
    mount(ctx.el, h('div', { class: 'page' }, emptyState({
      title: 'No organization yet',
      message: 'You are not a member of any organization. Ask an owner or admin for an invitation link, or create one with the API (POST /api/organizations).',
      iconName: 'users',
    })));
    done();
    return;
  }
  if (routeChanged) document.title = `${route.page.title || 'tally'} · tally`;
  try {
    await route.page.render(ctx);
  } catch (e) {
    if (e.name === 'AbortError' || signal.aborted) return;
    if (e instanceof ApiError && e.status === 401) return;
    mount(ctx.el, h('div', { class: 'page' }, errorState({ error: e, retry: render })));
  }
  if (routeChanged && !signal.aborted) announce(document.title.replace(' · tally', ''));
  done();
}

// Same-origin links navigate inside the app.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download') || a.getAttribute('href').startsWith('#')) return;
  const url = new URL(a.href, window.location.href);
  if (url.origin !== window.location.origin || /^\/(api|v1|assets)(\/|$)/.test(url.pathname)) return;
  e.preventDefault();
  if (url.pathname + url.search === window.location.pathname + window.location.search) return;
  const moving = url.pathname !== window.location.pathname;
  navigate(url.pathname + url.search);
  if (moving) {
    window.scrollTo(0, 0);
    document.getElementById('main')?.focus({ preventScroll: true });
  }
});

window.addEventListener('popstate', () => render());
window.addEventListener('tally:query', (e) => {
  if (e.detail.changed.some((k) => DATA_KEYS.includes(k))) render();
});
window.addEventListener('tally:unauthenticated', () => {
  if (!/^\/login\/?$/.test(window.location.pathname)) toLogin();
});

render();
