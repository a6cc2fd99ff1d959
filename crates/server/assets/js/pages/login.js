// Sign in with e-mail and password (POST /api/auth/login sets the session
// cookie). Someone already signed in goes straight on.

import { ApiError, api } from '../api.js';
import { h, icon, mount } from '../ui.js';

export const title = 'Sign in';

export async function render({ el, next, onSignedIn, signal }) {
  // Already signed in? Then there is nothing to do here.
  try {
    const me = await fetch('/api/me', { headers: { accept: 'application/json' }, credentials: 'same-origin', signal });
    if (me.ok) {
      onSignedIn(await me.json(), next);
      return;
    }
  } catch (e) {
    if (e.name === 'AbortError') return;
  }

  const email = h('input', { id: 'login-email', name: 'email', type: 'email', autocomplete: 'username', required: true, autofocus: true, placeholder: 'you@company.com' });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, placeholder: '••••••••' });
  const problem = h('div', { class: 'form-alert', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block btn-lg' }, 'Sign in');
  const form = h('form', { class: 'login-form', novalidate: true, 'aria-describedby': 'login-help' },
    h('div', { class: 'field' }, h('label', { for: email.id }, 'E-mail'), email),
    h('div', { class: 'field' }, h('label', { for: password.id }, 'Password'), password),
    problem,
    submit);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    problem.hidden = true;
    if (!email.value.trim() || !password.value) {
      showProblem('Enter your e-mail and password.');
      (email.value.trim() ? password : email).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      await api('/auth/login', { method: 'POST', body: { email: email.value.trim(), password: password.value } });
      const me = await api('/me');
      onSignedIn(me, next);
    } catch (err) {
      const message = err instanceof ApiError && err.code === 'invalid_credentials'
        ? 'That e-mail and password do not match an account.'
        : err.message;
      showProblem(message);
      password.select();
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });

  function showProblem(text) {
    mount(problem, icon('alert', 16), h('span', {}, text));
    problem.hidden = false;
  }

  mount(el,
    h('div', { class: 'login' },
      h('main', { class: 'login-panel', id: 'main' },
        h('div', { class: 'login-brand' },
          h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
          h('span', { class: 'brand-name' }, 'tally')),
        h('h1', { class: 'login-title' }, 'Sign in to your dashboard'),
        h('p', { class: 'login-sub', id: 'login-help' }, 'Usage, spend and API keys of your LLM gateway.'),
        form),
      h('aside', { class: 'login-aside', 'aria-hidden': 'true' },
        h('div', { class: 'login-art' },
          h('p', { class: 'login-quote' }, 'Every request priced to the nano-dollar.'),
          h('div', { class: 'login-bars' }, [62, 80, 45, 92, 70, 100, 84].map((v) => h('span', { style: `height:${v}%` })))))));
  email.focus();
}
