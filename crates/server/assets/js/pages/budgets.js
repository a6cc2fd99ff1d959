// Budgets: what each scope may spend in its period, how much it has, when
// it resets and whether the gateway is refusing it; owners and admins
// create, change and delete budgets and manage the alert webhooks.

import { ApiError, api } from '../api.js';
import { amountText, resetText, scopeWord, spendBar, statusBadge } from '../components/budgets.js';
import { webhooksCard } from '../components/webhooks.js';
import { confirmDialog, emptyState, errorState, h, icon, loadingBlock, mount, openDialog, toast } from '../ui.js';
import { pageHeader } from './analytics.js';

export const title = 'Budgets';

const PERIODS = [['day', 'Day'], ['week', 'Week (from Monday)'], ['month', 'Month'], ['total', 'Lifetime (never resets)']];
const SCOPES = [['organization', 'The whole organization'], ['project', 'A project'], ['apiKey', 'An API key'], ['member', 'A member’s keys']];

export async function render(ctx) {
  const { el, q, org, projects, signal } = ctx;
  const manager = org.role !== 'developer';
  const slot = h('div', { class: 'card-slot' }, loadingBlock(240, 'Loading budgets…'));
  const createButton = manager
    ? h('button', { type: 'button', class: 'btn btn-primary', onclick: () => edit(null) }, icon('plus'), 'Create budget')
    : null;
  const webhooks = manager ? webhooksCard(ctx) : null;
  mount(el, h('div', { class: 'page', dataset: { page: 'budgets' } },
    pageHeader('Budgets', manager
      ? `What each part of ${org.name} may spend. A blocking budget makes the gateway refuse requests once it is spent.`
      : 'The budgets that cover your keys.', createButton),
    h('section', { class: 'card card-table', 'aria-labelledby': 'budgets-title', dataset: { card: 'budgets' } },
      h('header', { class: 'card-header' },
        h('div', { class: 'card-heading' }, h('h2', { class: 'card-title', id: 'budgets-title' }, 'Budgets'),
          h('p', { class: 'card-description' }, 'Spend in the current period, read from the same rollups as the analytics.'))),
      h('div', { class: 'card-body' }, slot)),
    webhooks?.element));

  let keys = [];
  let members = [];
  const projectName = new Map(projects.map((p) => [p.id, p.name]));

  function scopeName(b) {
    const id = b.scope.id;
    if (b.scope.type === 'organization') return org.name;
    if (b.scope.type === 'project') return projectName.get(id) || 'Deleted project';
    if (b.scope.type === 'apiKey') return keys.find((k) => k.id === id)?.name || 'A key';
    const m = members.find((x) => x.id === id);
    return m ? (m.name || m.email) : 'A former member';
  }

  async function load() {
    mount(slot, loadingBlock(240, 'Loading budgets…'));
    try {
      const [budgets, k, m] = await Promise.all([
        api(`/organizations/${org.id}/budgets`, { signal }),
        api(`/organizations/${org.id}/api-keys`, { signal }),
        manager ? api(`/organizations/${org.id}/members`, { signal }) : Promise.resolve([]),
      ]);
      if (signal.aborted) return;
      keys = k;
      members = m;
      mount(slot, budgets.length ? table(budgets) : emptyState({
        title: 'No budgets yet',
        message: manager ? 'Create one to cap what a project, key or member spends per day, week or month.' : 'No budget covers your keys.',
        iconName: 'gauge',
        action: manager ? h('button', { type: 'button', class: 'btn btn-secondary btn-sm', onclick: () => edit(null) }, icon('plus', 14), 'Create budget') : null,
      }));
    } catch (e) {
      if (e.name === 'AbortError' || signal.aborted) return;
      mount(slot, errorState({ error: e, retry: load }));
    }
  }

  function table(budgets) {
    return h('div', { class: 'table-wrap' },
      h('table', { class: 'table table-budgets', dataset: { table: 'budgets' } },
        h('caption', { class: 'sr-only' }, 'Budgets'),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Scope'),
          h('th', { scope: 'col' }, 'Budget'),
          h('th', { scope: 'col' }, 'Spent this period'),
          h('th', { scope: 'col' }, 'Resets'),
          h('th', { scope: 'col' }, 'Status'),
          manager ? h('th', { scope: 'col', class: 'actions-col' }, h('span', { class: 'sr-only' }, 'Actions')) : null)),
        h('tbody', {}, budgets.map((b) => h('tr', { dataset: { budgetId: b.id, status: b.current.status } },
          h('th', { scope: 'row' }, scopeName(b), h('span', { class: 'cell-sub' }, scopeWord(b))),
          h('td', { dataset: { label: 'Budget' } }, amountText(b),
            b.thresholds.length ? h('span', { class: 'cell-sub' }, `Alerts at ${b.thresholds.map((t) => `${t}%`).join(', ')}`) : null),
          h('td', { dataset: { label: 'Spent' } }, spendBar(b)),
          h('td', { dataset: { label: 'Resets' } }, resetText(b, q.tz)),
          h('td', { dataset: { label: 'Status' } }, statusBadge(b)),
          manager ? h('td', { class: 'actions-col' }, h('div', { class: 'row-actions' },
            h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': `Edit the budget of ${scopeName(b)}`, onclick: () => edit(b) }, 'Edit'),
            h('button', { type: 'button', class: 'btn btn-ghost-danger btn-sm', 'aria-label': `Delete the budget of ${scopeName(b)}`, onclick: () => remove(b) }, 'Delete'))) : null)))));
  }

  async function remove(b) {
    const ok = await confirmDialog({
      title: 'Delete this budget?',
      message: `${scopeWord(b)} “${scopeName(b)}”, ${amountText(b)}. Its spend stays in the analytics; the gateway stops enforcing it.`,
      confirmLabel: 'Delete budget',
      danger: true,
    });
    if (!ok) return;
    try {
      await api(`/organizations/${org.id}/budgets/${b.id}`, { method: 'DELETE' });
      toast('Budget deleted.');
      load();
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  async function edit(budget) {
    const saved = await openDialog({
      title: budget ? 'Edit budget' : 'Create a budget',
      description: budget ? `${scopeWord(budget)} “${scopeName(budget)}”.` : 'Spend is counted in calendar periods of the time zone you pick.',
      className: 'dialog-create',
      render: (close) => form(budget, close),
    });
    if (saved) {
      toast(budget ? 'Budget saved.' : 'Budget created.');
      load();
    }
  }

  function select(id, options, value) {
    return h('select', { id, name: id, class: 'select-plain' }, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
  }

  function form(budget, close) {
    const orgZone = org.timezone || 'UTC';
    const scopeType = select('budget-scope', SCOPES, budget?.scope.type || 'project');
    const target = h('select', { id: 'budget-target', name: 'target', class: 'select-plain' });
    const targetField = h('div', { class: 'field' }, h('label', { for: target.id }, 'Which one'), target);
    const fillTargets = () => {
      const type = scopeType.value;
      const options = type === 'project' ? projects.map((p) => [p.id, p.name])
        : type === 'apiKey' ? keys.filter((k) => k.status === 'active').map((k) => [k.id, `${k.name} (${k.maskedKey})`])
          : type === 'member' ? members.map((m) => [m.id, m.name || m.email]) : [];
      mount(target, options.map(([v, label]) => h('option', { value: v }, label)));
      targetField.hidden = type === 'organization';
    };
    scopeType.addEventListener('change', fillTargets);
    fillTargets();
    const amount = h('input', { id: 'budget-amount', name: 'amount', type: 'text', inputmode: 'decimal', required: true, placeholder: 'e.g. 50.00', autocomplete: 'off', value: budget ? String(Number(budget.amount)) : '' });
    const period = select('budget-period', PERIODS, budget?.period || 'month');
    const zone = h('input', { id: 'budget-timezone', name: 'timezone', type: 'text', autocomplete: 'off', value: budget?.timezone || orgZone });
    const action = select('budget-action', [['block', 'Block requests once spent'], ['alert', 'Alert only']], budget?.action || 'block');
    const thresholds = h('input', { id: 'budget-thresholds', name: 'thresholds', type: 'text', autocomplete: 'off', placeholder: '50, 80, 100', value: (budget?.thresholds || [50, 80, 100]).join(', ') });
    const problem = h('p', { class: 'form-error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, budget ? 'Save budget' : 'Create budget');
    const f = h('form', { class: 'form', novalidate: true },
      budget ? null : h('div', { class: 'field' }, h('label', { for: scopeType.id }, 'Applies to'), scopeType),
      budget ? null : targetField,
      h('div', { class: 'field' }, h('label', { for: amount.id }, 'Amount (USD)'), amount),
      h('div', { class: 'field' }, h('label', { for: period.id }, 'Period'), period),
      h('div', { class: 'field' }, h('label', { for: zone.id }, 'Time zone'), zone,
        h('p', { class: 'field-help' }, `Periods start at local midnight here (IANA name, e.g. Asia/Kolkata); ${org.name}’s zone is ${orgZone}.`)),
      h('div', { class: 'field' }, h('label', { for: action.id }, 'When spent'), action),
      h('div', { class: 'field' }, h('label', { for: thresholds.id }, 'Alert at (% of the amount)'), thresholds,
        h('p', { class: 'field-help' }, 'Each fires once per period to the organization’s webhooks. Empty: none.')),
      problem,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => close() }, 'Cancel'),
        submit));
    f.addEventListener('input', () => { problem.textContent = ''; });
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      const percents = thresholds.value.split(',').map((t) => t.trim()).filter(Boolean).map(Number);
      if (percents.some((p) => !Number.isInteger(p))) {
        problem.textContent = 'Thresholds are whole percentages, comma-separated.';
        return;
      }
      const body = { amount: amount.value.trim(), period: period.value, timezone: zone.value.trim(), action: action.value, thresholds: percents };
      if (!budget) {
        body.scope = scopeType.value === 'organization' ? { type: 'organization' } : { type: scopeType.value, id: target.value };
      }
      submit.disabled = true;
      try {
        const path = budget ? `/organizations/${org.id}/budgets/${budget.id}` : `/organizations/${org.id}/budgets`;
        close(await api(path, { method: budget ? 'PATCH' : 'POST', body }));
      } catch (err) {
        problem.textContent = err instanceof ApiError && err.param ? `${err.message}` : err.message;
        submit.disabled = false;
      }
    });
    return f;
  }

  await Promise.all([load(), webhooks?.load()]);
}
