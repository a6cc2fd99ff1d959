// A dashboard address that matches no page.

import { emptyState, h, mount } from '../ui.js';

export const title = 'Page not found';

export function render(ctx) {
  mount(ctx.el, h('div', { class: 'page', dataset: { page: 'not-found' } },
    emptyState({
      title: 'This page does not exist',
      message: 'The address may be mistyped, or the page has moved.',
      iconName: 'alert',
      action: h('a', { class: 'btn btn-primary btn-sm', href: ctx.link('/analytics') }, 'Go to Analytics'),
    })));
}
