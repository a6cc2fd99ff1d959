// "Cost by End User" and "Cost by Tag": a scope's requests ranked by the
// client's own user and by the value of one tag key. A bar opens the
// requests behind it.

import { analytics } from '../api.js';
import { requestsLink } from '../state/url.js';
import { h, mount } from '../ui.js';
import { rankCard } from './usage.js';

/** Rows of a breakdown answer as ranking items; the API's remainder is one grey row. */
function items(rows, others, count, none, noun) {
  const out = rows.map((r) => ({
    label: r.value ?? none,
    value: r.value,
    usage: r.usage,
    note: r.value === null ? `Requests without ${noun}` : null,
  }));
  if (others) out.push({ label: `${count - rows.length} more`, value: null, usage: others, other: true });
  return out;
}

/**
 * The two cards for `scope` ({projectId} or {apiKeyId}); `filters` are the
 * Requests page's scope parameters.
 */
export function breakdownSections(ctx, scope, filters) {
  const { q, signal, setQuery, navigate } = ctx;
  const users = rankCard({
    title: 'Cost by End User',
    description: 'The client’s own users: OpenAI’s user field, Anthropic’s metadata.user_id.',
    metric: 'cost',
    noun: 'end users',
    onPick: (item) => {
      if (item.value !== null) navigate(requestsLink(q, { ...filters, endUser: item.value }));
    },
  });
  users.el.dataset.card = 'end-users';

  let key = q.tagKey || '';
  const keySelect = h('select', { class: 'select select-sm', 'aria-label': 'Tag key', dataset: { select: 'tag-key' } });
  keySelect.addEventListener('change', () => {
    key = keySelect.value;
    setQuery({ tagKey: key });
    loadTags();
  });
  const tags = rankCard({
    title: 'Cost by Tag',
    description: 'Requests by the value of one tag key (the x-tally-tags header).',
    metric: 'cost',
    noun: 'values',
    extraTools: keySelect,
    empty: {
      title: 'No tagged requests in this range',
      message: 'Label requests with a header such as x-tally-tags: team=search,feature=rerank.',
    },
    onPick: (item) => {
      if (item.value !== null && key) navigate(requestsLink(q, { ...filters, tag: `${key}:${item.value}` }));
    },
  });
  tags.el.dataset.card = 'tags';

  async function loadUsers() {
    users.loading();
    try {
      const d = await analytics.endUsers(scope, q, signal);
      if (!signal.aborted) users.setData(items(d.endUsers, d.others, d.count, '(no end user)', 'an end user'), signal);
    } catch (e) {
      if (e.name !== 'AbortError' && !signal.aborted) users.error(e, loadUsers);
    }
  }

  async function loadTags() {
    tags.loading();
    try {
      const d = await analytics.tags(scope, q, key || undefined, signal);
      if (signal.aborted) return;
      key = d.key || '';
      mount(keySelect, ...d.keys.map((k) => h('option', { value: k.key, selected: k.key === key }, k.key)));
      keySelect.hidden = d.keys.length === 0;
      tags.setData(items(d.values, d.others, d.count, `(no ${key})`, `a ${key} tag`), signal);
    } catch (e) {
      if (e.name !== 'AbortError' && !signal.aborted) tags.error(e, loadTags);
    }
  }

  return {
    elements: [users.el, tags.el],
    load: () => Promise.all([loadUsers(), loadTags()]),
  };
}
