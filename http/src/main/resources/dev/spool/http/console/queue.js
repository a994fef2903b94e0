// A queue's page: its consumers first, each with its health and counters and its actions, then the
// queue's and the consumers' history, its figures, settings and partitions; deleting it last.
import { api, q } from './api.js';
import { h, fill, render, hidden, fmtNumber, fmtBytes, fmtRate, fmtMs, fmtDuration, timeEl } from './dom.js';
import { act, health, badge, trend, section, timeChart, tell, describe, confirmAction, navigate, scroller } from './ui.js';
import { queueHistory } from './history.js';
import { hostPort } from './overview.js';
import { may } from './access.js';

/** What the engine's delivery state means, in words; the health reason says whether it is a problem. */
const DELIVERY_STATES = {
  'delivering': 'delivering to a subscriber',
  'caught-up': 'caught up: every retained message has been delivered',
  'no-subscribers': 'no subscriber attached: messages wait for a read',
  'credit-exhausted': 'prefetch used up by unacknowledged deliveries',
  'paused': 'paused by an operator',
  'backoff': 'only redeliveries in their backoff remain',
  'breaker-open': 'the handler\'s circuit breaker is open',
};

export function queuePage(main, name) {
  // A partition (queue#p) is read here but changed only through its queue: no actions. Its health
  // and history are its queue's.
  const partition = /#\d+$/.test(name);
  const queue = name.replace(/#\d+$/, '');
  // Only what the token may do is shown (access.js); the server checks every request anyway.
  const canSteer = !partition && may.consume(queue);
  const canAdmin = !partition && may.admin();
  const canPublish = !partition && may.publish(queue);
  const queueHealth = h('p', { id: 'queue-health' });
  const links = h('p', { class: 'links' });
  const consumers = h('tbody', { id: 'consumers' });
  const stats = h('dl', { class: 'settings', id: 'queue-stats' });
  const settings = h('dl', { class: 'settings', id: 'queue-settings' });
  const partitionRows = h('tbody', { id: 'partitions' });
  const partitionSection = h('section', { id: 'partitions-section', hidden: true }, h('h2', {}, 'Partitions'),
    scroller('Partitions', h('table', {}, h('thead', {}, h('tr', {}, ['Partition', 'Depth', 'Bytes', 'Publish', 'Deliver', 'Member']
      .map((t, i) => h('th', { scope: 'col', class: i && i < 5 ? 'num' : null }, t)))), partitionRows)));
  const depthChart = timeChart('depth-chart', 'Messages held', 'Depth and in-flight messages of ' + queue + ', last hour', ['depth', 'in flight']);
  const rateChart = timeChart('queue-rates-chart', 'Messages per second', 'Publish and deliver rates of ' + queue + ', per second, last hour',
    ['publish/s', 'deliver/s']);
  const lagChart = timeChart('lag-chart', 'Lag per consumer', 'Lag of each consumer of ' + queue + ', last hour', []);
  const ackChart = timeChart('ack-chart', 'Acknowledgements per second, per consumer', 'Acknowledgements per second of each consumer of ' + queue + ', last hour', []);
  let deleted = false;

  fill(main,
    h('h1', { tabindex: -1 }, 'Queue ', h('span', { id: 'queue-name' }, name)),
    queueHealth,
    links,
    section({ id: 'consumers-section' }, 'Consumers',
      scroller('Consumers', h('table', { class: 'cards consumers' }, h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Consumer'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Lag'),
        ['Lag age', 'In flight / prefetch', 'Nacked', 'Redelivered', 'Dead-lettered', 'Errors']
          .map((t) => h('th', { scope: 'col', class: 'num' }, t)),
        h('th', { scope: 'col' }, 'Last activity'), h('th', { scope: 'col' }, canSteer || canAdmin ? 'Actions' : hidden('Actions')))),
      consumers)),
      partition ? h('p', { class: 'muted' }, 'A partition is changed through its queue.') : null,
      canSteer ? newConsumerForm(name, refresh) : null),
    section({ id: 'history' }, 'History, last hour',
      h('div', { class: 'charts' }, depthChart.element, rateChart.element, lagChart.element, ackChart.element)),
    section({}, 'Figures', stats),
    partitionSection,
    section({}, 'Settings', settings),
    canPublish ? section({}, 'Publish a test message', publishForm(name, refresh)) : null,
    !canAdmin ? null : section({ id: 'danger' }, 'Delete',
      h('p', {}, h('button', { id: 'delete-queue', class: 'danger', type: 'button', onclick: (e) => deleteQueue(e.target) },
        'Delete queue'), ' ', h('span', { class: 'muted' }, 'deletes the queue, its messages and its consumers'))));

  async function deleteQueue(button) {
    let info;
    try {
      info = await api('GET', q(name));
    } catch (e) {
      tell(button, 'delete queue ' + name + ' failed: ' + describe(e), true);
      return;
    }
    if (!await confirmAction('Delete queue ' + name + '?', 'The queue, its ' + fmtNumber(info.stats.depth)
      + ' messages and its ' + fmtNumber(info.stats.consumers) + ' consumers are deleted. This cannot be undone.',
    'Delete queue')) return;
    // No refresh of this page after the delete: it would only find the queue gone.
    deleted = true;
    const done = await act(button, 'delete queue ' + name, () => api('DELETE', q(name)));
    if (done === undefined) deleted = false;
    else navigate('#/', 'queue ' + name + ' deleted');
  }

  async function refresh(force) {
    if (deleted) return;
    const [info, list, state, history] = await Promise.all([api('GET', q(name)), api('GET', q(name) + '/consumers'),
      api('GET', q(queue) + '/health'), queueHistory(queue)]);
    if (deleted) return;
    render(queueHealth, [health(state, true),
      state.deadLetterFor.length ? [' ', h('span', { class: 'tag dlq-tag' }, 'dead-letter queue of ' + state.deadLetterFor.join(', '))] : null],
    force);
    const messagesLink = (target, text) => h('a', { href: '#/messages/' + encodeURIComponent(target) }, text);
    // A partitioned queue is browsed partition by partition: each numbers its messages on its own.
    const partitions = info.settings.partitions ?? 1;
    render(links, [partitions > 1
      ? ['Browse messages in ', [...Array(partitions).keys()].flatMap((p) => [p ? ', ' : '', messagesLink(name + '#' + p, name + '#' + p)])]
      : messagesLink(name, 'Browse messages'),
      state.deadLetterFor.length ? [' · ', h('a', { id: 'open-dead-letters', href: '#/dead-letters/' + encodeURIComponent(name) },
        'Dead letters (' + fmtNumber(info.stats.depth) + ')')] : null,
      info.settings.deadLetter ? [' · dead-letters to ', h('a', { href: '#/dead-letters/' + encodeURIComponent(info.settings.deadLetter.queue) },
        info.settings.deadLetter.queue)] : null], force);
    const healthOf = new Map(state.consumers.map((c) => [c.consumer, c]));
    // A consumer's lag against what the queue holds: nothing read is the worst, and shows red.
    const scale = Math.max(1, info.stats.depth, ...list.map((c) => c.lag));
    render(consumers, list.length === 0 ? h('tr', {}, h('td', { colspan: 11, class: 'muted' }, 'No consumers.'))
      : list.map((c) => consumerRow(name, c, healthOf.get(c.name), scale, { steer: canSteer, remove: canAdmin }, refresh)), force);
    const s = info.stats;
    render(stats, pairs({
      depth: h('span', { id: 'queue-depth' }, fmtNumber(s.depth)), bytes: fmtBytes(s.bytes),
      sequences: s.firstSequence + ' … ' + s.lastSequence, published: fmtNumber(s.published), delivered: fmtNumber(s.delivered),
      acked: fmtNumber(s.acked), redelivered: fmtNumber(s.redelivered), expired: fmtNumber(s.expired),
      dropped: fmtNumber(s.dropped), 'dead-lettered': fmtNumber(s.deadLettered),
      'publish rate': fmtRate(s.publishRate), 'deliver rate': fmtRate(s.deliverRate),
    }), force);
    const st = info.settings;
    render(settings, pairs({
      durability: st.durability, ttl: fmtDuration(st.ttl), 'max length': st.maxLength ? fmtNumber(st.maxLength) : 'unbounded',
      'max bytes': st.maxBytes ? fmtBytes(st.maxBytes) : 'unbounded', overflow: st.overflow, retention: fmtDuration(st.retention),
      'dead-letter': st.deadLetter ? st.deadLetter.queue + ' after ' + st.deadLetter.maxDeliveries + ' deliveries' : 'none',
      'dedup window': fmtDuration(st.dedupWindow), partitions: h('span', { id: 'queue-partitions' }, String(st.partitions ?? 1)),
      'max priority': st.maxPriority ? String(st.maxPriority) : 'none',
    }), force);
    partitionSection.hidden = !(st.partitions > 1);
    if (st.partitions > 1) {
      const parts = await Promise.all([...Array(st.partitions).keys()].map((p) => api('GET', q(name + '#' + p))));
      render(partitionRows, parts.map((part) => h('tr', { 'data-partition': part.name },
        h('td', {}, h('a', { href: '#/queue/' + encodeURIComponent(part.name) }, part.name)),
        h('td', { class: 'num depth' }, fmtNumber(part.stats.depth)),
        h('td', { class: 'num' }, fmtBytes(part.stats.bytes)),
        h('td', { class: 'num' }, fmtRate(part.stats.publishRate)),
        h('td', { class: 'num' }, fmtRate(part.stats.deliverRate)),
        h('td', { class: 'member' }, hostPort(part.member)))), force);
    }
    drawHistory(history);
  }

  function drawHistory(history) {
    const times = history.samples.map((s) => s.at);
    depthChart.update(times, [history.samples.map((s) => s.depth), history.samples.map((s) => s.inFlight)]);
    rateChart.update(times, [history.samples.map((s) => s.publishRate), history.samples.map((s) => s.deliverRate)]);
    const names = [...history.consumers.keys()].sort();
    const column = (field) => names.map((c) => alignTo(times, history.consumers.get(c), field, history.intervalMs));
    lagChart.update(times, column('lag'), names);
    ackChart.update(times, column('ackRate'), names.map((c) => c + ' acks/s'));
  }

  return { title: name, refresh };
}

