// The Spool console: hash-routed pages over the HTTP API, refreshed every two seconds, with the
// live event stream kept open for as long as the tab is signed in.
import { api, q, ApiError, takeTokenFromUrl, token, signIn, signOut, subscribeEvents } from './api.js';
import { h, fill, fmtNumber, fmtBytes, fmtRate, fmtMs, fmtTime } from './dom.js';

const REFRESH_MS = 2000;
/** Five minutes of rate samples at the refresh interval. */
const HISTORY_POINTS = 150;
const MAX_EVENTS = 500;

const main = document.getElementById('main');
const status = document.getElementById('status');
const rates = { labels: [], publish: [], deliver: [] };
const events = [];
const eventListeners = new Set();
let refreshTimer = null;
let stopEvents = null;
let currentRefresh = null;
/** The one live chart: the overview's previous chart is destroyed when a new one is drawn. */
let liveChart = null;
/** Whether the console is signed in and refreshing (stop() ends the refresh chain). */
let running = false;

const DELIVERY_STATES = {
  'delivering': 'delivering: messages are waiting and a subscriber is taking them',
  'caught-up': 'caught up: every retained message has been delivered',
  'no-subscribers': 'not delivering: messages are waiting but nothing is reading',
  'credit-exhausted': 'not delivering: prefetch is used up by unacknowledged deliveries',
  'paused': 'not delivering: paused by an operator',
  'backoff': 'waiting: only redeliveries in their backoff remain',
  'breaker-open': 'not delivering: the handler\'s circuit breaker is open',
};

function say(text, isError) {
  status.textContent = text ?? '';
  status.className = isError ? 'error' : '';
}

/** Runs an operator action; reports its failure in the status line rather than throwing. */
async function act(label, fn) {
  try {
    say(label + '…');
    const result = await fn();
    say(label + ': done');
    await refreshNow();
    return result;
  } catch (e) {
    say(label + ' failed: ' + (e instanceof ApiError ? e.code + ': ' + e.message : e.message), true);
    return undefined;
  }
}

function formValue(form, name) {
  return form.elements[name].value.trim();
}

// ---- sign-in ------------------------------------------------------------------------------

function signInPage() {
  document.getElementById('nav').hidden = true;
  const input = h('input', { id: 'token-input', name: 'token', type: 'password', autocomplete: 'off', required: true });
  fill(main, h('section', { class: 'signin' },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Paste a Spool API token. The console link printed at first start signs in directly.'),
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        signIn(input.value.trim());
        try {
          await api('GET', '/stats/memory');
          start();
        } catch (err) {
          signOut();
          say('sign-in failed: ' + err.message, true);
        }
      },
    }, h('label', {}, 'Token', input), h('button', { id: 'sign-in', type: 'submit' }, 'Sign in'))));
}

// ---- overview -----------------------------------------------------------------------------

