// The invitation link's page, `/invite#tli_…`: the token is in the fragment,
// so it never reaches the server's logs. Someone signed in as the invited
// e-mail accepts as themselves; anyone else sets the name and password of a
// new account (or, when the e-mail already has one, signs in first). The
// page does not ask whether the e-mail has an account: the API does not say.

import { ApiError, api } from '../api.js';
import { h, icon, mount } from '../ui.js';

export const title = 'Accept invitation';

/** Kept while the invitee signs in, so the token need not travel in a URL. */
const PENDING = 'tally.invitation';

const DEAD = {
  invitation_used: 'This invitation has already been used.',
  invitation_revoked: 'This invitation was revoked.',
  invitation_expired: 'This invitation has expired.',
  not_found: 'This invitation link is not valid. Check that you copied all of it.',
};

function tokenFromUrl() {
  const hash = window.location.hash.slice(1);
  if (hash) {
    sessionStorage.setItem(PENDING, hash);
    return hash;
  }
  return sessionStorage.getItem(PENDING) || '';
}

/** The signed-in user, or null (without the app's "signed out" event). */
async function whoAmI(signal) {
  const r = await fetch('/api/me', { headers: { accept: 'application/json' }, credentials: 'same-origin', signal });
  return r.ok ? r.json() : null;
}

export async function render({ el, onAccepted, signal }) {
  const panel = h('div', { class: 'login-form' });
  mount(el,
    h('div', { class: 'login' },
      h('main', { class: 'login-panel', id: 'main', dataset: { page: 'accept-invite' } },
        h('div', { class: 'login-brand' },
          h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
          h('span', { class: 'brand-name' }, 'tally')),
        panel),
      h('aside', { class: 'login-aside', 'aria-hidden': 'true' },
        h('div', { class: 'login-art' }, h('p', { class: 'login-quote' }, 'Every request priced to the nano-dollar.')))));

  const token = tokenFromUrl();
  let info;
  let me;
  try {
    if (!token) throw new ApiError(404, 'not_found');
    [info, me] = await Promise.all([api('/invitations/lookup', { method: 'POST', body: { token }, signal }), whoAmI(signal)]);
  } catch (e) {
    if (e.name === 'AbortError') return;
    sessionStorage.removeItem(PENDING);
    mount(panel,
      h('h1', { class: 'login-title' }, 'This link cannot be used'),
      h('div', { class: 'form-alert', role: 'alert', dataset: { invite: 'dead' } }, icon('alert', 16),
        h('span', {}, (e instanceof ApiError && DEAD[e.code]) || e.message)),
      h('p', { class: 'login-sub' }, 'Ask whoever invited you for a new link.'),
      h('a', { class: 'btn btn-secondary', href: '/login' }, 'Go to sign in'));
    return;
  }

  const heading = [
    h('h1', { class: 'login-title' }, `Join ${info.organizationName}`),
    h('p', { class: 'login-sub' }, 'You are invited as ', h('strong', {}, info.role), ' with the e-mail ', h('strong', {}, info.email), '.'),
  ];
  const problem = h('div', { class: 'form-alert', role: 'alert', hidden: true });
  function showProblem(text, ...extra) {
    mount(problem, icon('alert', 16), h('span', {}, text, ...extra));
    problem.hidden = false;
  }
  async function accept(body, submit, label) {
    problem.hidden = true;
    submit.disabled = true;
    submit.textContent = 'Joining…';
    try {
      const done = await api('/invitations/accept', { method: 'POST', body: { token, ...body } });
      sessionStorage.removeItem(PENDING);
      onAccepted(done.organization);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'account_exists') {
        showProblem(`${info.email} already has an account. `, h('a', { href: '/login?next=%2Finvite' }, 'Sign in'), ' to accept.');
      } else {
        showProblem((err instanceof ApiError && DEAD[err.code]) || err.message);
      }
      submit.disabled = false;
      submit.textContent = label;
    }
  }

  if (me && me.user.email === info.email) {
    const label = `Accept as ${me.user.name}`;
    const submit = h('button', { type: 'button', class: 'btn btn-primary btn-block btn-lg' }, label);
    submit.addEventListener('click', () => accept({}, submit, label));
    mount(panel, heading, h('p', { class: 'login-sub' }, `You are signed in as ${me.user.email}.`), problem, submit);
    submit.focus();
    return;
  }

  if (me) {
    const signOut = h('button', { type: 'button', class: 'btn btn-secondary btn-block' }, 'Sign out');
    signOut.addEventListener('click', async () => {
      await api('/auth/logout', { method: 'POST' });
      render({ el, onAccepted, signal });
    });
    mount(panel, heading,
      h('div', { class: 'form-alert', role: 'alert', dataset: { invite: 'other-account' } }, icon('alert', 16),
        h('span', {}, `You are signed in as ${me.user.email}. Sign out, then accept as ${info.email}.`)),
      signOut);
    return;
  }

  const email = h('input', { id: 'invite-email', type: 'email', readonly: true, value: info.email, autocomplete: 'username' });
  const name = h('input', { id: 'invite-name', name: 'name', type: 'text', required: true, maxlength: '100', autocomplete: 'name', placeholder: 'Your name' });
  const password = h('input', { id: 'invite-password', name: 'password', type: 'password', required: true, minlength: '8', autocomplete: 'new-password' });
  const label = 'Create account and join';
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block btn-lg' }, label);
  const form = h('form', { class: 'login-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: email.id }, 'E-mail'), email),
    h('div', { class: 'field' }, h('label', { for: name.id }, 'Name'), name),
    h('div', { class: 'field' }, h('label', { for: password.id }, 'Password'), password,
      h('p', { class: 'field-help' }, 'At least 8 characters.')),
    problem,
    submit,
    h('p', { class: 'field-help' }, `Already have an account for ${info.email}? `,
      h('a', { href: '/login?next=%2Finvite' }, 'Sign in'), ' and come back to this page.'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!name.value.trim() || password.value.length < 8) {
      showProblem(!name.value.trim() ? 'Enter your name.' : 'Choose a password of at least 8 characters.');
      (name.value.trim() ? password : name).focus();
      return;
    }
    accept({ name: name.value.trim(), password: password.value }, submit, label);
  });
  mount(panel, heading, form);
  name.focus();
}
