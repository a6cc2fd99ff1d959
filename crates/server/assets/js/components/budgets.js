// Budgets as the pages show them: which budgets cover a key, a spend bar,
// the words for a budget, and the banner of a blocked key or project.

import { formatTimestamp, formatUsdExact, moneyToNanos } from '../format.js';
import { badge, h, icon } from '../ui.js';

const SCOPE_WORDS = { organization: 'Organization', project: 'Project', apiKey: 'API key', member: 'Member' };

/** Whether `budget` covers requests of `key` (the gateway's rule). */
export function covers(budget, key) {
  const s = budget.scope;
  if (s.type === 'organization') return true;
  if (s.type === 'project') return s.id === key.projectId;
  if (s.type === 'apiKey') return s.id === key.id;
  if (s.type === 'member') return s.id === key.createdBy?.userId;
  return false;
}

/** Spend as a share of the amount, 0 to 1 and beyond (exact to 0.01 %). */
export function share(budget) {
  const amount = moneyToNanos(budget.amount);
  if (amount <= 0n) return 0;
  return Number((moneyToNanos(budget.current.spent) * 10_000n) / amount) / 10_000;
}

/** "$50.00 per month (Asia/Kolkata)", "$10.00 in total". */
export function amountText(budget) {
  const per = budget.period === 'total' ? 'in total' : `per ${budget.period} (${budget.timezone})`;
  return `${formatUsdExact(budget.amount)} ${per}`;
}

export function scopeWord(budget) {
  return SCOPE_WORDS[budget.scope.type] || budget.scope.type;
}

export function statusBadge(budget) {
  const s = budget.current.status;
  if (s === 'blocked') return badge('Blocked', 'danger');
  if (s === 'exceeded') return badge('Over budget', 'accent');
  return badge(budget.action === 'block' ? 'Blocks when spent' : 'Alerts only', 'neutral');
}

/** The spend bar with its numbers. */
export function spendBar(budget) {
  const ratio = share(budget);
  const pct = Math.min(100, Math.round(ratio * 100));
  const tone = budget.current.status === 'ok' ? (ratio >= 0.8 ? 'warn' : 'ok') : 'over';
  return h('div', { class: 'budget-spend', dataset: { spent: budget.current.spent } },
    h('div', { class: 'budget-numbers' },
      h('span', { class: 'budget-spent' }, formatUsdExact(budget.current.spent)),
      h('span', { class: 'cell-sub' }, ` of ${formatUsdExact(budget.amount)} · ${Math.round(ratio * 100)}%`)),
    h('span', {
      class: `budget-bar budget-bar-${tone}`, role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100',
      'aria-valuenow': String(pct), 'aria-label': `${Math.round(ratio * 100)}% of the budget spent`,
    }, h('i', { style: `width: ${pct}%` })));
}

/** The reset time in the viewer's zone, or "Never" for a lifetime budget. */
export function resetText(budget, tz) {
  return budget.current.resetsAt ? formatTimestamp(budget.current.resetsAt, tz) : 'Never (lifetime)';
}

/** The budget of `list` closest to its amount (blocked first), or null. */
export function tightest(list) {
  let best = null;
  for (const b of list) {
    const rank = (b.current.status === 'blocked' ? 10 : 0) + share(b);
    if (!best || rank > best.rank) best = { budget: b, rank };
  }
  return best?.budget || null;
}

/** A banner naming the blocking budgets that are spent, or null. */
export function blockedBanner(list, what, tz) {
  const blocked = list.filter((b) => b.current.status === 'blocked');
  if (!blocked.length) return null;
  return h('div', { class: 'banner banner-error', role: 'alert', dataset: { banner: 'blocked' } },
    icon('lock', 16),
    h('span', { class: 'banner-text' },
      h('strong', {}, `This ${what} is blocked. `),
      blocked.map((b) => `The ${scopeWord(b).replace(/^(Organization|Project|Member)$/, (w) => w.toLowerCase())} budget of ${amountText(b)} is spent${b.current.resetsAt ? `; it resets ${formatTimestamp(b.current.resetsAt, tz)}` : ''}.`).join(' '),
      ' The gateway answers its requests with 429 until then.'));
}