/** A consumer's samples placed on the queue's timeline (the same janitor tick, a few ms apart); gaps as null. */
function alignTo(times, samples, field, intervalMs) {
  const byTick = new Map(samples.map((s) => [Math.round(s.at / intervalMs), s[field]]));
  return times.map((t) => byTick.get(Math.round(t / intervalMs)) ?? null);
}

function pairs(obj) {
  return Object.entries(obj).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]);
}

/** allowed: { steer, remove }, whether the token may pause, resume and seek, and delete the consumer. */
function consumerRow(queue, c, state, scale, allowed, refresh) {
  const path = q(queue) + '/consumers/' + encodeURIComponent(c.name);
  const label = (what) => what + ' of ' + c.name;
  // Shown under the health reason unless the reason already says it.
  const deliveryState = DELIVERY_STATES[c.deliveryState] ?? c.deliveryState;
  return h('tr', { 'data-consumer': c.name, class: state ? 'status-row-' + state.status : null },
    h('th', { scope: 'row', 'data-label': 'Consumer', class: 'name' }, c.name, c.push ? pushLine(c) : null),
    h('td', { 'data-label': 'Status', class: 'status' }, state ? health(state) : badge(c.paused ? 'paused' : undefined),
      h('div', { class: 'state muted state-' + c.deliveryState, hidden: state?.reason.includes(deliveryState) },
        deliveryState)),
    h('td', { 'data-label': 'Lag', class: 'lag-cell' },
      h('span', { class: 'num lag' }, fmtNumber(c.lag)), ' ', trend(state?.lagTrend), ' ',
      h('meter', { class: 'lagbar', min: 0, max: scale, value: c.lag, optimum: 0, low: scale * 0.25, high: scale * 0.75,
        'aria-label': label('lag') + ': ' + c.lag + ' of ' + scale + ' messages' })),
    h('td', { 'data-label': 'Lag age', class: 'num' }, fmtMs(c.lagAgeMs)),
    h('td', { 'data-label': 'In flight / prefetch', class: 'num' }, c.inFlight + ' / ' + (c.prefetch || '∞')),
    h('td', { 'data-label': 'Nacked', class: 'num nacked' }, fmtNumber(c.nacked)),
    h('td', { 'data-label': 'Redelivered', class: 'num redelivered' }, fmtNumber(c.redelivered)),
    h('td', { 'data-label': 'Dead-lettered', class: 'num dead-lettered' }, fmtNumber(c.deadLettered)),
    h('td', { 'data-label': 'Errors', class: 'num errors' }, fmtNumber(c.errors)),
    h('td', { 'data-label': 'Last activity' }, timeEl(c.lastActivity)),
    allowed.steer || allowed.remove
      ? h('td', { 'data-label': 'Actions', class: 'actions' }, consumerActions(c, path, label, allowed, refresh)) : h('td', {}));
}

