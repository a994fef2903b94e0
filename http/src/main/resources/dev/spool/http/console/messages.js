// Browsing and searching a queue's messages page by page, and one message with its payload and
// delivery trace.
import { api, q, ApiError } from './api.js';
import { h, fill, render, timeEl, fmtAgo } from './dom.js';
import { tell, describe, feedbackLine, section, scroller } from './ui.js';
import { browse, pager } from './browse.js';

const PAGE = 50;

function payloadText(m) {
  return m.payload ?? ('base64: ' + (m.payloadBase64 ?? ''));
}

/** The payload on one line, cut short. */
export function payloadPreview(m) {
  const text = payloadText(m).replace(/\s+/g, ' ');
  return text.length > 200 ? text.slice(0, 200) + '…' : text;
}

/** An instant typed in a datetime-local field (local time) as ISO-8601; '' when empty. */
function instant(input) {
  return input.value ? new Date(input.value).toISOString() : '';
}

export function messagesPage(main, name, from) {
  const rows = h('tbody', { id: 'messages' });
  const field = (label, attrs) => h('label', {}, label, h('input', { autocomplete: 'off', ...attrs }));
  const form = h('form', { id: 'search-form', class: 'search' },
    field('From sequence', { id: 'search-from', name: 'from', type: 'number', min: 0, value: from ?? '' }),
    field('Key', { id: 'search-key', name: 'key' }),
    field('Type', { id: 'search-type', name: 'type' }),
    field('Header (name:value)', { id: 'search-header', name: 'header', placeholder: 'tenant:acme', pattern: '[^:]+:.*' }),
    field('Since', { id: 'search-since', name: 'since', type: 'datetime-local', step: 1 }),
    field('Until', { id: 'search-until', name: 'until', type: 'datetime-local', step: 1 }),
    h('button', { id: 'search', type: 'submit' }, 'Search'));
  const pages = pager('messages-pager', (position) => load(position));
  let filters = {};

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = (n) => form.elements[n].value.trim();
    filters = { key: value('key'), type: value('type'), header: value('header'),
      since: instant(form.elements.since), until: instant(form.elements.until) };
    load({ from: value('from'), direction: 'forward' });
  });

  fill(main,
    h('h1', { tabindex: -1 }, 'Messages in ', h('a', { href: '#/queue/' + encodeURIComponent(name) }, name)),
    section({ id: 'search-section' }, 'Search', form),
    h('section', { id: 'messages-section' }, h('h2', { class: 'visually-hidden' }, 'Messages'), feedbackLine(),
      pages.element,
      scroller('Messages', h('table', { class: 'one-line cards' }, h('thead', {}, h('tr', {},
        ['Seq', 'Time', 'Type', 'Key', 'Payload'].map((t) => h('th', { scope: 'col' }, t)))), rows))));

  async function load(position) {
    try {
      const answer = await browse(name, { ...filters, ...position, limit: PAGE });
      fill(rows, answer.messages.length === 0
        ? h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No messages match on this page.'))
        : answer.messages.map((m) => h('tr', { 'data-sequence': m.sequence },
          h('td', { 'data-label': 'Seq' }, h('a', { class: 'open-message', href: '#/message/' + encodeURIComponent(name) + '/' + m.sequence },
            String(m.sequence))),
          h('td', { 'data-label': 'Time' }, timeEl(m.timestamp)), h('td', { 'data-label': 'Type', class: 'type' }, m.type ?? ''),
          h('td', { 'data-label': 'Key', class: 'key' }, m.key ?? ''),
          h('td', { 'data-label': 'Payload', class: 'payload' }, payloadPreview(m)))));
      pages.update(answer, PAGE);
    } catch (e) {
      tell(rows, 'browse failed: ' + describe(e), true);
    }
  }

  load({ from, direction: 'forward' });
  // Fetched on opening, paging and searching only: a refresh would move the operator's page.
  return { title: 'Messages in ' + name, refresh: null };
}

/** The payload, pretty-printed when it is JSON (by its content type, or because it parses as such). */
function prettyPayload(m) {
  const text = payloadText(m);
  if (m.payload === null || m.payload === undefined) return { text, json: false };
  try {
    const parsed = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) return { text: JSON.stringify(parsed, null, 2), json: true };
    if (/json/i.test(m.contentType ?? '')) return { text: JSON.stringify(parsed, null, 2), json: true };
  } catch (e) {
    // not JSON, whatever its content type says: shown as it is
  }
  return { text, json: false };
}