function overviewPage() {
  const tbody = h('tbody', { id: 'queues' });
  const meter = h('meter', { id: 'memory-meter', min: 0, max: 1, value: 0, low: 0.8, high: 0.95, optimum: 0 });
  const memoryText = h('span', { id: 'memory-text' });
  const canvas = h('canvas', { id: 'rates-chart' });
  const chart = rateChart(canvas);
  const members = h('tbody', { id: 'members' });
  const clusterSection = h('section', { id: 'cluster', hidden: true }, h('h2', {}, 'Cluster members'),
    h('table', {}, h('thead', {}, h('tr', {}, ['Member', 'Status', 'Reachable', 'Leader', 'Queues']
      .map((t, i) => h('th', { class: i === 4 ? 'num' : null }, t)))), members));
  const memberHeader = h('th', { hidden: true }, 'Member');
  fill(main,
    h('h1', {}, 'Overview'),
    h('section', {}, h('h2', {}, 'Memory'), meter, ' ', memoryText,
      h('form', {
        id: 'threshold-form',
        onsubmit: (e) => {
          e.preventDefault();
          const bytes = Number(formValue(e.target, 'bytes'));
          act('set memory threshold', () => api('PUT', '/stats/memory/threshold', { bytes }));
        },
      }, h('label', {}, 'Threshold (bytes, 0 for none)', h('input', { name: 'bytes', type: 'number', min: 0, required: true })),
      h('button', { type: 'submit' }, 'Set threshold'),
      h('button', { id: 'gc', type: 'button', onclick: () => act('GC', () => api('POST', '/gc')) }, 'Run GC'))),
    h('section', {}, h('h2', {}, 'Rates, last five minutes (all queues)'), h('div', { class: 'chart' }, canvas)),
    clusterSection,
    h('section', {}, h('h2', {}, 'Queues'),
      h('table', {}, h('thead', {}, h('tr', {}, ['Queue', 'Depth', 'Bytes', 'Publish', 'Deliver', 'Consumers', 'Worst lag']
        .map((t, i) => h('th', { class: i ? 'num' : null }, t)), memberHeader)), tbody),
      newQueueForm()));

  return async () => {
    const [queues, memory, lag, cluster] = await Promise.all([api('GET', '/queues'), api('GET', '/stats/memory'),
      api('GET', '/stats/lag'), api('GET', '/cluster')]);
    const worst = worstLagByQueue(lag);
    fillCluster(clusterSection, members, cluster);
    memberHeader.hidden = !cluster.enabled;
    fill(tbody, queues.length === 0 ? h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No queues yet.')) : queues.map((queue) =>
      h('tr', { 'data-queue': queue.name },
        h('td', {}, h('a', { href: '#/queue/' + encodeURIComponent(queue.name) }, queue.name)),
        h('td', { class: 'num depth' }, fmtNumber(queue.stats.depth)),
        h('td', { class: 'num' }, fmtBytes(queue.stats.bytes)),
        h('td', { class: 'num' }, fmtRate(queue.stats.publishRate)),
        h('td', { class: 'num' }, fmtRate(queue.stats.deliverRate)),
        h('td', { class: 'num' }, fmtNumber(queue.stats.consumers)),
        h('td', { class: 'num worst-lag' }, worst.get(queue.name) ?? '–'),
        h('td', { class: 'member', hidden: !cluster.enabled }, hostPort(queue.member)))));
    const threshold = memory.thresholdBytes;
    if (threshold > 0) {
      // warn from 80 % of the threshold (the low-water mark), alarm from 95 %
      meter.max = threshold;
      meter.low = threshold * 0.8;
      meter.high = threshold * 0.95;
    } else {
      meter.max = Math.max(memory.totalBytes, 1); // no threshold: the bar shows bytes, never a warning
      meter.low = meter.max;
      meter.high = meter.max;
    }
    meter.value = memory.totalBytes;
    memoryText.textContent = fmtBytes(memory.totalBytes) + ' in ' + fmtNumber(memory.totalMessages) + ' messages, threshold '
      + (threshold > 0 ? fmtBytes(threshold) : 'none') + (memory.underPressure ? ' — UNDER PRESSURE' : '');
    chart.update('none');
  };
}

/** The members of a cluster, with their status; the section stays hidden on a standalone service. */
function fillCluster(section, tbody, cluster) {
  section.hidden = !cluster.enabled;
  if (!cluster.enabled) return;
  fill(tbody, cluster.members.map((m) => h('tr', { 'data-member': m.address, class: m.reachable ? null : 'unreachable' },
    h('td', {}, hostPort(m.address), m.address === cluster.self ? ' (this one)' : ''),
    h('td', { class: 'member-status' }, m.status),
    h('td', {}, m.reachable ? 'yes' : 'NO'),
    h('td', {}, m.leader ? 'leader' : ''),
    h('td', { class: 'num' }, m.queues < 0 ? '?' : fmtNumber(m.queues)))));
}

/** host:port of a member's address (pekko://spool@host:port); a partitioned queue's members, each so. */
function hostPort(address) {
  return address ? address.split(', ').map((a) => a.replace(/^.*@/, '')).join(', ') : '';
}

/**
 * The highest lag among each queue's consumers, from /stats/lag; queues without consumers have none.
 * A partitioned queue's consumer lags by the sum of its lags in the partitions (queue#p).
 */