/** A push consumer's endpoint and state: where it pushes, what is in flight, its last failure and next retry. */
function pushLine(c) {
  const p = c.push;
  const endpoint = c.settings?.push?.endpoint ?? '';
  let host = endpoint;
  try { host = new URL(endpoint).host; } catch { /* shown as given */ }
  return h('div', { class: 'push muted', title: endpoint },
    'pushes to ', h('span', { class: 'push-host' }, host),
    p.active ? ' · ' + fmtNumber(p.inFlight) + ' in flight' : ' · not pushing in this process',
    p.lastError ? h('div', { class: 'push-error' }, 'last error ', timeEl(p.lastErrorAt), ': ', p.lastError,
      p.nextRetryAt ? h('span', {}, ' · retry ', timeEl(p.nextRetryAt)) : null) : null);
}

function consumerActions(c, path, label, allowed, refresh) {
  const where = h('select', { 'aria-label': label('seek to'), 'data-key': 'seek-where-' + c.name },
    h('option', { value: 'sequence' }, 'sequence'), h('option', { value: 'earliest' }, 'earliest'),
    h('option', { value: 'latest' }, 'latest'));
  const sequence = h('input', { type: 'number', min: 0, class: 'seek-sequence', 'aria-label': label('sequence to seek to'),
    'data-key': 'seek-sequence-' + c.name });
  // The feedback goes to the consumers' section, which stays while a refresh replaces the rows and their buttons.
  const seek = async (button) => {
    const section = button.closest('section');
    let to = where.value;
    if (to === 'sequence') {
      if (sequence.value.trim() === '') {
        tell(section, 'seek ' + c.name + ': type a sequence, or choose earliest or latest', true);
        sequence.focus();
        return;
      }
      to = 'sequence:' + sequence.value.trim();
    } else if (to === 'earliest' && !await confirmAction('Rewind ' + c.name + ' to the earliest message?',
      c.name + ' will receive again every retained message, from the oldest on.', 'Rewind')) {
      return;
    }
    act(section, 'seek ' + c.name, () => api('POST', path + '/seek', { to }),
      { success: (r) => c.name + ' now at sequence ' + fmtNumber(r.cursor) + ', lag ' + fmtNumber(r.lag), refresh });
  };
  const remove = async (button) => {
    const section = button.closest('section');
    if (!await confirmAction('Delete consumer ' + c.name + '?', c.name + ' and its position are deleted; its '
      + fmtNumber(c.inFlight) + ' unacknowledged deliveries go back to the queue for other consumers.', 'Delete consumer')) return;
    act(section, 'delete consumer ' + c.name, () => api('DELETE', path), { success: () => 'consumer ' + c.name + ' deleted', refresh });
  };
  const steer = [
    c.paused
      ? h('button', { type: 'button', class: 'resume', 'data-key': 'pause-' + c.name,
        onclick: (e) => act(e.target, 'resume ' + c.name, () => api('POST', path + '/resume'),
          { success: () => c.name + ' resumed', refresh }) }, 'Resume')
      : h('button', { type: 'button', class: 'pause', 'data-key': 'pause-' + c.name,
        onclick: (e) => act(e.target, 'pause ' + c.name, () => api('POST', path + '/pause'),
          { success: () => c.name + ' paused', refresh }) }, 'Pause'),
    h('span', { class: 'seek' }, where, sequence,
      h('button', { type: 'button', class: 'seek-button', 'data-key': 'seek-' + c.name, onclick: (e) => seek(e.target) }, 'Seek')),
  ];
  return [
    allowed.steer ? steer : null,
    allowed.remove ? h('button', { type: 'button', class: 'danger delete-consumer', 'data-key': 'delete-' + c.name,
      onclick: (e) => remove(e.target) }, 'Delete') : null,
  ];
}

