/**
 * The dashboard shell: login, the hash router (#/, #/cluster/<id>, #/node/<id>, #/guests, …), the
 * live stream that refreshes the page shown, and the top bar. One view is mounted at a time.
 */
import 'uplot/dist/uPlot.min.css';
import { ApiError, api, dropPrefetched, prefetch, type User } from './api.ts';
import { byId, clear, h } from './dom.ts';
import { timeFmt } from './format.ts';
import { connectLive } from './live.ts';
import type { LiveChange, Mount, View, ViewContext } from './view.ts';
import { alerts } from './views/alerts.ts';
import { cluster } from './views/cluster.ts';
import { events } from './views/events.ts';
import { guest } from './views/guest.ts';
import { guests } from './views/guests.ts';
import { node } from './views/node.ts';
import { OVERVIEW_READS, overview } from './views/overview.ts';
import { settings } from './views/settings.ts';
import { backups, storage } from './views/storage.ts';

const VIEWS: Record<string, Mount> = {
  overview,
  cluster,
  node,
  guests,
  guest,
  storage,
  backups,
  alerts,
  events,
  settings,
};
/** views with an id in the path, and the nav tab they belong to */
const DETAIL: Record<string, string> = { cluster: 'overview', node: 'overview', guest: 'guests' };

interface Shell {
  user: User | null;
  view: View | null;
  busy: boolean;
  /** a change arrived while a refresh ran: one more refresh after it */
  again: LiveChange | 'all' | null;
  stopLive: (() => void) | null;
  prefs: { range: string | null };
}
const shell: Shell = {
  user: null,
  view: null,
  busy: false,
  again: null,
  stopLive: null,
  prefs: { range: null },
};

function setAlertCount(n: number) {
  const el = byId('nav-alerts');
  el.textContent = String(n);
  el.hidden = n === 0;
}

function setState(text: string, bad = false) {
  const el = byId('refresh-state');
  el.textContent = text;
  el.classList.toggle('bad', bad);
}

function fail(err: unknown) {
  if (err instanceof ApiError && err.status === 401) return showLogin();
  setState(`update failed: ${err instanceof Error ? err.message : String(err)}`, true);
}

function route(): { name: string; params: URLSearchParams; id: string } {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path = '/', query = ''] = raw.split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean);
  const first = parts[0] ?? 'overview';
  if (first in DETAIL && parts[1]) return { name: first, params, id: decodeURIComponent(parts[1]) };
  if (first in VIEWS && !(first in DETAIL)) return { name: first, params, id: '' };
  return { name: 'overview', params, id: '' };
}

async function refreshNow(change?: LiveChange) {
  const view = shell.view;
  if (!view) return;
  if (shell.busy) {
    shell.again = change && shell.again !== 'all' ? change : 'all';
    return;
  }
  shell.busy = true;
  try {
    await view.refresh(change);
    if (view === shell.view) setState(`live · updated ${timeFmt.format(new Date())}`);
  } catch (err) {
    fail(err);
  } finally {
    shell.busy = false;
  }
  const again = shell.again;
  shell.again = null;
  if (again && view === shell.view) await refreshNow(again === 'all' ? undefined : again);
}

function render() {
  if (!shell.user) return;
  const r = route();
  const main = clear(byId('main'));
  const tab = DETAIL[r.name] ?? r.name;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('#nav a')) {
    const on = a.dataset['view'] === tab;
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const ctx: ViewContext = { user: shell.user, prefs: shell.prefs, fail, setAlertCount };
  shell.view = VIEWS[r.name]!(main, ctx, r.params, r.id);
  shell.busy = false;
  shell.again = null;
  void refreshNow();
}

/**
 * A fleet of 200 nodes reports several times a second: a view follows the changes at most every
 * LIVE_MIN_MS, with one trailing refresh for what arrived in between.
 */