function worstLagByQueue(lag) {
  const perConsumer = new Map();
  for (const c of lag.consumers) {
    const queue = c.queue.replace(/#\d+$/, '');
    const key = JSON.stringify([queue, c.consumer]);
    perConsumer.set(key, { queue, lag: (perConsumer.get(key)?.lag ?? 0) + c.lag });
  }
  const worst = new Map();
  for (const { queue, lag: l } of perConsumer.values()) worst.set(queue, Math.max(worst.get(queue) ?? 0, l));
  return new Map([...worst].map(([k, v]) => [k, fmtNumber(v)]));
}

function rateChart(canvas) {
  // Chart.js arrives as a classic script (its UMD build) and is global by the time modules run.
  if (liveChart) liveChart.destroy();
  liveChart = new window.Chart(canvas, {
    type: 'line',
    data: {
      labels: rates.labels,
      datasets: [
        { label: 'publish/s', data: rates.publish, borderColor: '#2f6fd6', pointRadius: 0, tension: 0.2 },
        { label: 'deliver/s', data: rates.deliver, borderColor: '#2e8b57', pointRadius: 0, tension: 0.2 },
      ],
    },
    options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } },
  });
  return liveChart;
}

/** Samples the summed rates, whichever page is open, so the chart has history when opened. */
async function sampleRates() {
  try {
    const queues = await api('GET', '/queues');
    rates.labels.push(new Date().toLocaleTimeString('en-GB'));
    rates.publish.push(queues.reduce((s, x) => s + x.stats.publishRate, 0));
    rates.deliver.push(queues.reduce((s, x) => s + x.stats.deliverRate, 0));
    if (rates.labels.length > HISTORY_POINTS) {
      rates.labels.shift(); rates.publish.shift(); rates.deliver.shift();
    }
  } catch (e) {
    // The page's own refresh reports failures; a missed sample only leaves a gap.
  }
}

function newQueueForm() {
  return h('form', {
    id: 'new-queue-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const form = e.target;
      const name = formValue(form, 'name');
      const settings = {};
      if (formValue(form, 'durability')) settings.durability = formValue(form, 'durability');
      if (formValue(form, 'ttl')) settings.ttl = formValue(form, 'ttl');
      if (formValue(form, 'deadLetter')) settings.deadLetter = { queue: formValue(form, 'deadLetter'), maxDeliveries: 5 };
      if (formValue(form, 'partitions')) settings.partitions = Number(formValue(form, 'partitions'));
      if (await act('create queue ' + name, () => api('PUT', q(name), settings)) !== undefined) form.reset();
    },
  },
  h('label', {}, 'New queue', h('input', { id: 'new-queue-name', name: 'name', required: true })),
  h('label', {}, 'Durability', h('select', { name: 'durability' }, h('option', { value: '' }, 'default'),
    h('option', { value: 'transient' }, 'transient'), h('option', { value: 'persistent' }, 'persistent'))),
  h('label', {}, 'TTL (ISO-8601)', h('input', { name: 'ttl', placeholder: 'PT10M' })),
  h('label', {}, 'Dead-letter queue', h('input', { name: 'deadLetter' })),
  h('label', {}, 'Partitions', h('input', { id: 'new-queue-partitions', name: 'partitions', type: 'number', min: 1, max: 256,
    placeholder: '1' })),
  h('button', { id: 'create-queue', type: 'submit' }, 'Create queue'));
}

// ---- queue --------------------------------------------------------------------------------

