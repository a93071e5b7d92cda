// The console's entry point: sign-in, navigation and a hash router
// (#/sets, #/sets/NAME, #/add, #/detect, #/compare, #/search, #/liveness).
import * as api from './api.js';
import { h, clear, field, errorBox } from './dom.js';
import * as sets from './page-sets.js';
import * as faces from './page-faces.js';
import * as addFaces from './page-add.js';
import * as detect from './page-detect.js';
import * as compare from './page-compare.js';
import * as search from './page-search.js';
import * as liveness from './page-liveness.js';

const PAGES = [
  ['sets', 'Face sets', sets],
  ['add', 'Add faces', addFaces],
  ['detect', 'Detect', detect],
  ['compare', 'Compare', compare],
  ['search', 'Search', search],
  ['liveness', 'Liveness', liveness],
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let signInNotice = '';

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('?')[0].split('/').map(decodeURIComponent);
  const query = new URLSearchParams(location.hash.split('?')[1] || '');
  return { parts, query };
}

function renderChrome() {
  const s = api.current();
  clear(nav);
  clear(who);
  nav.hidden = !s;
  who.hidden = !s;
  if (!s) return;
  const here = route().parts[0] || 'sets';
  nav.append(h('ul', {}, PAGES.map(([key, title]) => h('li', {},
    h('a', { href: `#/${key}`, 'aria-current': key === here ? 'page' : null }, title)))));
  who.append(
    h('span', { class: 'who-name' }, `${s.user} · ${s.projectName || s.projectId}`),
    h('button', { type: 'button', class: 'secondary', id: 'sign-out', on: { click: () => api.signOut() } }, 'Sign out'),
  );
}

function signInPage() {
  const domain = h('input', { name: 'domain', autocomplete: 'organization', value: 'openfrs', required: true });
  const user = h('input', { name: 'user', autocomplete: 'username', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const project = h('input', { name: 'project', value: 'local', required: true });
  const err = h('div', { class: 'slot' });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', {
    class: 'card narrow',
    on: {
      submit: async (e) => {
        e.preventDefault();
        submit.disabled = true;
        err.replaceChildren();
        try {
          await api.signIn({ domain: domain.value.trim(), user: user.value.trim(),
            password: password.value, project: project.value.trim() });
          password.value = '';
          if (!location.hash || location.hash.startsWith('#/signin')) location.hash = '#/sets';
          else render();
        } catch (ex) {
          err.replaceChildren(errorBox(ex));
        } finally {
          submit.disabled = false;
        }
      },
    },
  },
  h('h1', { tabindex: -1 }, 'Sign in'),
  h('p', {}, 'An IAM user of this OpenFRS (the token stays in this tab until you sign out).'),
  signInNotice ? h('p', { class: 'status warn', role: 'status' }, signInNotice) : null,
  field('User name', user),
  field('Password', password),
  field('Account (domain)', domain),
  field('Project', project, 'Project name or 32-character project id'),
  err, submit);
  signInNotice = '';
  return form;
}

let generation = 0;

async function render() {
  generation += 1;
  const mine = generation;
  renderChrome();
  clear(main);
  const s = api.current();
  if (!s) {
    main.append(signInPage());
    main.querySelector('input[name=user]').focus();
    return;
  }
  const { parts, query } = route();
  const view = h('section', { class: 'page' });
  main.append(view);
  let page = PAGES.find(([key]) => key === parts[0]);
  try {
    if (parts[0] === 'sets' && parts[1]) await faces.render(view, parts[1], query);
    else {
      if (!page) page = PAGES[0];
      await page[2].render(view, query);
    }
  } catch (ex) {
    if (mine === generation) view.append(errorBox(ex));
  }
  if (mine === generation) {
    const heading = view.querySelector('h1');
    // Not when the user already moved focus into the content (the skip link).
    if (heading && !main.contains(document.activeElement)) heading.focus();
  }
}

api.onSessionChange((s, reason) => {
  if (!s) {
    signInNotice = reason || '';
    if (location.hash !== '#/signin') location.hash = '#/signin';
    else render();
  }
});
// The skip link moves focus; following its #main would be a route change.
document.querySelector('.skip').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', render);
render();
