// The login form: a host account, checked by stratad through PAM.
import {post} from '../api.js';
import {h} from '../dom.js';

export function loginPage(outlet, onLoggedIn, message) {
  const user = h('input', {name: 'user', autocomplete: 'username', required: true, autofocus: true});
  const password = h('input', {name: 'password', type: 'password', autocomplete: 'current-password', required: true});
  const error = h('p', {class: 'error', id: 'login-error', role: 'alert'}, message || '');
  const button = h('button', {type: 'submit', class: 'primary'}, 'Log in');
  const form = h('form', {'aria-label': 'Log in', onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    button.disabled = true;
    button.textContent = 'Checking…';
    try {
      onLoggedIn(await post('/v1/session', {user: user.value, password: password.value}));
    } catch (err) {
      error.textContent = err.status === 401 ? 'Wrong user name or password.' : err.message;
      password.value = '';
      password.focus();
    } finally {
      button.disabled = false;
      button.textContent = 'Log in';
    }
  }}, h('label', {}, 'User', user), h('label', {}, 'Password', password), button, error);
  outlet.replaceChildren(h('div', {class: 'login card'}, h('h1', {}, 'Strata'),
    h('p', {class: 'muted'}, 'Log in with an account of this host.'), form));
}