function queuePage(name) {
  // A partition (queue#p) is read here but changed only through its queue: no actions.
  const partition = /#\d+$/.test(name);
  const settings = h('dl', { class: 'settings', id: 'queue-settings' });
  const stats = h('dl', { class: 'settings', id: 'queue-stats' });
  const consumers = h('tbody', { id: 'consumers' });
  const deadLetters = h('section', { id: 'dead-letters', hidden: true });
  const partitionRows = h('tbody', { id: 'partitions' });
  const partitionSection = h('section', { id: 'partitions-section', hidden: true }, h('h2', {}, 'Partitions'),
    h('table', {}, h('thead', {}, h('tr', {}, ['Partition', 'Depth', 'Bytes', 'Publish', 'Deliver', 'Member']
      .map((t, i) => h('th', { class: i && i < 5 ? 'num' : null }, t)))), partitionRows));
  fill(main,
    h('h1', {}, 'Queue ', h('span', { id: 'queue-name' }, name)),
    h('p', {}, h('a', { href: '#/messages/' + encodeURIComponent(name) }, 'Browse messages'), ' · ',
      h('button', { id: 'delete-queue', class: 'danger', type: 'button', hidden: partition,
        onclick: () => {
          if (!confirm('Delete queue ' + name + ' and all its messages?')) return;
          act('delete queue', () => api('DELETE', q(name))).then((done) => { if (done !== undefined) location.hash = '#/'; });
        } }, 'Delete queue'), ' ',
      h('button', { type: 'button', onclick: () => act('GC', () => api('POST', '/gc')) }, 'Run GC')),
    // On a dead-letter queue, what an operator came for comes first.
    deadLetters,
    h('section', {}, h('h2', {}, 'Figures'), stats),
    partitionSection,
    h('section', {}, h('h2', {}, 'Settings'), settings),
    h('section', { hidden: partition }, h('h2', {}, 'Publish a test message'), publishForm(name)),
    h('section', {}, h('h2', {}, 'Consumers'),
      h('table', {}, h('thead', {}, h('tr', {}, ['Consumer', 'Cursor', 'Committed', 'Lag', '', 'Lag age', 'In flight / prefetch',
        'Last activity', 'State', 'Actions'].map((t) => h('th', {}, t)))), consumers),
      partition ? h('p', { class: 'muted' }, 'A partition is changed through its queue.') : newConsumerForm(name)));

  return async () => {
    const [info, list, all] = await Promise.all([api('GET', q(name)), api('GET', q(name) + '/consumers'), api('GET', '/queues')]);
    const s = info.stats;
    fill(stats, ...pairs({
      depth: h('span', { id: 'queue-depth' }, fmtNumber(s.depth)), bytes: fmtBytes(s.bytes),
      sequences: s.firstSequence + ' … ' + s.lastSequence, published: fmtNumber(s.published), delivered: fmtNumber(s.delivered),
      acked: fmtNumber(s.acked), redelivered: fmtNumber(s.redelivered), expired: fmtNumber(s.expired),
      dropped: fmtNumber(s.dropped), 'dead-lettered': fmtNumber(s.deadLettered),
      'publish rate': fmtRate(s.publishRate), 'deliver rate': fmtRate(s.deliverRate),
    }));
    const st = info.settings;
    fill(settings, ...pairs({
      durability: st.durability, ttl: st.ttl ?? 'none', 'max length': st.maxLength || 'unbounded',
      'max bytes': st.maxBytes ? fmtBytes(st.maxBytes) : 'unbounded', overflow: st.overflow, retention: st.retention ?? 'none',
      'dead-letter': st.deadLetter ? st.deadLetter.queue + ' after ' + st.deadLetter.maxDeliveries + ' deliveries' : 'none',
      'dedup window': st.dedupWindow ?? 'none', partitions: h('span', { id: 'queue-partitions' }, String(st.partitions ?? 1)),
    }));
    partitionSection.hidden = !(st.partitions > 1);
    if (st.partitions > 1) {
      const parts = await Promise.all([...Array(st.partitions).keys()].map((p) => api('GET', q(name + '#' + p))));
      fill(partitionRows, parts.map((part) => h('tr', { 'data-partition': part.name },
        h('td', {}, h('a', { href: '#/queue/' + encodeURIComponent(part.name) }, part.name)),
        h('td', { class: 'num depth' }, fmtNumber(part.stats.depth)),
        h('td', { class: 'num' }, fmtBytes(part.stats.bytes)),
        h('td', { class: 'num' }, fmtRate(part.stats.publishRate)),
        h('td', { class: 'num' }, fmtRate(part.stats.deliverRate)),
        h('td', { class: 'member' }, hostPort(part.member)))));
    }
    const maxLag = Math.max(1, ...list.map((c) => c.lag));
    // Rebuilding the rows would wipe a seek target being typed: wait until the operator leaves them.
    if (!consumers.contains(document.activeElement)) {
      fill(consumers, list.length === 0 ? h('tr', {}, h('td', { colspan: 10, class: 'muted' }, 'No consumers.'))
        : list.map((c) => consumerRow(name, c, maxLag, partition)));
    }
    // A dead-letter queue is named by another queue, or holds dead-lettered messages (its source
    // may have been deleted since): the oldest retained message tells.
    const isDeadLetterQueue = all.some((x) => x.settings.deadLetter?.queue === name)
      || (await api('GET', q(name) + '/messages?limit=1')).some((m) => m.headers?.['x-death-queue']);
    deadLetters.hidden = !isDeadLetterQueue;
    if (isDeadLetterQueue) await fillDeadLetters(deadLetters, name);
  };
}