const LIVE_MIN_MS = 2000;
const FIRING_ALERTS = '/api/alerts?state=firing&limit=1000';
let liveAt = 0;
let liveTimer = 0;
let alertCountAt = 0;
function onChange(c: LiveChange) {
  const v = shell.view;
  if (v && (v.wants ? v.wants(c) : true)) {
    const wait = liveAt + LIVE_MIN_MS - Date.now();
    if (wait <= 0) {
      liveAt = Date.now();
      void refreshNow(c);
    } else if (!liveTimer)
      liveTimer = window.setTimeout(() => {
        liveTimer = 0;
        liveAt = Date.now();
        if (v === shell.view) void refreshNow(c);
      }, wait);
  }
  // the Alerts tab's count follows every change, at most every 5 s
  if (Date.now() - alertCountAt > 5000) {
    alertCountAt = Date.now();
    api<{ data: unknown[] }>(FIRING_ALERTS)
      .then((r) => setAlertCount(r.data.length))
      .catch(fail);
  }
}

function showApp(user: User) {
  shell.user = user;
  byId('user-name').textContent = user.username;
  byId('nav').hidden = false;
  byId('session').hidden = false;
  render();
  shell.stopLive ??= connectLive({
    change: onChange,
    resync: () => void refreshNow(),
    status: (s) => {
      if (s === 'reconnecting') setState('reconnecting…', true);
      else if (s === 'closed') {
        // the stream was refused: a 401 means the session ended
        api('/api/auth/me').catch(fail);
        setState('live updates stopped; retrying', true);
      }
    },
  });
  // GET /api/alerts has no total: the firing ones are counted (a fleet has far fewer than 1,000);
  // the overview counts them itself
  if (route().name !== 'overview')
    api<{ data: unknown[] }>(FIRING_ALERTS)
      .then((r) => setAlertCount(r.data.length))
      .catch(fail);
}

function showLogin(message = '') {
  dropPrefetched();
  shell.user = null;
  shell.view = null;
  shell.stopLive?.();
  shell.stopLive = null;
  byId('nav').hidden = true;
  byId('session').hidden = true;
  const main = clear(byId('main'));
  const err = h('p', { class: 'form-error', role: 'alert', hidden: !message }, message);
  const user = h('input', { name: 'username', id: 'login-user', autocomplete: 'username', required: true });
  const pass = h('input', {
    name: 'password',
    id: 'login-pass',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Log in');
  const form = h(
    'form',
    { class: 'login card', id: 'login-form' },
    h('h1', null, 'Log in'),
    h('p', { class: 'muted' }, 'Proxmox VE clusters, nodes and guests reported by nannyagent.'),
    h('label', { for: 'login-user' }, 'Username'),
    user,
    h('label', { for: 'login-pass' }, 'Password'),
    pass,
    err,
    submit,
    h(
      'p',
      { class: 'muted small' },
      'The first admin’s password is printed once when nannyapi starts on an empty database.',
    ),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit.disabled = true;
    err.hidden = true;
    api<{ user: User }>('/api/auth/login', {
      method: 'POST',
      body: { username: user.value, password: pass.value },
    })
      .then((r) => showApp(r.user))
      .catch((e2: unknown) => {
        err.textContent = e2 instanceof Error ? e2.message : String(e2);
        err.hidden = false;
        submit.disabled = false;
        pass.select();
      });
  });
  main.appendChild(form);
  user.focus();
}

async function start() {
  byId('logout').addEventListener('click', () => {
    api('/api/auth/logout', { method: 'POST', body: {} })
      .catch(() => null)
      .then(() => showLogin())
      .catch(fail);
  });
  window.addEventListener('hashchange', render);
  // the overview's data is asked for with the session check, not after it (one round trip less)
  if (route().name === 'overview') for (const path of OVERVIEW_READS) prefetch(path);
  try {
    const me = await api<{ user: User }>('/api/auth/me');
    showApp(me.user);
  } catch (err) {
    showLogin(
      err instanceof ApiError && (err.status === 401 || err.status === 403)
        ? ''
        : String((err as Error).message),
    );
  }
}

void start();
