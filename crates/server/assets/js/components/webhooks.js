// The organization's alert webhooks on the budgets page (owners and
// admins): add one (its signing secret is shown once), send a test, read
// every delivery and attempt, delete.

import { api } from '../api.js';
import { formatTimestamp } from '../format.js';
import { badge, confirmDialog, emptyState, errorState, h, icon, loadingBlock, mount, openDialog, toast } from '../ui.js';

const STATE_TONE = { delivered: 'success', pending: 'info', failed: 'danger' };

export function webhooksCard(ctx) {
  const { org, q, signal } = ctx;
  const slot = h('div', { class: 'card-slot' }, loadingBlock(120, 'Loading webhooks…'));
  const add = h('button', { type: 'button', class: 'btn btn-secondary btn-sm', onclick: () => create() }, icon('plus', 14), 'Add webhook');
  const element = h('section', { class: 'card card-table', 'aria-labelledby': 'webhooks-title', dataset: { card: 'webhooks' } },
    h('header', { class: 'card-header' },
      h('div', { class: 'card-heading' }, h('h2', { class: 'card-title', id: 'webhooks-title' }, 'Alert webhooks'),
        h('p', { class: 'card-description' }, 'Budget thresholds are posted here as signed JSON; a Slack incoming webhook works as it is.')),
      h('div', { class: 'card-tools' }, add)),
    h('div', { class: 'card-body' }, slot));

  async function load() {
    mount(slot, loadingBlock(120, 'Loading webhooks…'));
    try {
      const hooks = await api(`/organizations/${org.id}/webhooks`, { signal });
      if (signal.aborted) return;
      mount(slot, hooks.length ? table(hooks) : emptyState({ title: 'No webhooks', message: 'Add one to hear when a budget reaches a threshold.', iconName: 'inbox', height: 120 }));
    } catch (e) {
      if (e.name === 'AbortError' || signal.aborted) return;
      mount(slot, errorState({ error: e, retry: load }));
    }
  }

  function table(hooks) {
    return h('div', { class: 'table-wrap' },
      h('table', { class: 'table', dataset: { table: 'webhooks' } },
        h('caption', { class: 'sr-only' }, 'Webhooks'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'URL'), h('th', { scope: 'col' }, 'Added'),
          h('th', { scope: 'col', class: 'actions-col' }, h('span', { class: 'sr-only' }, 'Actions')))),
        h('tbody', {}, hooks.map((w) => h('tr', { dataset: { webhookId: w.id } },
          h('th', { scope: 'row' }, h('code', { class: 'mono' }, w.url)),
          h('td', { dataset: { label: 'Added' } }, formatTimestamp(w.createdAt, q.tz)),
          h('td', { class: 'actions-col' }, h('div', { class: 'row-actions' },
            h('button', { type: 'button', class: 'btn btn-ghost btn-sm', onclick: () => test(w) }, 'Send test'),
            h('button', { type: 'button', class: 'btn btn-ghost btn-sm', onclick: () => deliveries(w) }, 'Deliveries'),
            h('button', { type: 'button', class: 'btn btn-ghost-danger btn-sm', 'aria-label': `Delete ${w.url}`, onclick: () => remove(w) }, 'Delete'))))))));
  }

  async function test(w) {
    try {
      await api(`/organizations/${org.id}/webhooks/${w.id}/test`, { method: 'POST' });
      toast('Test delivery sent; see Deliveries for the answer.');
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  async function remove(w) {
    const ok = await confirmDialog({ title: 'Delete this webhook?', message: `${w.url} gets no more alerts; its delivery log goes with it.`, confirmLabel: 'Delete webhook', danger: true });
    if (!ok) return;
    try {
      await api(`/organizations/${org.id}/webhooks/${w.id}`, { method: 'DELETE' });
      toast('Webhook deleted.');
      load();
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  async function deliveries(w) {
    await openDialog({
      title: 'Deliveries',
      description: w.url,
      className: 'dialog-wide',
      render: (close) => {
        const body = h('div', { dataset: { dialog: 'deliveries' } }, loadingBlock(160, 'Loading deliveries…'));
        api(`/organizations/${org.id}/webhooks/${w.id}/deliveries`).then((list) => {
          mount(body, list.length ? deliveryTable(list) : emptyState({ title: 'Nothing sent yet', message: 'Alerts and tests appear here with every attempt.', height: 120 }),
            h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'btn btn-primary', onclick: () => close() }, 'Close')));
        }).catch((e) => mount(body, errorState({ error: e })));
        return body;
      },
    });
  }

  function deliveryTable(list) {
    return h('div', { class: 'table-wrap' },
      h('table', { class: 'table', dataset: { table: 'deliveries' } },
        h('caption', { class: 'sr-only' }, 'Deliveries'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Sent'), h('th', { scope: 'col' }, 'Event'), h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col' }, 'Attempts'))),
        h('tbody', {}, list.map((d) => h('tr', { dataset: { deliveryId: d.id, state: d.state } },
          h('td', {}, formatTimestamp(d.createdAt, q.tz)),
          h('td', {}, d.event === 'test' ? 'Test' : `Threshold ${d.payload?.threshold ?? ''}%`,
            d.payload?.text ? h('span', { class: 'cell-sub' }, d.payload.text) : null),
          h('td', {}, badge(d.state, STATE_TONE[d.state] || 'neutral')),
          h('td', {}, d.attemptLog.length ? d.attemptLog.map((a) => h('span', { class: 'cell-sub' },
            `#${a.number} ${formatTimestamp(a.at, q.tz)}: ${a.status ?? 'no answer'}${a.error ? ` (${a.error})` : ''}, ${a.durationMs} ms`)) : 'Not yet'))))));
  }

  async function create() {
    await openDialog({
      title: 'Add a webhook',
      description: 'tally posts JSON to this URL when a budget reaches one of its thresholds.',
      className: 'dialog-create',
      render: (close) => {
        const body = h('div', {});
        const url = h('input', { id: 'webhook-url', name: 'url', type: 'url', required: true, placeholder: 'https://hooks.slack.com/services/…', autocomplete: 'off' });
        const problem = h('p', { class: 'form-error', role: 'alert' });
        const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add webhook');
        const form = h('form', { class: 'form', novalidate: true },
          h('div', { class: 'field' }, h('label', { for: url.id }, 'URL'), url),
          problem,
          h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => close() }, 'Cancel'), submit));
        form.addEventListener('submit', async (e) => {
          e.preventDefault();
          submit.disabled = true;
          try {
            const created = await api(`/organizations/${org.id}/webhooks`, { method: 'POST', body: { url: url.value.trim() } });
            mount(body, h('div', { class: 'secret-panel', dataset: { secret: 'shown' } },
              h('div', { class: 'callout callout-warn' }, icon('alert', 16),
                h('span', {}, h('strong', {}, 'Copy the signing secret now. '), 'It is not shown again.')),
              h('label', { for: 'webhook-secret', class: 'eyebrow' }, 'Signing secret'),
              h('input', { id: 'webhook-secret', class: 'secret-input mono', type: 'text', readonly: true, value: created.secret }),
              h('p', { class: 'field-help' }, 'Each delivery carries ', h('code', {}, 'x-tally-signature: t=…,v1=…'), ': HMAC-SHA256 of ', h('code', {}, 't.body'), ' keyed with this secret.'),
              h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'btn btn-primary', onclick: () => close() }, 'Done'))));
          } catch (err) {
            problem.textContent = err.message;
            submit.disabled = false;
          }
        });
        mount(body, form);
        return body;
      },
    });
    load();
  }

  return { element, load };
}
