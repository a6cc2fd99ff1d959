// The frame around every signed-in page: the sidebar (brand, organization
// switcher, navigation, the signed-in user) and the top bar (menu button on
// small screens, project switcher, date-range picker).

import { rangePicker } from './components/range-picker.js';
import { initials } from './format.js';
import { linkTo } from './state/url.js';
import { h, icon, mount } from './ui.js';

const NAV = [
  { id: 'analytics', path: '/analytics', label: 'Analytics', icon: 'chart' },
  { id: 'requests', path: '/requests', label: 'Requests', icon: 'list' },
  { id: 'performance', path: '/performance', label: 'Performance', icon: 'gauge' },
  { id: 'keys', path: '/keys', label: 'API Keys', icon: 'key' },
  { id: 'budgets', path: '/budgets', label: 'Budgets', icon: 'gauge' },
  { id: 'members', path: '/members', label: 'Members', icon: 'users' },
];

const PLAN_LABEL = { enterprise: 'Enterprise', free: 'Free', team: 'Team', pro: 'Pro' };

export function createShell({ onOrg, onProject, onQuery, onLogout }) {
  const orgSelect = h('select', { id: 'org-select', class: 'select', 'aria-label': 'Organization' });
  orgSelect.addEventListener('change', () => onOrg(orgSelect.value));
  const planBadge = h('span', { class: 'plan-badge' });
  const navLinks = NAV.map((n) =>
    h('a', { class: 'nav-link', href: n.path, dataset: { nav: n.id } }, icon(n.icon, 18), h('span', {}, n.label)));
  const userBox = h('div', { class: 'user-box' });
  const sidebar = h('aside', { class: 'sidebar', id: 'sidebar', 'aria-label': 'Sidebar' }, h('div', { class: 'sidebar-inner' },
    h('a', { class: 'brand', href: '/analytics', 'aria-label': 'tally, go to Analytics' },
      h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
      h('span', { class: 'brand-name' }, 'tally')),
    h('div', { class: 'org-switch' },
      h('label', { for: 'org-select', class: 'eyebrow' }, 'Organization'),
      h('div', { class: 'select-wrap' }, orgSelect, icon('chevron', 14)),
      planBadge),
    h('nav', { class: 'nav', 'aria-label': 'Main' }, navLinks),
    userBox));

  const scrim = h('div', { class: 'scrim', hidden: true, onclick: () => setMenu(false) });
  const menuButton = h('button', {
    type: 'button', class: 'icon-btn menu-btn', 'aria-label': 'Open navigation', 'aria-controls': 'sidebar', 'aria-expanded': 'false',
    onclick: () => setMenu(!document.body.classList.contains('menu-open')),
  }, icon('menu', 20));

  const projectSelect = h('select', { id: 'project-select', class: 'select', 'aria-label': 'Project' });
  projectSelect.addEventListener('change', () => onProject(projectSelect.value));
  const projectSwitch = h('div', { class: 'project-switch' },
    h('label', { for: 'project-select', class: 'eyebrow' }, 'Project'),
    h('div', { class: 'select-wrap' }, projectSelect, icon('chevron', 14)));
  const pickerSlot = h('div', { class: 'topbar-tools' });
  const topbar = h('header', { class: 'topbar' }, menuButton, projectSwitch, pickerSlot);
  const main = h('main', { id: 'main', class: 'content', tabindex: '-1' });
  const el = h('div', { class: 'shell' },
    h('a', { class: 'skip-link', href: '#main' }, 'Skip to content'),
    sidebar, scrim,
    h('div', { class: 'main-col' }, topbar, main));

  function setMenu(open) {
    document.body.classList.toggle('menu-open', open);
    scrim.hidden = !open;
    menuButton.setAttribute('aria-expanded', String(open));
    menuButton.setAttribute('aria-label', open ? 'Close navigation' : 'Open navigation');
    if (open) navLinks[0].focus();
  }
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && document.body.classList.contains('menu-open')) {
      setMenu(false);
      menuButton.focus();
    }
  });

  /**
   * Brings the frame up to date: `ctx` has q, me, org, projects, project,
   * route ({nav, project: shows the project switcher, range: shows the picker}).
   */
  function update(ctx) {
    const { q, me, org, projects, route } = ctx;
    setMenu(false);
    mount(orgSelect, me.organizations.map((o) => h('option', { value: o.id, selected: o.id === org?.id }, o.name)));
    orgSelect.value = org?.id || '';
    planBadge.textContent = org ? `${PLAN_LABEL[org.plan] || org.plan} plan · ${org.role}` : '';
    planBadge.dataset.plan = org?.plan || '';
    for (const a of navLinks) {
      const n = NAV.find((x) => x.id === a.dataset.nav);
      a.href = linkTo(n.path, q);
      if (route.nav === n.id) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    projectSwitch.hidden = !route.project || !projects?.length;
    mount(projectSelect, (projects || []).map((p) => h('option', { value: p.id, selected: p.id === ctx.project?.id }, p.name)));
    if (ctx.project) projectSelect.value = ctx.project.id;
    if (route.range) {
      mount(pickerSlot, rangePicker({ q, onChange: (patch) => onQuery(patch) }));
    } else {
      mount(pickerSlot);
    }
    mount(userBox,
      h('div', { class: 'avatar', 'aria-hidden': 'true' }, initials(me.user.name)),
      h('div', { class: 'user-meta' },
        h('p', { class: 'user-name' }, me.user.name),
        h('p', { class: 'user-email' }, me.user.email)),
      h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Sign out', title: 'Sign out', onclick: onLogout }, icon('logout', 18)));
  }

  return { el, main, update };
}
