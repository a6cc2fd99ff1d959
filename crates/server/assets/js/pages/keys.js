// API Keys: the project's keys (or the whole organization's), creating a
// key (its secret is shown once) and revoking one after a confirmation.

import { ApiError, api } from '../api.js';
import { formatRelative, formatTimestamp } from '../format.js';
import { badge, confirmDialog, emptyState, errorState, h, icon, loadingBlock, mount, openDialog, segmented, toast } from '../ui.js';
import { pageHeader } from './analytics.js';
import { limitFields } from '../components/limits.js';
import { blockedBanner, covers, spendBar, tightest } from '../components/budgets.js';

export const title = 'API Keys';

export async function render(ctx) {
  const { el, q, org, project, projects, signal, setQuery } = ctx;
  let scope = q.scope === 'all' || !project ? 'all' : 'project';
  const tableSlot = h('div', { class: 'card-slot' }, loadingBlock(280, 'Loading API keys…'));
  const createButton = h('button', {
    type: 'button', class: 'btn btn-primary', disabled: !projects.length, onclick: () => createKey(),
  }, icon('plus'), 'Create key');
  const scopeToggle = project
    ? segmented({
      label: 'Which keys',
      options: [{ value: 'project', label: project.name }, { value: 'all', label: 'All projects' }],
      value: scope,
      onChange: (v) => {
        scope = v;
        setQuery({ scope: v === 'all' ? 'all' : '' });
        load();
      },
    })
    : null;
  const countLine = h('p', { class: 'card-description' }, '');
  const bannerSlot = h('div', {});

  mount(el, h('div', { class: 'page', dataset: { page: 'keys' } },
    pageHeader('API Keys', `Keys call the gateway at /v1. ${org.role === 'developer' ? 'You see the keys you created.' : `Everyone’s keys in ${org.name}.`}`, createButton),
    bannerSlot,
    h('section', { class: 'card card-table', 'aria-labelledby': 'keys-title', dataset: { card: 'keys' } },
      h('header', { class: 'card-header' },
        h('div', { class: 'card-heading' }, h('h2', { class: 'card-title', id: 'keys-title' }, 'Keys'), countLine),
        scopeToggle ? h('div', { class: 'card-tools' }, scopeToggle) : null),
      h('div', { class: 'card-body' }, tableSlot))));

  const projectName = new Map(projects.map((p) => [p.id, p.name]));
  let keyBudgets = () => [];

  async function load() {
    mount(tableSlot, loadingBlock(280, 'Loading API keys…'));
    try {
      const path = scope === 'all' ? `/organizations/${org.id}/api-keys` : `/projects/${project.id}/api-keys`;
      const [keys, budgets] = await Promise.all([api(path, { signal }), api(`/organizations/${org.id}/budgets`, { signal })]);
      if (signal.aborted) return;
      keyBudgets = (k) => budgets.filter((b) => covers(b, k));
      // A project is blocked by its own budgets and the organization's.
      const projectBudgets = budgets.filter((b) => b.scope.type === 'organization' || (b.scope.type === 'project' && b.scope.id === project?.id));
      mount(bannerSlot, scope === 'project' ? blockedBanner(projectBudgets, 'project', q.tz) : null);
      keys.sort((a, b) => (a.status === b.status ? b.createdAt.localeCompare(a.createdAt) : a.status === 'active' ? -1 : 1));
      const active = keys.filter((k) => k.status === 'active').length;
      countLine.textContent = `${keys.length} ${keys.length === 1 ? 'key' : 'keys'}, ${active} active`;
      mount(tableSlot, keys.length ? keyTable(keys) : emptyState({
        title: 'No API keys yet',
        message: 'Create a key to send requests through the gateway.',
        iconName: 'key',
        action: h('button', { type: 'button', class: 'btn btn-secondary btn-sm', onclick: () => createKey() }, icon('plus', 14), 'Create key'),
      }));
    } catch (e) {
      if (e.name === 'AbortError' || signal.aborted) return;
      mount(tableSlot, errorState({ error: e, retry: load }));
    }
  }

  function keyTable(keys) {
    return h('div', { class: 'table-wrap' },
      h('table', { class: 'table table-keys', dataset: { table: 'keys' } },
        h('caption', { class: 'sr-only' }, 'API keys'),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Name'),
          h('th', { scope: 'col' }, 'Key'),
          h('th', { scope: 'col' }, 'Project'),
          h('th', { scope: 'col' }, 'Created by'),
          h('th', { scope: 'col' }, 'Status'),
          h('th', { scope: 'col' }, 'Budget'),
          h('th', { scope: 'col' }, 'Last used'),
          h('th', { scope: 'col', class: 'actions-col' }, h('span', { class: 'sr-only' }, 'Actions')))),
        h('tbody', {}, keys.map((k) => h('tr', { dataset: { keyId: k.id, status: k.status } },
          h('th', { scope: 'row' },
            h('a', { class: 'row-link', href: ctx.link(`/keys/${k.id}`) }, k.name),
            h('span', { class: 'cell-sub', title: formatTimestamp(k.createdAt, q.tz) }, `Created ${formatRelative(k.createdAt)}`)),
          h('td', { dataset: { label: 'Key' } }, h('code', { class: 'key-mask' }, k.maskedKey)),
          h('td', { dataset: { label: 'Project' } }, projectName.get(k.projectId) || 'Deleted project'),
          h('td', { dataset: { label: 'Created by' } }, k.createdBy?.name || k.createdBy?.email || 'Unknown',
            k.createdBy?.email ? h('span', { class: 'cell-sub' }, k.createdBy.email) : null),
          h('td', { dataset: { label: 'Status' } }, statusCell(k)),
          h('td', { dataset: { label: 'Budget' }, class: 'budget-cell' }, budgetCell(k)),
          h('td', { dataset: { label: 'Last used' }, title: k.lastUsedAt ? formatTimestamp(k.lastUsedAt, q.tz) : null }, formatRelative(k.lastUsedAt)),
          h('td', { class: 'actions-col' },
            h('div', { class: 'row-actions' },
              h('a', { class: 'btn btn-ghost btn-sm', href: ctx.link(`/keys/${k.id}`), 'aria-label': `View statistics of ${k.name}` }, 'View Statistics'),
              k.status === 'active'
                ? h('button', { type: 'button', class: 'btn btn-ghost-danger btn-sm', 'aria-label': `Revoke ${k.name}`, onclick: () => revoke(k) }, 'Revoke')
                : null)))))));
  }

  /** The covering budget closest to its amount, or a dash. */
  function budgetCell(k) {
    const b = tightest(keyBudgets(k));
    if (!b) return h('span', { class: 'cell-sub' }, '—');
    return h('a', { class: 'budget-link', href: ctx.link('/budgets'), dataset: { budgetStatus: b.current.status } },
      spendBar(b), b.current.status === 'blocked' ? badge('Blocked', 'danger') : null);
  }

  function statusCell(k) {
    const expires = k.expiresAt ? formatTimestamp(k.expiresAt, q.tz) : null;
    if (k.status === 'active') return h('span', { title: expires ? `Expires ${expires}` : null }, badge('Active', 'success'));
    if (k.status === 'expired') return h('span', { title: `Expired ${expires}` }, badge('Expired', 'neutral'));
    return h('span', { title: k.revokedAt ? `Revoked ${formatTimestamp(k.revokedAt, q.tz)}` : null }, badge('Revoked', 'neutral'));
  }

  async function revoke(key) {
    const ok = await confirmDialog({
      title: `Revoke “${key.name}”?`,
      message: `Requests with ${key.maskedKey} will be refused from the next one on. Its history stays in the analytics. This cannot be undone.`,
      confirmLabel: 'Revoke key',
      danger: true,
    });
    if (!ok) return;
    try {
      await api(`/api-keys/${key.id}/revoke`, { method: 'POST' });
      toast(`“${key.name}” is revoked.`);
      load();
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  async function createKey() {
    await openDialog({
      title: 'Create an API key',
      description: 'The key is shown once, right after it is created. Its spend is attributed to you.',
      className: 'dialog-create',
      render: (close) => createForm(close),
    });
    load();
  }

  function createForm(close) {
    const body = h('div', {});
    const nameInput = h('input', { id: 'key-name', name: 'name', type: 'text', maxlength: '100', required: true, autofocus: true, placeholder: 'e.g. support-bot-prod', autocomplete: 'off' });
    const projectSelect = h('select', { id: 'key-project', name: 'project', class: 'select-plain' },
      projects.map((p) => h('option', { value: p.id, selected: p.id === project?.id }, p.name)));
    // Days until the gateway refuses the key; empty: never.
    const expirySelect = h('select', { id: 'key-expiry', name: 'expiry', class: 'select-plain' },
      [['', 'Never'], ['7', 'In 7 days'], ['30', 'In 30 days'], ['90', 'In 90 days'], ['365', 'In a year']]
        .map(([days, label]) => h('option', { value: days }, label)));
    const limits = limitFields();
    const problem = h('p', { class: 'form-error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create key');
    const form = h('form', { class: 'form', novalidate: true },
      h('div', { class: 'field' }, h('label', { for: nameInput.id }, 'Name'), nameInput,
        h('p', { class: 'field-help' }, 'A name you will recognise: where the key is used.')),
      h('div', { class: 'field' }, h('label', { for: projectSelect.id }, 'Project'), projectSelect),
      h('div', { class: 'field' }, h('label', { for: expirySelect.id }, 'Expires'), expirySelect,
        h('p', { class: 'field-help' }, 'From then on the gateway refuses the key.')),
      ...limits.elements,
      problem,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => close() }, 'Cancel'),
        submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const name = nameInput.value.trim();
      if (!name) {
        problem.textContent = 'Give the key a name.';
        nameInput.focus();
        return;
      }
      let rates;
      try {
        rates = limits.read();
      } catch (err) {
        problem.textContent = err.message;
        return;
      }
      submit.disabled = true;
      try {
        const days = Number(expirySelect.value);
        const expiresAt = days ? new Date(Date.now() + days * 86_400_000).toISOString() : undefined;
        const created = await api(`/projects/${projectSelect.value}/api-keys`, { method: 'POST', body: { name, expiresAt, ...rates } });
        mount(body, secretPanel(created, close));
        body.querySelector('.copy-btn')?.focus();
      } catch (err) {
        problem.textContent = err instanceof ApiError && err.param ? `${err.message}` : err.message;
        submit.disabled = false;
      }
    });
    mount(body, form);
    return body;
  }

  function secretPanel(created, close) {
    const secret = h('input', { id: 'key-secret', class: 'secret-input mono', type: 'text', readonly: true, value: created.keySecret, 'aria-label': 'New API key', spellcheck: 'false' });
    const status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
    const copy = h('button', { type: 'button', class: 'btn btn-secondary copy-btn' }, icon('copy'), 'Copy');
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(created.keySecret);
      } catch {
        secret.select();
        document.execCommand?.('copy');
      }
      mount(copy, icon('check'), 'Copied');
      status.textContent = 'Key copied to the clipboard.';
    });
    secret.addEventListener('focus', () => secret.select());
    return h('div', { class: 'secret-panel', dataset: { secret: 'shown' } },
      h('div', { class: 'callout callout-warn' }, icon('alert', 16),
        h('span', {}, h('strong', {}, 'Copy this key now. '), 'It will not be shown again: tally keeps only a keyed hash of it.')),
      h('label', { for: secret.id, class: 'eyebrow' }, `${created.name} · ${projectName.get(created.projectId) || ''}`),
      h('div', { class: 'secret-row' }, secret, copy),
      status,
      h('p', { class: 'field-help' }, 'Send it as ', h('code', {}, 'Authorization: Bearer …'), ' to this server’s ', h('code', {}, '/v1'), ' endpoints.'),
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'btn btn-primary', onclick: () => close() }, 'Done')));
  }

  await load();
}
