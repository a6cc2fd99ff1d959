// Small DOM helpers and the shared widgets: tabs, toggles, cards, states,
// dialogs, toasts. Text always goes in as text nodes (never as HTML).

/**
 * h('button', {class: 'btn', onclick: fn, 'aria-label': 'Close'}, 'text', child)
 * Attributes starting with "on" become listeners; `dataset` an object;
 * false/null/undefined attributes and children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'class') el.className = v;
    else if (k === 'value' && 'value' in el) el.value = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const ICONS = {
  chart: 'M3 3v18h18M7 15l4-4 3 3 5-6',
  key: 'M15.5 7.5a3 3 0 1 1-6 0 3 3 0 0 1 6 0ZM12.5 10.5 4 19l2 2 1.5-1.5L9 21l1.5-1.5L9 18l1.5-1.5',
  users: 'M16 19v-1a4 4 0 0 0-4-4H7a4 4 0 0 0-4 4v1M9.5 10a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7ZM21 19v-1a4 4 0 0 0-3-3.87M15.5 3.13a3.5 3.5 0 0 1 0 6.74',
  calendar: 'M4 6h16v14H4zM4 10h16M8 3v4M16 3v4',
  globe: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18ZM3 12h18M12 3c2.5 2.7 3.8 5.7 3.8 9s-1.3 6.3-3.8 9c-2.5-2.7-3.8-5.7-3.8-9S9.5 5.7 12 3Z',
  chevron: 'm6 9 6 6 6-6',
  menu: 'M4 6h16M4 12h16M4 18h16',
  close: 'M6 6l12 12M18 6 6 18',
  copy: 'M9 9h11v11H9zM5 15H4V4h11v1',
  check: 'm5 12 5 5L20 7',
  plus: 'M12 5v14M5 12h14',
  alert: 'M12 9v4M12 17h.01M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0Z',
  lock: 'M6 11h12v10H6zM8 11V7a4 4 0 0 1 8 0v4',
  star: 'm12 3 2.8 5.7 6.2.9-4.5 4.4 1.1 6.2L12 17.3 6.4 20.2l1.1-6.2L3 9.6l6.2-.9Z',
  inbox: 'M3 13h5l1.5 3h5l1.5-3h5M5 5h14l2 8v6H3v-6z',
  arrowLeft: 'M19 12H5M12 19l-7-7 7-7',
  logout: 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9',
  refresh: 'M21 12a9 9 0 1 1-3-6.7L21 8M21 3v5h-5',
  external: 'M14 4h6v6M20 4l-9 9M18 14v6H4V6h6',
  download: 'M12 4v11M7 10l5 5 5-5M5 20h14',
  list: 'M8 6h13M8 12h13M8 18h13M3 6h.01M3 12h.01M3 18h.01',
  gauge: 'M12 14l4-4M3.34 19a10 10 0 1 1 17.32 0',
};

/** An inline stroke icon, hidden from assistive technology. */
export function icon(name, size = 16) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', size);
  svg.setAttribute('height', size);
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '1.8');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.classList.add('icon');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICONS[name] || '');
  svg.append(path);
  return svg;
}

let uid = 0;
export function uniqueId(prefix = 'id') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/**
 * A tab list (role=tablist) with roving focus: arrow keys, Home and End move
 * between tabs and select them. `controls` is the id of the panel.
 */
export function tabs({ label, options, value, onChange, controls }) {
  const list = h('div', { class: 'tabs', role: 'tablist', 'aria-label': label });
  return rovingGroup(list, {
    options,
    value,
    onChange,
    state: 'aria-selected',
    endKeys: true,
    attrs: () => ({ class: 'tab', role: 'tab', id: uniqueId('tab'), 'aria-controls': controls }),
  });
}

/** A two-or-more-way toggle (role=radiogroup) with arrow-key movement. */
export function segmented({ label, options, value, onChange }) {
  const group = h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': label });
  return rovingGroup(group, {
    options,
    value,
    onChange,
    state: 'aria-checked',
    endKeys: false,
    attrs: () => ({ role: 'radio', class: 'segment' }),
  });
}

