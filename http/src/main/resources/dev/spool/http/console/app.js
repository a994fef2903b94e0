// The Spool console: hash-routed pages over the HTTP API, refreshed every two seconds, with the
// live event stream kept open for as long as the tab is signed in.
import { ApiError, takeTokenFromUrl, token, signIn, signOut, subscribeEvents } from './api.js';
import { loadIdentity, forgetIdentity, identity, may } from './access.js';
import { h, fill, fmtAgo } from './dom.js';
import { describe, destroyCharts, feedbackLine, takePending, tell } from './ui.js';
import { forgetHistories } from './history.js';
import { overviewPage } from './overview.js';
import { queuePage } from './queue.js';
import { deadLetterQueuesPage, deadLettersPage } from './deadletters.js';
import { messagesPage, messagePage } from './messages.js';

const REFRESH_MS = 2000;
const MAX_EVENTS = 500;

const main = document.getElementById('main');
const status = document.getElementById('status');
const events = [];
const eventListeners = new Set();
let refreshTimer = null;
let stopEvents = null;
/** The page on screen; a refresh that finishes after the page changed reports nothing. */
let page = null;
/** Whether the console is signed in and refreshing (stop() ends the refresh chain). */
let running = false;

/** The header's line: the state of the refresh and the event stream, not the outcome of actions. */
function say(text, isError) {
  status.textContent = text ?? '';
  status.className = isError ? 'error' : '';
}

// ---- sign-in ------------------------------------------------------------------------------

function signInPage() {
  document.getElementById('nav').hidden = true;
  document.title = 'Sign in — Spool console';
  const input = h('input', { id: 'token-input', name: 'token', type: 'password', autocomplete: 'off', required: true });
  fill(main, h('section', { class: 'signin' },
    h('h1', { tabindex: -1 }, 'Sign in'),
    feedbackLine(),
    h('p', { class: 'muted' }, 'Paste a Spool API token. The console link printed at first start signs in directly.'),
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        signIn(input.value.trim());
        try {
          await loadIdentity();
        } catch (err) {
          signOut();
          tell(e.target, 'sign-in failed: ' + describe(err), true);
          return;
        }
        start();
      },
    }, h('label', {}, 'Token', input), h('button', { id: 'sign-in', type: 'submit' }, 'Sign in'))));
}

// ---- events -------------------------------------------------------------------------------

function eventsPage(target) {
  const list = h('ul', { id: 'events-list', tabindex: 0, 'aria-label': 'Events, newest first' });
  const filter = h('input', { id: 'events-filter', placeholder: 'type or text', size: 30, autocomplete: 'off' });
  const draw = () => {
    const f = filter.value.trim().toLowerCase();
    const shown = events.filter((e) => !f || e.type.toLowerCase().includes(f) || e.text.toLowerCase().includes(f));
    fill(list, shown.slice().reverse().map((e) => h('li', { 'data-type': e.type },
      h('time', { datetime: new Date(e.received).toISOString(), title: new Date(e.received).toISOString() },
        fmtAgo(e.received)), '  ', h('strong', {}, e.type), '  ', e.text)));
  };
  filter.addEventListener('input', draw);
  fill(target, h('h1', { tabindex: -1 }, 'Events'),
    h('p', {}, h('label', { class: 'inline' }, 'Filter ', filter), ' ', h('span', { class: 'muted' }, 'newest first, since this tab signed in')),
    list);
  eventListeners.add(draw);
  draw();
  return { title: 'Events', refresh: null };
}

// ---- routing ------------------------------------------------------------------------------

function route() {
  eventListeners.clear();
  destroyCharts();
  let parts;
  try {
    parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  } catch (e) {
    say('not a console address: ' + location.hash, true);
    parts = [];
  }
  switch (parts[0]) {
    case 'queue': return queuePage(main, parts[1]);
    case 'messages': return messagesPage(main, parts[1], parts[2]);
    case 'message': return messagePage(main, parts[1], parts[2]);
    case 'dead-letters': return parts[1] ? deadLettersPage(main, parts[1]) : deadLetterQueuesPage(main);
    case 'events': return eventsPage(main);
    default: return overviewPage(main);
  }
}

/** Refreshes the page on screen; force (after an action) redraws regions the operator is working in. */
async function refreshNow(force) {
  const shown = page;
  if (!shown?.refresh) return;
  try {
    await shown.refresh(force);
    if (shown === page && status.className === 'error') say('');
  } catch (e) {
    if (shown !== page) return;
    if (e instanceof ApiError && e.status === 401) {
      stop();
      signOut();
      signInPage();
      say('the token was refused: sign in again', true);
      return;
    }
    say('refresh failed: ' + describe(e), true);
  }
}

function show() {
  const message = takePending();
  const global = document.getElementById('global-feedback');
  global.querySelectorAll('p').forEach((p) => { p.textContent = ''; });
  page = route();
  document.title = page.title + ' — Spool console';
  // A screen reader and a keyboard start on the new page, not where the old one left them.
  main.querySelector('h1')?.focus();
  if (message) tell(null, message);
  refreshNow(true);
}

function stop() {
  running = false;
  clearTimeout(refreshTimer);
  if (stopEvents) stopEvents();
  stopEvents = null;
  // the next sign-in in this tab starts without this session's events and history
  events.length = 0;
  forgetHistories();
  forgetIdentity();
  destroyCharts();
  page = null;
}

/**
 * Refreshes every REFRESH_MS after the previous refresh finished (never piling up on a slow
 * server), and not at all while the tab is hidden.
 */
async function tick() {
  if (!running) return;
  if (!document.hidden) await refreshNow(false);
  if (running) refreshTimer = setTimeout(tick, REFRESH_MS);
}

/** Signs in with the token kept in the tab: who it is first, since every page shows only what it may do. */
async function resume() {
  try {
    await loadIdentity();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) signOut();
    signInPage();
    say(e instanceof ApiError && e.status === 401 ? 'the token was refused: sign in again'
      : 'Spool did not answer: ' + describe(e) + '; reload to try again', true);
    return;
  }
  start();
}

/** Starts the signed-in console; the identity is loaded (loadIdentity). */
function start() {
  const nav = document.getElementById('nav');
  nav.hidden = false;
  // Service-wide pages need a token that reads everything; a producer or consumer works on its queues.
  nav.querySelectorAll('.view-only').forEach((a) => { a.hidden = !may.view(); });
  const me = identity();
  document.getElementById('whoami').textContent = me.name + ' (' + me.roles.join(', ') + ')';
  say('');
  if (may.view()) {
    stopEvents = subscribeEvents((e) => {
      events.push({ type: e.type, text: JSON.stringify(e.data), received: Date.now() });
      if (events.length > MAX_EVENTS) events.shift();
      eventListeners.forEach((f) => f());
    }, (state) => { document.body.dataset.events = state; });
  }
  running = true;
  show();
  refreshTimer = setTimeout(tick, REFRESH_MS);
}

window.addEventListener('hashchange', () => {
  if (token()) {
    say('');
    show();
  }
});
document.getElementById('sign-out').addEventListener('click', () => { stop(); signOut(); signInPage(); });

takeTokenFromUrl();
if (token()) resume(); else signInPage();