function pairs(obj) {
  return Object.entries(obj).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]);
}

function publishForm(name) {
  return h('form', {
    id: 'publish-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const form = e.target;
      const message = { payload: form.elements.payload.value, contentType: formValue(form, 'contentType') || 'text/plain' };
      if (formValue(form, 'type')) message.type = formValue(form, 'type');
      if (formValue(form, 'key')) message.key = formValue(form, 'key');
      const answer = await act('publish', () => api('POST', q(name) + '/messages', message));
      if (answer) say('published as sequence ' + answer.sequences.join(', '));
    },
  },
  h('label', {}, 'Type', h('input', { id: 'publish-type', name: 'type', placeholder: 'test.message' })),
  h('label', {}, 'Key', h('input', { name: 'key' })),
  h('label', {}, 'Content type', h('input', { name: 'contentType', value: 'text/plain' })),
  h('label', {}, 'Payload', h('textarea', { id: 'publish-payload', name: 'payload', rows: 2, cols: 40 })),
  h('button', { id: 'publish', type: 'submit' }, 'Publish'));
}

function consumerRow(queue, c, maxLag, readOnly) {
  const path = q(queue) + '/consumers/' + encodeURIComponent(c.name);
  const seekInput = h('input', { size: 12, placeholder: 'earliest', 'aria-label': 'seek to' });
  return h('tr', { 'data-consumer': c.name },
    h('td', {}, c.name),
    h('td', { class: 'num' }, fmtNumber(c.cursor)),
    h('td', { class: 'num' }, fmtNumber(c.committed)),
    h('td', { class: 'num lag' }, fmtNumber(c.lag)),
    h('td', {}, h('meter', { class: 'lagbar', min: 0, max: maxLag, value: c.lag, title: 'lag ' + c.lag })),
    h('td', { class: 'num' }, fmtMs(c.lagAgeMs)),
    h('td', { class: 'num' }, c.inFlight + ' / ' + (c.prefetch || '∞')),
    h('td', {}, fmtTime(c.lastActivity)),
    h('td', { class: 'state state-' + c.deliveryState }, DELIVERY_STATES[c.deliveryState] ?? c.deliveryState),
    readOnly ? h('td', {}) : h('td', {},
      c.paused
        ? h('button', { type: 'button', onclick: () => act('resume ' + c.name, () => api('POST', path + '/resume')) }, 'Resume')
        : h('button', { type: 'button', onclick: () => act('pause ' + c.name, () => api('POST', path + '/pause')) }, 'Pause'),
      ' ', seekInput,
      h('button', { type: 'button', onclick: () => act('seek ' + c.name, () => api('POST', path + '/seek', { to: seekInput.value.trim() || 'earliest' })) }, 'Seek'),
      ' ', h('button', { type: 'button', class: 'danger',
        onclick: () => confirm('Delete consumer ' + c.name + '?') && act('delete ' + c.name, () => api('DELETE', path)) }, 'Delete')));
}

function newConsumerForm(queue) {
  return h('form', {
    id: 'new-consumer-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const form = e.target;
      const name = formValue(form, 'name');
      const body = { startAt: formValue(form, 'startAt') };
      if (formValue(form, 'prefetch')) body.prefetch = Number(formValue(form, 'prefetch'));
      if (await act('create consumer ' + name, () => api('PUT', q(queue) + '/consumers/' + encodeURIComponent(name), body)) !== undefined) {
        form.reset();
      }
    },
  },
  h('label', {}, 'New consumer', h('input', { id: 'new-consumer-name', name: 'name', required: true })),
  h('label', {}, 'Start at', h('select', { id: 'new-consumer-start', name: 'startAt' },
    h('option', { value: 'earliest' }, 'earliest'), h('option', { value: 'latest' }, 'latest'))),
  h('label', {}, 'Prefetch', h('input', { name: 'prefetch', type: 'number', min: 1 })),
  h('button', { id: 'create-consumer', type: 'submit' }, 'Create consumer'));
}