/**
 * Fills `container` with one button per option, one of them chosen: the
 * chosen one carries `state="true"` and is the only one in the tab order;
 * arrow keys (and Home/End with `endKeys`) move the choice.
 */
function rovingGroup(container, { options, value, onChange, state, endKeys, attrs }) {
  const buttons = options.map((o) =>
    h('button', {
      type: 'button',
      ...attrs(o),
      [state]: String(o.value === value),
      tabindex: o.value === value ? '0' : '-1',
      dataset: { value: o.value },
      onclick: () => select(o.value, false),
    }, o.label),
  );
  function select(v, focus) {
    for (const b of buttons) {
      const on = b.dataset.value === v;
      b.setAttribute(state, String(on));
      b.tabIndex = on ? 0 : -1;
      if (on && focus) b.focus();
    }
    if (v !== value) {
      value = v;
      onChange(v);
    }
  }
  container.addEventListener('keydown', (e) => {
    const i = buttons.findIndex((b) => b.dataset.value === value);
    let j = null;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') j = (i + 1) % buttons.length;
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') j = (i - 1 + buttons.length) % buttons.length;
    else if (endKeys && e.key === 'Home') j = 0;
    else if (endKeys && e.key === 'End') j = buttons.length - 1;
    if (j === null) return;
    e.preventDefault();
    select(buttons[j].dataset.value, true);
  });
  container.append(...buttons);
  return container;
}

/** A content card with a header (title, optional description and tools). */
export function card({ title, description, tools, body, className = '', id, headingLevel = 2 }) {
  const headingId = uniqueId('card-title');
  return h('section', { class: `card ${className}`, 'aria-labelledby': headingId, id },
    h('header', { class: 'card-header' },
      h('div', { class: 'card-heading' },
        h(`h${headingLevel}`, { class: 'card-title', id: headingId }, title),
        description ? h('p', { class: 'card-description' }, description) : null,
      ),
      tools ? h('div', { class: 'card-tools' }, tools) : null,
    ),
    h('div', { class: 'card-body' }, body),
  );
}

/** Loading placeholder (a shimmer of the given height). */
export function loadingBlock(height = 240, label = 'Loading…') {
  return h('div', { class: 'state state-loading', role: 'status', style: `min-height:${height}px` },
    h('div', { class: 'skeleton', 'aria-hidden': 'true' },
      h('span'), h('span'), h('span'), h('span')),
    h('span', { class: 'sr-only' }, label));
}

/** Nothing to show: an icon, a title and a line of help. */
export function emptyState({ title, message, action, iconName = 'inbox', height }) {
  return h('div', { class: 'state state-empty', style: height ? `min-height:${height}px` : null },
    h('div', { class: 'state-icon' }, icon(iconName, 22)),
    h('p', { class: 'state-title' }, title),
    message ? h('p', { class: 'state-message' }, message) : null,
    action || null);
}

/** Something failed: the API's message and a retry button. */
export function errorState({ error, retry, height, title = 'Could not load this' }) {
  const message = error?.message || String(error);
  return h('div', { class: 'state state-error', role: 'alert', style: height ? `min-height:${height}px` : null },
    h('div', { class: 'state-icon' }, icon('alert', 22)),
    h('p', { class: 'state-title' }, title),
    h('p', { class: 'state-message' }, message),
    error?.code ? h('p', { class: 'state-code' }, h('code', {}, error.code)) : null,
    retry ? h('button', { type: 'button', class: 'btn btn-secondary btn-sm', onclick: retry }, icon('refresh', 14), 'Try again') : null);
}