/** Copies text to the clipboard; where the Clipboard API is missing or refused, through a selected text area. */
async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch (e) {
    // an insecure origin has no navigator.clipboard, and an unfocused page is refused it
  }
  const area = h('textarea', { class: 'visually-hidden', readonly: true, 'aria-hidden': 'true', tabindex: -1 });
  area.value = text;
  document.body.appendChild(area);
  area.select();
  const copied = document.execCommand('copy');
  area.remove();
  if (!copied) throw new Error('the browser refused to copy');
}

function copyButton(id, label, text) {
  return h('button', { type: 'button', id, class: 'copy', onclick: async (e) => {
    try {
      await copy(text());
      tell(e.target, label + ' copied');
    } catch (err) {
      tell(e.target, 'copying the ' + label + ' failed: ' + err.message, true);
    }
  } }, 'Copy ' + label);
}

// What an untimed trace entry rests on: the consumer's position, or the trace cap that dropped older events.
function traceWhen(t) {
  if (t.at) return timeEl(t.at);
  if (t.event === 'events-dropped') return 'older events dropped by the trace cap';
  return 'from its position';
}

export function messagePage(main, name, sequence) {
  const details = h('dl', { class: 'settings', id: 'message-details' });
  const payload = h('pre', { class: 'payload', id: 'message-payload', tabindex: 0, 'aria-label': 'payload' });
  const payloadNote = h('p', { class: 'muted', id: 'payload-note' });
  const trace = h('tbody', { id: 'trace' });
  let message = null;
  fill(main,
    h('h1', { tabindex: -1 }, 'Message ', String(sequence), ' in ', h('a', { href: '#/queue/' + encodeURIComponent(name) }, name)),
    section({ id: 'message-section' }, 'Details', details,
      h('p', {}, copyButton('copy-id', 'id', () => message.id))),
    section({ id: 'payload-section' }, 'Payload', payloadNote, payload,
      h('p', {}, copyButton('copy-payload', 'payload', () => payloadText(message)))),
    h('section', {}, h('h2', {}, 'Delivery trace'),
      scroller('Delivery trace', h('table', {}, h('thead', {}, h('tr', {}, ['Event', 'Consumer', 'At', 'Attempt']
        .map((t) => h('th', { scope: 'col' }, t)))), trace))));

  async function refresh(force) {
    let answer;
    try {
      answer = await api('GET', q(name) + '/messages/' + encodeURIComponent(sequence));
    } catch (e) {
      // A dead letter's source is often freed once every consumer is done with it: say so, as the page's content.
      if (!(e instanceof ApiError && e.code === 'SequenceOutOfRange')) throw e;
      tell(details, e.message, true);
      return;
    }
    const m = answer.message;
    if (!message) {
      // The message itself does not change: drawn once, so a selection in it lasts.
      message = m;
      const x = m.headers ?? {};
      fill(details, Object.entries({ id: h('code', { id: 'message-id' }, m.id), time: timeEl(m.timestamp),
        producer: m.producerId ?? '–', type: m.type ?? '–', key: m.key ?? '–', 'content type': m.contentType ?? '–',
        expires: m.expiresAt ? timeEl(m.expiresAt) : 'never',
        'deliver at': m.deliverAt ? timeEl(m.deliverAt) : null,
        priority: m.priority ? String(m.priority) : null,
        'dead-lettered from': x['x-death-queue'] && x['x-death-sequence']
          ? h('a', { id: 'death-source', href: '#/message/' + encodeURIComponent(x['x-death-queue']) + '/'
            + encodeURIComponent(x['x-death-sequence']) }, x['x-death-queue'] + ' #' + x['x-death-sequence']) : null,
        headers: Object.keys(x).length ? h('ul', { class: 'plain headers' }, Object.entries(x).map(([k, v]) => h('li', {}, k + ': ' + v))) : '–',
      }).filter(([, v]) => v !== null).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
      const pretty = prettyPayload(m);
      payload.textContent = pretty.text;
      payloadNote.textContent = pretty.json ? 'JSON, pretty-printed; Copy payload copies it as it was sent.' : '';
    } else {
      // Drawn once, but its relative times ("deliver at: in 3 min") move on with each refresh.
      for (const t of details.querySelectorAll('time[datetime]')) {
        const ago = fmtAgo(t.dateTime);
        if (t.textContent !== ago) t.textContent = ago;
      }
    }
    render(trace, answer.trace.map((t) => h('tr', { class: 'trace-' + t.event },
      h('td', {}, t.event), h('td', {}, t.consumer ?? ''), h('td', { class: t.at ? '' : 'muted' }, traceWhen(t)),
      h('td', { class: 'num' }, t.attempt ? String(t.attempt) : ''))), force);
  }
  return { title: 'Message ' + sequence + ' in ' + name, refresh };
}