async function fillDeadLetters(section, name) {
  const messages = await api('GET', q(name) + '/messages?limit=100');
  fill(section, h('h2', {}, 'Dead letters'),
    h('button', { type: 'button', onclick: () => act('redrive all', () => api('POST', q(name) + '/redrive', {})) }, 'Redrive all'),
    h('table', {}, h('thead', {}, h('tr', {}, ['Seq', 'From', 'Reason', 'Attempts', 'History', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, messages.map((m) => {
        const x = m.headers ?? {};
        return h('tr', { 'data-sequence': m.sequence },
          h('td', {}, h('a', { href: '#/message/' + encodeURIComponent(name) + '/' + m.sequence }, String(m.sequence))),
          h('td', {}, (x['x-death-queue'] ?? '?') + ' / ' + (x['x-death-consumer'] ?? '?')),
          h('td', {}, x['x-death-reason'] ?? '–'),
          h('td', { class: 'num' }, x['x-death-count'] ?? '–'),
          h('td', {}, h('ul', {}, (x['x-death-history'] ?? '').split('; ').filter(Boolean).map((a) => h('li', {}, a)))),
          h('td', {}, h('button', { type: 'button',
            onclick: () => act('redrive ' + m.sequence, () => api('POST', q(name) + '/redrive', { from: m.sequence, to: m.sequence })) }, 'Redrive')));
      }))));
}

// ---- messages -----------------------------------------------------------------------------

function messagesPage(name, from) {
  const tbody = h('tbody', { id: 'messages' });
  const fromInput = h('input', { name: 'from', type: 'number', min: 1, value: from ?? '' });
  fill(main,
    h('h1', {}, 'Messages in ', h('a', { href: '#/queue/' + encodeURIComponent(name) }, name)),
    h('form', { onsubmit: (e) => { e.preventDefault(); location.hash = '#/messages/' + encodeURIComponent(name) + '/' + (fromInput.value || ''); } },
      h('label', {}, 'From sequence', fromInput), h('button', { type: 'submit' }, 'Browse')),
    h('section', {}, h('table', {}, h('thead', {}, h('tr', {}, ['Seq', 'Time', 'Type', 'Key', 'Payload'].map((t) => h('th', {}, t)))), tbody)));
  return async () => {
    const list = await api('GET', q(name) + '/messages?limit=100' + (from ? '&from=' + encodeURIComponent(from) : ''));
    fill(tbody, list.length === 0 ? h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No retained messages here.')) : list.map((m) =>
      h('tr', { 'data-sequence': m.sequence },
        h('td', {}, h('a', { class: 'open-message', href: '#/message/' + encodeURIComponent(name) + '/' + m.sequence }, String(m.sequence))),
        h('td', {}, fmtTime(m.timestamp)), h('td', {}, m.type ?? ''), h('td', {}, m.key ?? ''),
        h('td', { class: 'payload' }, payloadText(m, 200)))));
  };
}

function payloadText(m, limit) {
  const text = m.payload ?? ('base64: ' + (m.payloadBase64 ?? ''));
  return limit && text.length > limit ? text.slice(0, limit) + '…' : text;
}

// What an untimed trace entry rests on: the consumer's position, or the trace cap that dropped older events.
function traceWhen(t) {
  if (t.at) return fmtTime(t.at);
  if (t.event === 'events-dropped') return 'older events dropped by the trace cap';
  return 'from its position';
}

function messagePage(name, sequence) {
  const details = h('dl', { class: 'settings', id: 'message-details' });
  const payload = h('pre', { class: 'payload', id: 'message-payload' });
  const trace = h('tbody', { id: 'trace' });
  fill(main,
    h('h1', {}, 'Message ', String(sequence), ' in ', h('a', { href: '#/queue/' + encodeURIComponent(name) }, name)),
    h('section', {}, details), h('section', {}, h('h2', {}, 'Payload'), payload),
    h('section', {}, h('h2', {}, 'Delivery trace'),
      h('table', {}, h('thead', {}, h('tr', {}, ['Event', 'Consumer', 'At', 'Attempt'].map((t) => h('th', {}, t)))), trace)));
  return async () => {
    const answer = await api('GET', q(name) + '/messages/' + encodeURIComponent(sequence));
    const m = answer.message;
    fill(details, ...pairs({ id: m.id, time: fmtTime(m.timestamp), producer: m.producerId ?? '–', type: m.type ?? '–',
      key: m.key ?? '–', 'content type': m.contentType ?? '–', expires: m.expiresAt ? fmtTime(m.expiresAt) : 'never',
      headers: Object.entries(m.headers ?? {}).map(([k, v]) => k + ': ' + v).join('\n') || '–' }));
    payload.textContent = payloadText(m);
    fill(trace, answer.trace.map((t) => h('tr', { class: 'trace-' + t.event },
      h('td', {}, t.event), h('td', {}, t.consumer ?? ''), h('td', { class: t.at ? '' : 'muted' }, traceWhen(t)),
      h('td', { class: 'num' }, t.attempt ? String(t.attempt) : ''))));
  };
}

// ---- events -------------------------------------------------------------------------------

function eventsPage() {
  const list = h('ul', { id: 'events-list' });
  const filter = h('input', { id: 'events-filter', placeholder: 'filter: type or text', size: 30 });
  const render = () => {
    const f = filter.value.trim().toLowerCase();
    const shown = events.filter((e) => !f || e.type.toLowerCase().includes(f) || e.text.toLowerCase().includes(f));
    fill(list, shown.slice().reverse().map((e) => h('li', { 'data-type': e.type }, fmtTime(e.received) + '  ' + e.type + '  ' + e.text)));
  };
  filter.addEventListener('input', render);
  fill(main, h('h1', {}, 'Events'), h('p', {}, filter, ' ', h('span', { class: 'muted' }, 'newest first, since this tab signed in')), list);
  eventListeners.add(render);
  render();
  return null;
}

// ---- routing ------------------------------------------------------------------------------

function route() {
  eventListeners.clear();
  let parts;
  try {
    parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  } catch (e) {
    say('not a console address: ' + location.hash, true);
    parts = [];
  }
  switch (parts[0]) {
    case 'queue': return queuePage(parts[1]);
    case 'messages': return messagesPage(parts[1], parts[2]);
    case 'message': return messagePage(parts[1], parts[2]);
    case 'events': return eventsPage();
    default: return overviewPage();
  }
}

async function refreshNow() {
  if (!currentRefresh) return;
  try {
    await currentRefresh();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      stop();
      signOut();
      signInPage();
      say('the token was refused: sign in again', true);
      return;
    }
    say((e instanceof ApiError ? e.code + ': ' : '') + e.message, true);
  }
}

function show() {
  currentRefresh = route();
  refreshNow();
}

function stop() {
  running = false;
  clearTimeout(refreshTimer);
  if (stopEvents) stopEvents();
  stopEvents = null;
  // the next sign-in in this tab starts without this session's events and chart
  events.length = 0;
  rates.labels.length = 0;
  rates.publish.length = 0;
  rates.deliver.length = 0;
}

/**
 * Refreshes every REFRESH_MS after the previous refresh finished (never piling up on a slow
 * server), and not at all while the tab is hidden.
 */
async function tick() {
  if (!running) return;
  if (!document.hidden) {
    await sampleRates();
    await refreshNow();
  }
  if (running) refreshTimer = setTimeout(tick, REFRESH_MS);
}

function start() {
  document.getElementById('nav').hidden = false;
  say('');
  stopEvents = subscribeEvents((e) => {
    events.push({ type: e.type, text: JSON.stringify(e.data), received: Date.now() });
    if (events.length > MAX_EVENTS) events.shift();
    eventListeners.forEach((f) => f());
  }, (state) => { document.body.dataset.events = state; });
  running = true;
  sampleRates();
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
if (token()) start(); else signInPage();