/** A one-line failure notice (for a strip of cards), with a retry button. */
export function errorBanner({ error, retry, title = 'Could not load the totals.' }) {
  return h('div', { class: 'banner banner-error', role: 'alert' },
    icon('alert', 16),
    h('span', { class: 'banner-text' }, h('strong', {}, title), ' ', error?.message || String(error)),
    retry ? h('button', { type: 'button', class: 'btn btn-secondary btn-sm', onclick: retry }, icon('refresh', 14), 'Try again') : null);
}

/** A headline number with a label, a secondary line and its exact value. */
export function statCard({ label, value, sub, exact, raw, testId, tone, link }) {
  return h('div', { class: `stat ${tone ? `stat-${tone}` : ''}`, dataset: { stat: testId || '' } },
    h('p', { class: 'stat-label' }, label),
    h('p', { class: 'stat-value', title: exact || null, dataset: raw !== undefined ? { exact: raw } : {} }, value),
    sub ? h('p', { class: 'stat-sub' }, sub) : null,
    link || null);
}

export function statSkeleton(label) {
  return h('div', { class: 'stat stat-loading', 'aria-busy': 'true' },
    h('p', { class: 'stat-label' }, label),
    h('p', { class: 'stat-value' }, h('span', { class: 'skeleton-line', 'aria-hidden': 'true' })),
    h('p', { class: 'stat-sub' }, h('span', { class: 'skeleton-line short', 'aria-hidden': 'true' })));
}

export function badge(text, tone = 'neutral') {
  return h('span', { class: `badge badge-${tone}` }, text);
}

/**
 * A modal <dialog>. Resolves with the value passed to `close(value)`
 * (undefined on Escape or Cancel). `render(close)` returns the body.
 */
export function openDialog({ title, description, render, className = '' }) {
  return new Promise((resolve) => {
    const titleId = uniqueId('dialog-title');
    const descId = description ? uniqueId('dialog-desc') : null;
    const dialog = h('dialog', { class: `dialog ${className}`, 'aria-labelledby': titleId, 'aria-describedby': descId });
    let result;
    const close = (value) => {
      result = value;
      dialog.close();
    };
    // (Element.append would write a skipped description as the text "null".)
    append(dialog, [
      h('div', { class: 'dialog-header' },
        h('h2', { class: 'dialog-title', id: titleId }, title),
        h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Close dialog', onclick: () => close(undefined) }, icon('close'))),
      description ? h('p', { class: 'dialog-description', id: descId }, description) : null,
      h('div', { class: 'dialog-body' }, render(close, dialog)),
    ]);
    const opener = document.activeElement;
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener && document.contains(opener)) opener.focus();
      resolve(result);
    });
    dialog.addEventListener('click', (e) => {
      if (e.target === dialog) close(undefined);
    });
    document.body.append(dialog);
    dialog.showModal();
    const autofocus = dialog.querySelector('[autofocus]');
    if (autofocus) autofocus.focus();
  });
}

/** A confirmation dialog; resolves true when confirmed. */
export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = false }) {
  return openDialog({
    title,
    description: message,
    className: 'dialog-confirm',
    render: (close) =>
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => close(false), autofocus: true }, 'Cancel'),
        h('button', { type: 'button', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`, onclick: () => close(true) }, confirmLabel)),
  }).then((v) => v === true);
}

let toastRegion = null;
/** A short message at the bottom of the screen, read out politely. */
export function toast(message, tone = 'success') {
  if (!toastRegion || !document.contains(toastRegion)) {
    toastRegion = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(toastRegion);
  }
  const t = h('div', { class: `toast toast-${tone}` }, icon(tone === 'success' ? 'check' : 'alert', 16), h('span', {}, message));
  toastRegion.append(t);
  setTimeout(() => t.classList.add('toast-leave'), 3200);
  setTimeout(() => t.remove(), 3600);
}

/** Announces text to screen readers (route changes, results). */
export function announce(text) {
  let region = document.getElementById('announcer');
  if (!region) {
    region = h('div', { id: 'announcer', class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true' });
    document.body.append(region);
  }
  region.textContent = '';
  setTimeout(() => {
    region.textContent = text;
  }, 30);
}