function newConsumerForm(queue, refresh) {
  return h('form', {
    id: 'new-consumer-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const form = e.target;
      const value = (n) => form.elements[n].value.trim();
      const name = value('name');
      const body = { startAt: value('startAt') };
      if (value('prefetch')) body.prefetch = Number(value('prefetch'));
      const done = await act(form, 'create consumer ' + name,
        () => api('PUT', q(queue) + '/consumers/' + encodeURIComponent(name), body),
        { success: () => 'consumer ' + name + ' created', refresh });
      if (done !== undefined) form.reset();
    },
  },
  h('label', {}, 'New consumer', h('input', { id: 'new-consumer-name', name: 'name', required: true, autocomplete: 'off' })),
  h('label', {}, 'Start at', h('select', { id: 'new-consumer-start', name: 'startAt' },
    h('option', { value: 'earliest' }, 'earliest'), h('option', { value: 'latest' }, 'latest'))),
  h('label', {}, 'Prefetch', h('input', { name: 'prefetch', type: 'number', min: 1 })),
  h('button', { id: 'create-consumer', type: 'submit' }, 'Create consumer'));
}

function publishForm(name, refresh) {
  return h('form', {
    id: 'publish-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const form = e.target;
      const value = (n) => form.elements[n].value.trim();
      const message = { payload: form.elements.payload.value, contentType: value('contentType') || 'text/plain' };
      if (value('type')) message.type = value('type');
      if (value('key')) message.key = value('key');
      await act(form, 'publish', () => api('POST', q(name) + '/messages', message),
        { success: (r) => 'published as sequence ' + r.sequences.join(', '), refresh });
    },
  },
  h('label', {}, 'Type', h('input', { id: 'publish-type', name: 'type', placeholder: 'test.message' })),
  h('label', {}, 'Key', h('input', { name: 'key' })),
  h('label', {}, 'Content type', h('input', { name: 'contentType', value: 'text/plain' })),
  h('label', {}, 'Payload', h('textarea', { id: 'publish-payload', name: 'payload', rows: 2, cols: 40 })),
  h('button', { id: 'publish', type: 'submit' }, 'Publish'));
}
