// Talks to Spool's HTTP API with the signed-in bearer token. The token lives in sessionStorage:
// it goes with the tab, and a token in the URL (the console link printed at first start) is moved
// there at once and stripped from the address bar and history.

const TOKEN_KEY = 'spool.token';

/** Moves ?token=… from the URL into sessionStorage, then removes it from the visible URL. */
export function takeTokenFromUrl() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
}

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function signIn(t) { sessionStorage.setItem(TOKEN_KEY, t); }
export function signOut() { sessionStorage.removeItem(TOKEN_KEY); }

/** An API failure, with the error code and sentence of the API's error shape. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls /api/v1{path}; resolves to the JSON answer (null for 204), rejects with ApiError. */
export async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + token() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch('/api/v1' + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (!response.ok) {
    throw new ApiError(response.status, json?.error ?? String(response.status),
      json?.message ?? (text || response.statusText));
  }
  return json;
}

export const q = (name) => '/queues/' + encodeURIComponent(name);

/**
 * The live event stream. EventSource cannot send an Authorization header, so each connection
 * first asks for a single-use ticket with the token and opens /api/v1/events?ticket=…; when the
 * stream breaks, a new ticket is fetched (the old one is spent), with a growing pause.
 */
export function subscribeEvents(onEvent, onState) {
  let source = null;
  let stopped = false;
  let pause = 1000;
  const types = ['Started', 'Shutdown', 'QueueCreated', 'QueueDeleted', 'MessageAdded', 'MemoryLow',
    'MemoryNormal', 'DiskLow', 'DiskNormal', 'MessagesExpired', 'MessagesDropped', 'ConsumerStale',
    'ConsumerRemoved', 'ConsumerRestarted', 'DeadLettered', 'BreakerOpened', 'BreakerClosed', 'GroupCompleted',
    'EventsDropped'];

  async function connect() {
    if (stopped) return;
    try {
      const { ticket } = await api('POST', '/events/ticket');
      if (stopped) return; // signed out while the ticket was on its way
      source = new EventSource('/api/v1/events?ticket=' + encodeURIComponent(ticket));
      source.onopen = () => { pause = 1000; onState('live'); };
      const handle = (e) => {
        if (e.data === '') return; // the stream's keep-alive: no event
        let data;
        try { data = JSON.parse(e.data); } catch (err) { data = { raw: e.data }; }
        onEvent({ type: e.type === 'message' ? (data.type ?? 'message') : e.type, data });
      };
      source.onmessage = handle;
      // Named SSE events reach only listeners for their name; the known names are listed, and
      // unknown ones still show through onmessage when the server sends them unnamed.
      types.forEach((t) => source.addEventListener(t, handle));
      source.onerror = () => {
        source.close();
        onState('reconnecting');
        retry();
      };
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
        onState('offline: the token was refused'); // retrying would not help; sign in again
        return;
      }
      onState('offline: ' + e.message);
      retry();
    }
  }
  function retry() {
    if (stopped) return;
    setTimeout(connect, pause);
    pause = Math.min(pause * 2, 15000);
  }
  connect();
  return () => { stopped = true; if (source) source.close(); };
}
