// The console's shell: sign-in, the role's navigation, the hash router and live refresh.

import { ApiError, get, session, whenUnauthorized, whoami } from './api.js';
import { fill, message } from './dom.js';
import { ROLES } from './labels.js';
import { startLive, stopLive } from './live.js';
import * as board from './board.js';
import * as queue from './queue.js';
import * as filings from './filings.js';
import * as filing from './filing.js';
import * as records from './records.js';
import * as submit from './submit.js';
import * as erase from './erase.js';

const $ = (id) => document.getElementById(id);
const main = $('main');

// page -> [module, permission needed (beyond reading)]
const PAGES = {
  board: [board], queue: [queue], filings: [filings], filing: [filing], records: [records],
  new: [submit, 'append'], resubmit: [submit, 'append'], erase: [erase, 'erase'],
};

let ctx = null;
let view = null;

// '#/filing/F-1?x=1' -> {page: 'filing', arg: 'F-1', params: URLSearchParams}
function parseHash() {
  const [path, q] = location.hash.replace(/^#\/?/, '').split('?');
  const [page, ...rest] = path.split('/');
  return {
    page: page || 'board',
    arg: rest.length ? decodeURIComponent(rest.join('/')) : '',
    params: new URLSearchParams(q || ''),
  };
}

function route() {
  if (!ctx) return;
  const r = parseHash();
  const [module, needs] = PAGES[r.page] || [];
  for (const a of $('nav').querySelectorAll('a')) {
    if (a.dataset.page === r.page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  view = null;
  if (!module) {
    fill(main, message('没有这个页面。'));
    return;
  }
  if (needs && !ctx.can(needs)) {
    fill(main, message('当前令牌的角色不能使用这个页面。'));
    return;
  }
  main.replaceChildren();
  view = module.render(main, ctx, r) || null;
  main.focus({ preventScroll: true });
}

// The head moved: the page reads its data again (forms keep what the user typed).
function refresh() {
  view?.refresh?.();
}

function start(me, workflow) {
  const permissions = new Set(me.permissions);
  ctx = { me, workflow, can: (p) => permissions.has(p) };
  $('sign-in').hidden = true;
  $('nav').hidden = false;
  $('live').hidden = false;
  for (const a of $('nav').querySelectorAll('a[data-needs]')) a.hidden = !ctx.can(a.dataset.needs);
  $('who').textContent = me.role ? `${me.name} · ${ROLES[me.role] || me.role}` : '本机（未配置令牌）';
  $('sign-out').hidden = !me.role;
  startLive(refresh, $('live'));
  route();
}

function showSignIn(note = '') {
  ctx = null;
  view = null;
  stopLive();
  $('nav').hidden = true;
  $('live').hidden = true;
  $('sign-out').hidden = true;
  $('who').textContent = '';
  main.replaceChildren();
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = note;
  $('token').value = '';
  $('token').focus();
}

// `remember`: keep the token in this tab's session. Not for the one already there: a sign-out
// while its check is in flight must stand.
async function signIn(token, remember = true) {
  const me = await whoami(token);
  if (token && remember) session.signIn(token);
  start(me, (await get('/v1/workflow')).allowed_events);
}

$('sign-in-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = $('token').value.trim();
  if (!token) {
    $('sign-in-error').textContent = '请输入令牌。';
    return;
  }
  try {
    await signIn(token);
  } catch (err) {
    $('sign-in-error').textContent =
      err instanceof ApiError && err.status === 401 ? '令牌无效。' : `无法登录：${err.message}`;
  }
});

$('sign-out').addEventListener('click', () => {
  session.signOut();
  showSignIn();
});

whenUnauthorized(() => {
  session.signOut();
  showSignIn('令牌已失效，请重新登录。');
});

window.addEventListener('hashchange', route);

// A token from this tab's session, or none: a daemon without tokens (loopback) opens directly.
(async () => {
  try {
    await signIn(session.token(), false);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      const had = session.token() !== '';
      session.signOut();
      showSignIn(had ? '令牌已失效，请重新登录。' : '');
    } else fill(main, message(`无法连接 filingd：${err.message}`));
  }
})();
