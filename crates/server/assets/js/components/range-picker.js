// The one date-range picker: presets, a custom range, and the time zone
// the days are counted in. Its state is the URL's from / to / tz.

import { matchPreset, presets, rangeProblem, timeZones, today, zoneOffset } from '../dates.js';
import { formatDay, formatRange } from '../format.js';
import { h, icon, uniqueId } from '../ui.js';

/**
 * `onChange(patch)` receives {from, to} or {tz, from, to}; the caller puts
 * it into the URL.
 */
export function rangePicker({ q, onChange }) {
  const popoverId = uniqueId('range');
  const current = matchPreset(q.from, q.to, q.tz);
  const label = current ? current.label : 'Custom range';

  const button = h('button', {
    type: 'button',
    class: 'btn btn-secondary range-button',
    'aria-haspopup': 'dialog',
    'aria-expanded': 'false',
    'aria-controls': popoverId,
    dataset: { range: current ? current.id : 'custom' },
  },
  icon('calendar'),
  h('span', { class: 'range-label' }, label),
  h('span', { class: 'range-dates' }, formatRange(q.from, q.to)),
  icon('chevron', 14));

  const fromInput = h('input', { type: 'date', name: 'from', value: q.from, required: true, id: uniqueId('from') });
  const toInput = h('input', { type: 'date', name: 'to', value: q.to, required: true, id: uniqueId('to') });
  const problem = h('p', { class: 'form-error', role: 'alert' });
  const form = h('form', { class: 'custom-range', novalidate: true },
    h('p', { class: 'popover-heading' }, 'Custom range'),
    h('div', { class: 'field' }, h('label', { for: fromInput.id }, 'From'), fromInput),
    h('div', { class: 'field' }, h('label', { for: toInput.id }, 'To'), toInput),
    problem,
    h('button', { type: 'submit', class: 'btn btn-primary btn-sm btn-block' }, 'Apply range'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const why = rangeProblem(fromInput.value, toInput.value);
    if (why) {
      problem.textContent = why;
      return;
    }
    close(true);
    onChange({ from: fromInput.value, to: toInput.value });
  });

  const presetButtons = presets(q.tz).map((p) =>
    h('button', {
      type: 'button',
      class: 'preset',
      'aria-pressed': String(current?.id === p.id),
      dataset: { preset: p.id },
      onclick: () => {
        close(true);
        onChange({ from: p.from, to: p.to });
      },
    },
    h('span', {}, p.label),
    h('span', { class: 'preset-dates' }, p.from === p.to ? formatDay(p.from) : `${formatDay(p.from)} – ${formatDay(p.to)}`)));
  const customButton = h('button', {
    type: 'button',
    class: 'preset',
    'aria-pressed': String(!current),
    dataset: { preset: 'custom' },
    onclick: () => fromInput.focus(),
  }, h('span', {}, 'Custom'), h('span', { class: 'preset-dates' }, current ? 'Pick days' : formatRange(q.from, q.to)));

  const popover = h('div', { class: 'popover range-popover', id: popoverId, role: 'dialog', 'aria-label': 'Date range', hidden: true },
    h('div', { class: 'preset-list', role: 'group', 'aria-label': 'Presets' },
      h('p', { class: 'popover-heading' }, 'Range'), presetButtons, customButton),
    form,
    h('p', { class: 'popover-foot' }, icon('globe', 14), `Days are counted in ${q.tz}.`));

  function open() {
    popover.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    (popover.querySelector('[aria-pressed="true"]') || presetButtons[0]).focus();
    document.addEventListener('pointerdown', outside, true);
  }
  function close(restoreFocus) {
    popover.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', outside, true);
    if (restoreFocus) button.focus();
  }
  function outside(e) {
    if (!wrapper.contains(e.target)) close(false);
  }
  button.addEventListener('click', () => (popover.hidden ? open() : close(true)));
  popover.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      close(true);
    }
  });

  const zoneSelect = h('select', { class: 'tz-select', 'aria-label': 'Time zone', dataset: { tz: q.tz } },
    timeZones(q.tz).map((z) => h('option', { value: z, selected: z === q.tz }, `${z.replaceAll('_', ' ')} (${zoneOffset(z)})`)));
  zoneSelect.addEventListener('change', () => {
    const tz = zoneSelect.value;
    // A preset stays that preset in the new zone ("Today" is today there);
    // custom days stay the same days.
    const same = current ? presets(tz).find((p) => p.id === current.id) : null;
    onChange(same ? { tz, from: same.from, to: same.to } : { tz });
  });
  const zone = h('div', { class: 'tz-control', title: `Time zone: ${q.tz} (today is ${formatDay(today(q.tz), true)} there)` },
    icon('globe'), zoneSelect, icon('chevron', 14));

  const control = h('div', { class: 'range-control' }, button, popover);
  control.addEventListener('focusout', (e) => {
    if (!popover.hidden && e.relatedTarget && !control.contains(e.relatedTarget)) close(false);
  });
  const wrapper = h('div', { class: 'range-picker' }, control, zone);
  return wrapper;
}
