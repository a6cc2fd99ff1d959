// The members page's invitations card (owners and admins): invite an
// e-mail with a role, show the one-time link once with a copy button, list
// the pending invitations and revoke one after a confirmation. People join
// only by accepting a link (pages/accept-invite.js).

import { api } from '../api.js';
import { formatRelative, formatTimestamp } from '../format.js';
import { badge, confirmDialog, emptyState, errorState, h, icon, loadingBlock, mount, openDialog, toast } from '../ui.js';

const ROLE_TONE = { owner: 'info', admin: 'accent', developer: 'neutral' };

/** The card and the promise of its first load. */
export function invitationsCard({ org, q, signal }) {
  const slot = h('div', { class: 'card-slot' }, loadingBlock(120, 'Loading invitations…'));
  const countLine = h('p', { class: 'card-description' }, 'People join when they open their invitation link. Each link works once.');
  const inviteButton = h('button', { type: 'button', class: 'btn btn-primary btn-sm', onclick: () => invite() }, icon('plus', 14), 'Invite member');
  const card = h('section', { class: 'card card-table', 'aria-labelledby': 'invitations-title', dataset: { card: 'invitations' } },
    h('header', { class: 'card-header' },
      h('div', { class: 'card-heading' }, h('h2', { class: 'card-title', id: 'invitations-title' }, 'Pending invitations'), countLine),
      h('div', { class: 'card-tools' }, inviteButton)),
    h('div', { class: 'card-body' }, slot));

  async function load() {
    try {
      const list = await api(`/organizations/${org.id}/invitations`, { signal });
      if (signal.aborted) return;
      mount(slot, list.length ? table(list) : emptyState({
        title: 'No pending invitations',
        message: 'Invite someone by e-mail address; you pass the link on to them.',
        iconName: 'users',
      }));
    } catch (e) {
      if (e.name === 'AbortError' || signal.aborted) return;
      mount(slot, errorState({ error: e, retry: load }));
    }
  }

  function table(list) {
    return h('div', { class: 'table-wrap' },
      h('table', { class: 'table table-invitations', dataset: { table: 'invitations' } },
        h('caption', { class: 'sr-only' }, 'Pending invitations'),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'E-mail'),
          h('th', { scope: 'col' }, 'Role'),
          h('th', { scope: 'col' }, 'Status'),
          h('th', { scope: 'col' }, 'Expires'),
          h('th', { scope: 'col', class: 'actions-col' }, h('span', { class: 'sr-only' }, 'Actions')))),
        h('tbody', {}, list.map((i) => h('tr', { dataset: { invitationId: i.id, status: i.status } },
          h('th', { scope: 'row' }, i.email,
            h('span', { class: 'cell-sub', title: formatTimestamp(i.createdAt, q.tz) }, `Invited ${formatRelative(i.createdAt)}`)),
          h('td', { dataset: { label: 'Role' } }, badge(i.role, ROLE_TONE[i.role] || 'neutral')),
          h('td', { dataset: { label: 'Status' } }, i.status === 'pending' ? badge('Pending', 'accent') : badge('Expired', 'neutral')),
          h('td', { dataset: { label: 'Expires' } }, formatTimestamp(i.expiresAt, q.tz)),
          h('td', { class: 'actions-col' },
            h('div', { class: 'row-actions' },
              canManage(i.role)
                ? h('button', { type: 'button', class: 'btn btn-ghost-danger btn-sm', 'aria-label': `Revoke the invitation of ${i.email}`, onclick: () => revoke(i) }, 'Revoke')
                : null)))))));
  }

  /** Only owners invite (and revoke invitations of) owners. */
  function canManage(role) {
    return role !== 'owner' || org.role === 'owner';
  }

  async function revoke(invitation) {
    const ok = await confirmDialog({
      title: `Revoke the invitation of ${invitation.email}?`,
      message: 'Its link stops working at once. You can invite the address again later.',
      confirmLabel: 'Revoke invitation',
      danger: true,
    });
    if (!ok) return;
    try {
      await api(`/organizations/${org.id}/invitations/${invitation.id}`, { method: 'DELETE' });
      toast(`The invitation of ${invitation.email} is revoked.`);
      load();
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  async function invite() {
    await openDialog({
      title: 'Invite a member',
      description: `They join ${org.name} with this role once they open the link and accept.`,
      className: 'dialog-create',
      render: (close) => inviteForm(close),
    });
    load();
  }

  function inviteForm(close) {
    const body = h('div', {});
    const email = h('input', { id: 'invite-email', name: 'email', type: 'email', required: true, autofocus: true, placeholder: 'name@company.com', autocomplete: 'off' });
    const roles = ['developer', 'admin', ...(org.role === 'owner' ? ['owner'] : [])];
    const role = h('select', { id: 'invite-role', name: 'role', class: 'select-plain' },
      roles.map((r) => h('option', { value: r }, r[0].toUpperCase() + r.slice(1))));
    const problem = h('p', { class: 'form-error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create invitation');
    const form = h('form', { class: 'form', novalidate: true },
      h('div', { class: 'field' }, h('label', { for: email.id }, 'E-mail'), email),
      h('div', { class: 'field' }, h('label', { for: role.id }, 'Role'), role,
        h('p', { class: 'field-help' }, 'Developers see their own keys; admins manage keys and members; owners also the plan and other owners.')),
      problem,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => close() }, 'Cancel'),
        submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!email.value.trim()) {
        problem.textContent = 'Enter the e-mail address to invite.';
        email.focus();
        return;
      }
      submit.disabled = true;
      try {
        const created = await api(`/organizations/${org.id}/invitations`, { method: 'POST', body: { email: email.value.trim(), role: role.value } });
        mount(body, linkPanel(created, close));
        body.querySelector('.copy-btn')?.focus();
      } catch (err) {
        problem.textContent = err.message;
        submit.disabled = false;
      }
    });
    mount(body, form);
    return body;
  }

  function linkPanel(created, close) {
    const url = `${window.location.origin}${created.path}`;
    const link = h('input', { id: 'invite-link', class: 'secret-input mono', type: 'text', readonly: true, value: url, 'aria-label': 'Invitation link', spellcheck: 'false' });
    const status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
    const copy = h('button', { type: 'button', class: 'btn btn-secondary copy-btn' }, icon('copy'), 'Copy');
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(url);
      } catch {
        link.select();
        document.execCommand?.('copy');
      }
      mount(copy, icon('check'), 'Copied');
      status.textContent = 'Link copied to the clipboard.';
    });
    link.addEventListener('focus', () => link.select());
    return h('div', { class: 'secret-panel', dataset: { secret: 'shown' } },
      h('div', { class: 'callout callout-warn' }, icon('alert', 16),
        h('span', {}, h('strong', {}, 'Copy this link now. '), 'It will not be shown again: tally keeps only a keyed hash of it. Send it to the person yourself.')),
      h('label', { for: link.id, class: 'eyebrow' }, `${created.email} · ${created.role} · expires ${formatTimestamp(created.expiresAt, q.tz)}`),
      h('div', { class: 'secret-row' }, link, copy),
      status,
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'btn btn-primary', onclick: () => close() }, 'Done')));
  }

  const loaded = load();
  return { el: card, loaded };
}
