// A key's rate limits in a form: requests and tokens per minute, each
// empty for unlimited. Used by the create dialog and the key page.

import { h } from '../ui.js';

const MAX = 1_000_000_000;
const FIELDS = [
  ['requestsPerMinute', 'Requests per minute', 'key-rpm'],
  ['tokensPerMinute', 'Tokens per minute', 'key-tpm'],
];

/** The two fields, filled from `key`; `read()` gives the limits or throws a message. */
export function limitFields(key = {}) {
  const inputs = FIELDS.map(([field, label, id]) => [field, label, h('input', {
    id, name: field, type: 'number', min: '1', max: String(MAX), step: '1', inputmode: 'numeric',
    placeholder: 'Unlimited', value: key[field] ?? '', autocomplete: 'off',
  })]);
  const elements = inputs.map(([, label, input]) => h('div', { class: 'field' }, h('label', { for: input.id }, label), input));
  elements.push(h('p', { class: 'field-help' }, 'Empty: unlimited. Tokens count input and output; over a limit the gateway answers 429.'));
  function read() {
    const out = {};
    for (const [field, label, input] of inputs) {
      const raw = input.value.trim();
      if (!raw) { out[field] = null; continue; }
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 1 || n > MAX) {
        input.focus();
        throw new Error(`${label}: a whole number from 1 to 1,000,000,000, or empty for unlimited.`);
      }
      out[field] = n;
    }
    return out;
  }
  return { elements, read };
}

/** A limit as the key page shows it. */
export function limitText(n) {
  return n == null ? 'Unlimited' : `${n.toLocaleString('en-US')} / min`;
}
