// Members: spend per member of the organization (owners and admins of
// enterprise organizations). What a caller may see is decided by the API:
// 403 plan_upgrade_required shows the upgrade card, 403 forbidden the
// access notice. Owners and admins of every plan also see the pending
// invitations and invite people (components/invitations.js).

import { ApiError, analytics } from '../api.js';
import { invitationsCard } from '../components/invitations.js';
import { addUsage } from '../components/usage.js';
import { formatCompact, formatInt, formatPercent, formatRange, formatUsd, formatUsdExact, initials } from '../format.js';
import { badge, emptyState, errorState, h, icon, loadingBlock, mount } from '../ui.js';
import { pageHeader } from './analytics.js';

export const title = 'Members';

const ROLE_TONE = { owner: 'info', admin: 'accent', developer: 'neutral' };

export async function render(ctx) {
  const { el, q, org, signal } = ctx;
  const slot = h('div', { class: 'card-slot' }, loadingBlock(320, 'Loading members…'));
  const description = h('p', { class: 'card-description' }, 'Spend is attributed to the member who created the key.');
  const page = h('div', { class: 'page', dataset: { page: 'members' } },
    pageHeader('Members', `${org.name} · ${formatRange(q.from, q.to)} · ${q.tz}`),
    h('section', { class: 'card card-table', 'aria-labelledby': 'members-title', dataset: { card: 'members' } },
      h('header', { class: 'card-header' },
        h('div', { class: 'card-heading' }, h('h2', { class: 'card-title', id: 'members-title' }, 'Spend by member'), description)),
      h('div', { class: 'card-body' }, slot)));
  const invitations = org.role === 'developer' ? null : invitationsCard(ctx);
  if (invitations) page.append(invitations.el);
  mount(el, page);

  async function load() {
    mount(slot, loadingBlock(320, 'Loading members…'));
    try {
      const data = await analytics.members(org.id, q, signal);
      if (signal.aborted) return;
      if (!data.members.length) {
        mount(slot, emptyState({ title: 'No members with usage', message: 'Nobody has spent anything in this range yet.', iconName: 'users' }));
        return;
      }
      mount(slot, membersTable(ctx, data.members, data.totals || addUsage(data.members.map((m) => m.usage))));
    } catch (e) {
      if (e.name === 'AbortError' || signal.aborted) return;
      const gate = gateFor(e, org, ctx.link);
      if (gate) mount(page, pageHeader('Members', org.name), gate, invitations?.el);
      else mount(slot, errorState({ error: e, retry: load }));
    }
  }
  await Promise.all([load(), invitations?.loaded]);
}

/** The upgrade card or the access notice, by the API's error code. */
export function gateFor(e, org, link = (p) => p) {
  if (!(e instanceof ApiError) || e.status !== 403) return null;
  if (e.code === 'plan_upgrade_required') {
    return h('section', { class: 'gate gate-upgrade', dataset: { gate: 'upgrade' }, 'aria-labelledby': 'gate-title' },
      h('div', { class: 'gate-icon' }, icon('star', 26)),
      h('p', { class: 'eyebrow' }, 'Enterprise feature'),
      h('h2', { class: 'gate-title', id: 'gate-title' }, 'See who spends what'),
      h('p', { class: 'gate-text' }, `Member analytics are part of the Enterprise plan. ${org.name} is on the ${org.plan} plan.`),
      h('ul', { class: 'gate-list' },
        h('li', {}, icon('check', 16), 'Spend, tokens and error rate per member'),
        h('li', {}, icon('check', 16), 'Most used model, provider and app of each person'),
        h('li', {}, icon('check', 16), 'Spend of former members kept and shown apart')),
      h('p', { class: 'gate-foot' }, org.role === 'owner'
        ? 'As the owner, you can change the plan in the organization settings (PATCH /api/organizations/{id}).'
        : 'Ask an owner of the organization to upgrade it.'));
  }
  return h('section', { class: 'gate gate-denied', dataset: { gate: 'forbidden' }, 'aria-labelledby': 'gate-title' },
    h('div', { class: 'gate-icon' }, icon('lock', 26)),
    h('h2', { class: 'gate-title', id: 'gate-title' }, 'Only owners and admins see member analytics'),
    h('p', { class: 'gate-text' }, `You are a ${org.role} of ${org.name}. Your own keys and their statistics are on the API Keys page.`),
    h('p', { class: 'gate-foot' }, h('a', { class: 'btn btn-secondary btn-sm', href: link('/keys') }, icon('key', 14), 'Go to API Keys')));
}

function membersTable(ctx, members, totals) {
  const num = (text, extra = {}) => h('td', { class: 'num', ...extra }, text);
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'table table-members', dataset: { table: 'members' } },
      h('caption', { class: 'sr-only' }, 'Members by spend in the selected range'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Member'),
        h('th', { scope: 'col', class: 'num', 'aria-sort': 'descending' }, 'Cost'),
        h('th', { scope: 'col', class: 'num' }, 'Tokens'),
        h('th', { scope: 'col', class: 'num' }, 'Requests'),
        h('th', { scope: 'col', class: 'num' }, 'Error rate'),
        h('th', { scope: 'col', class: 'num' }, 'API keys'))),
      h('tbody', {}, members.map((m) => {
        const href = m.userId ? ctx.link(`/members/${m.userId}`) : null;
        const row = h('tr', { class: `${href ? 'row-clickable' : ''} ${m.former ? 'row-former' : ''}`, dataset: { userId: m.userId || 'former' } },
          h('th', { scope: 'row' },
            h('div', { class: 'person' },
              h('div', { class: `avatar avatar-sm ${m.former ? 'avatar-muted' : ''}`, 'aria-hidden': 'true' }, m.former ? '—' : initials(m.name)),
              h('div', {},
                href ? h('a', { class: 'row-link', href }, m.name) : h('span', { class: 'person-name' }, m.name),
                h('span', { class: 'cell-sub' }, m.former
                  ? `${formatInt(m.memberCount ?? 0)} former ${(m.memberCount ?? 0) === 1 ? 'member' : 'members'}`
                  : m.email),
              ),
              m.role ? badge(m.role, ROLE_TONE[m.role] || 'neutral') : (m.former ? badge('left', 'neutral') : null))),
          num(formatUsd(m.usage.cost), { title: formatUsdExact(m.usage.cost), dataset: { exact: m.usage.cost, col: 'cost' } }),
          num(formatCompact(m.usage.tokens.total), { title: `${formatInt(m.usage.tokens.total)} tokens`, dataset: { exact: String(m.usage.tokens.total), col: 'tokens' } }),
          num(formatInt(m.usage.requests), { dataset: { exact: String(m.usage.requests), col: 'requests' } }),
          num(formatPercent(m.usage.errorRate), { dataset: { col: 'error-rate' } }),
          num(formatInt(m.apiKeyCount ?? 0), { dataset: { col: 'keys' } }));
        if (href) {
          row.addEventListener('click', (e) => {
            if (e.target.closest('a')) return;
            ctx.navigate(href);
          });
        }
        return row;
      })),
      h('tfoot', {}, h('tr', {},
        h('th', { scope: 'row' }, 'Total'),
        num(formatUsd(totals.cost), { title: formatUsdExact(totals.cost), dataset: { exact: totals.cost, col: 'cost' } }),
        num(formatCompact(totals.tokens.total), { title: `${formatInt(totals.tokens.total)} tokens` }),
        num(formatInt(totals.requests)),
        num(formatPercent(totals.errorRate)),
        num(formatInt(members.reduce((a, m) => a + (m.apiKeyCount || 0), 0)))))));
}
