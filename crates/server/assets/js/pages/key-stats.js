// One API key's statistics: its summary cards and the two cost-by-model
// charts scoped to it (apiKeyId= instead of projectId=).

import { ApiError, analytics, api } from '../api.js';
import { limitFields, limitText } from '../components/limits.js';
import { amountText, blockedBanner, covers, spendBar, tightest } from '../components/budgets.js';
import { summaryCards, summarySkeleton } from '../components/usage.js';
import { formatRange, formatRelative, formatTimestamp } from '../format.js';
import { badge, emptyState, errorBanner, h, icon, mount, openDialog, toast } from '../ui.js';
import { errorsLink, exportLink, modelSections } from './analytics.js';
import { requestsLink } from '../state/url.js';

export const title = 'Key statistics';

export async function render(ctx) {
  const { el, q, signal, params } = ctx;
  const keyId = params[0];
  const back = h('a', { class: 'back-link', href: ctx.link('/keys') }, icon('arrowLeft', 14), 'API Keys');
  const heading = h('div', { class: 'page-header' },
    h('div', {},
      back,
      h('h1', { class: 'page-title' }, h('span', { class: 'skeleton-line wide', 'aria-hidden': 'true' }), h('span', { class: 'sr-only' }, 'Loading key…')),
      h('p', { class: 'page-sub' }, `${formatRange(q.from, q.to)} · ${q.tz}`)));
  const meta = h('div', { class: 'key-meta' });
  const bannerSlot = h('div', {});
  const stats = h('div', { class: 'stats', dataset: { stats: 'summary' } }, summarySkeleton());
  const sections = modelSections(ctx, { apiKeyId: keyId });
  mount(el, h('div', { class: 'page', dataset: { page: 'key-stats' } }, heading, bannerSlot, meta, stats, sections.elements));

  try {
    const [data, view] = await Promise.all([analytics.key(keyId, q, signal), api(`/api-keys/${keyId}`, { signal })]);
    if (signal.aborted) return;
    const budgets = (await api(`/organizations/${view.organizationId}/budgets`, { signal })).filter((b) => covers(b, view));
    if (signal.aborted) return;
    const closest = tightest(budgets);
    mount(bannerSlot, blockedBanner(budgets, 'key', q.tz));
    const k = data.key;
    document.title = `${k.name} · API key · tally`;
    mount(heading.firstChild,
      back,
      h('h1', { class: 'page-title' }, k.name, ' ', badge({ active: 'Active', expired: 'Expired' }[k.status] || 'Revoked', k.status === 'active' ? 'success' : 'neutral')),
      h('p', { class: 'page-sub' }, `Statistics for ${formatRange(q.from, q.to)} · ${q.tz}`));
    // Owners and admins set limits; a developer's key is held to them.
    const limitsButton = ctx.org.role !== 'developer' && k.status !== 'revoked'
      ? h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => editLimits(k) }, icon('gauge'), 'Rate limits')
      : null;
    heading.append(h('div', { class: 'page-actions' },
      limitsButton,
      h('a', { class: 'btn btn-secondary', href: requestsLink(q, { key: keyId }), dataset: { link: 'requests' } }, icon('list'), 'Requests'),
      exportLink({ apiKeyId: keyId }, q)));
    mount(meta,
      metaItem('Key', h('code', { class: 'key-mask' }, k.maskedKey)),
      metaItem('Project', k.projectName || '—'),
      metaItem('Created by', k.createdBy?.name || k.createdBy?.email || '—'),
      metaItem('Created', formatTimestamp(k.createdAt, q.tz)),
      metaItem('Last used', h('span', { title: k.lastUsedAt ? formatTimestamp(k.lastUsedAt, q.tz) : null }, formatRelative(k.lastUsedAt))),
      k.revokedAt ? metaItem('Revoked', formatTimestamp(k.revokedAt, q.tz)) : null,
      k.expiresAt ? metaItem(k.status === 'expired' ? 'Expired' : 'Expires', formatTimestamp(k.expiresAt, q.tz)) : null,
      metaItem('Requests limit', h('span', { dataset: { limit: 'requests' } }, limitText(k.requestsPerMinute))),
      metaItem('Tokens limit', h('span', { dataset: { limit: 'tokens' } }, limitText(k.tokensPerMinute))),
      closest ? metaItem('Budget', h('a', { href: ctx.link('/budgets'), dataset: { budget: closest.current.status }, title: amountText(closest) }, spendBar(closest))) : null);
    mount(stats, summaryCards(data.summary, { errorsHref: errorsLink(q, { apiKeyId: keyId }) }));
  } catch (e) {
    if (e.name === 'AbortError' || signal.aborted) return;
    if (e instanceof ApiError && e.status === 404) {
      mount(el, h('div', { class: 'page' }, h('div', { class: 'page-header' }, h('div', {}, back, h('h1', { class: 'page-title' }, 'Key not found'))),
        emptyState({ title: 'This key does not exist or is not yours to see', message: 'Developers see the keys they created; owners and admins see every key of the organization.', iconName: 'lock' })));
      return;
    }
    mount(stats, errorBanner({ error: e, retry: () => render(ctx) }));
  }
  await sections.load();

  async function editLimits(key) {
    const saved = await openDialog({
      title: 'Rate limits',
      description: `Requests and tokens per minute the gateway lets through for “${key.name}”.`,
      className: 'dialog-create',
      render: (close) => limitsForm(key, close),
    });
    if (saved) {
      toast('Rate limits saved.');
      render(ctx);
    }
  }

  function limitsForm(key, close) {
    const limits = limitFields(key);
    const problem = h('p', { class: 'form-error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save limits');
    const form = h('form', { class: 'form', novalidate: true },
      ...limits.elements,
      problem,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => close() }, 'Cancel'),
        submit));
    form.addEventListener('input', () => { problem.textContent = ''; });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      let body;
      try {
        body = limits.read();
      } catch (err) {
        problem.textContent = err.message;
        return;
      }
      submit.disabled = true;
      try {
        close(await api(`/api-keys/${key.id}`, { method: 'PATCH', body }));
      } catch (err) {
        problem.textContent = err.message;
        submit.disabled = false;
      }
    });
    return form;
  }
}

function metaItem(label, value) {
  return h('div', { class: 'meta-item' }, h('p', { class: 'eyebrow' }, label), h('p', { class: 'meta-value' }, value));
}
