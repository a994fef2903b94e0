// The overview: what is in trouble first (alarms, each queue's health with its reason), then
// memory, the rates over the last hour, the cluster, every queue and the dead-letter queues.
import { api, q } from './api.js';
import { h, fill, render, setText, fmtNumber, fmtBytes, fmtRate, fmtDuration, MIB } from './dom.js';
import { act, health, trend, section, timeChart, scroller, severity } from './ui.js';
import { keepHistories, queueHistory, summedRates } from './history.js';
import { identity, may } from './access.js';

export function overviewPage(main) {
  if (!may.view()) return ownQueuesPage(main);
  const alarms = h('ul', { id: 'alarm-list' });
  const alarmBanner = h('div', { id: 'alarms', class: 'alarms', role: 'region', 'aria-label': 'Alarms', hidden: true },
    h('h2', {}, 'Alarms'), alarms);
  const meter = h('meter', { id: 'memory-meter', min: 0, max: 1, value: 0, low: 0.8, high: 0.95, optimum: 0,
    'aria-label': 'Memory held, against the threshold' });
  const memoryText = h('span', { id: 'memory-text' });
  const rates = timeChart('rates-chart', 'Messages per second', 'Publish and deliver rates of all queues, per second, last hour',
    ['publish/s', 'deliver/s']);
  const members = h('tbody', { id: 'members' });
  const clusterSection = h('section', { id: 'cluster', hidden: true }, h('h2', {}, 'Cluster members'),
    scroller('Cluster members', h('table', {}, h('thead', {}, h('tr', {}, ['Member', 'Status', 'Reachable', 'Leader', 'Queues']
      .map((t, i) => h('th', { class: i === 4 ? 'num' : null, scope: 'col' }, t)))), members)));
  const tbody = h('tbody', { id: 'queues' });
  const memberHeader = h('th', { scope: 'col', class: 'member', hidden: true }, 'Member');
  const deadLetterList = h('ul', { id: 'dead-letter-queues', class: 'plain' });

  fill(main,
    h('h1', { tabindex: -1 }, 'Overview'),
    alarmBanner,
    section({ id: 'queues-section' }, 'Queues',
      h('table', { class: 'cards' }, h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Queue'), h('th', { scope: 'col' }, 'Status'),
        ['Depth', 'Publish', 'Deliver', 'Consumers', 'Worst lag', 'Bytes'].map((t) => h('th', { scope: 'col', class: 'num' }, t)),
        memberHeader)), tbody),
      may.admin() ? newQueueForm(refresh) : null),
    section({ id: 'dead-letter-section' }, 'Dead-letter queues', deadLetterList),
    section({ id: 'memory' }, 'Memory', h('p', {}, meter, ' ', memoryText), may.admin() ? [thresholdForm(refresh),
      h('p', {}, h('button', { id: 'gc', type: 'button', onclick: (e) => act(e.target, 'GC', () => api('POST', '/gc'),
        { success: (r) => 'GC done: ' + fmtNumber(r.freed) + ' messages freed', refresh }) }, 'Run GC'), ' ',
      h('span', { class: 'muted' }, 'frees, in every queue, what all consumers have acknowledged'))] : null),
    section({}, 'Rates, last hour (all queues)', rates.element),
    clusterSection);

  async function refresh(force) {
    const [queues, memory, lag, cluster, overall] = await Promise.all([api('GET', '/queues'), api('GET', '/stats/memory'),
      api('GET', '/stats/lag'), api('GET', '/cluster'), api('GET', '/health')]);
    const healthOf = new Map(overall.queues.map((x) => [x.queue, x]));
    const worst = worstLagByQueue(lag);
    fillAlarms(alarmBanner, alarms, overall.alarms, force);
    fillCluster(clusterSection, members, cluster);
    memberHeader.hidden = !cluster.enabled;
    // What is in trouble first: worst status, then by name.
    const ordered = queues.slice().sort((a, b) => severity(healthOf.get(a.name)) - severity(healthOf.get(b.name))
      || a.name.localeCompare(b.name));
    render(tbody, queues.length === 0 ? h('tr', {}, h('td', { colspan: 9, class: 'muted' }, 'No queues yet.'))
      : ordered.map((queue) => queueRow(queue, healthOf.get(queue.name), worst.get(queue.name), cluster.enabled)), force);
    const deadLetterQueues = overall.queues.filter((x) => x.deadLetterFor.length > 0);
    const depthOf = new Map(queues.map((x) => [x.name, x.stats.depth]));
    render(deadLetterList, deadLetterQueues.length === 0
      ? h('li', { class: 'muted' }, 'No dead-letter queues: no queue names one in its settings.')
      : deadLetterQueues.map((x) => h('li', { 'data-dlq': x.queue },
        h('a', { href: '#/dead-letters/' + encodeURIComponent(x.queue) }, x.queue), ': ',
        h('span', { class: 'dlq-depth' }, fmtNumber(depthOf.get(x.queue))), ' messages, dead letters of ',
        x.deadLetterFor.join(', '))), force);
    fillMemory(meter, memoryText, memory);
    keepHistories(queues.map((x) => x.name));
    const histories = await inTurns(queues.map((x) => () => queueHistory(x.name)), HISTORY_REQUESTS);
    const summed = summedRates(histories);
    rates.update(summed.map((s) => s.at), [summed.map((s) => s.publish), summed.map((s) => s.deliver)]);
  }
  return { title: 'Overview', refresh };
}

/**
 * The overview of a producer or consumer token, which may not list the service's queues: the
 * queues it works on, by pattern, and a field to open one.
 */
function ownQueuesPage(main) {
  const me = identity();
  const name = h('input', { id: 'open-queue-name', name: 'queue', required: true, autocomplete: 'off' });
  fill(main,
    h('h1', { tabindex: -1 }, 'Overview'),
    section({ id: 'own-queues' }, 'Your queues',
      h('p', {}, me.name + ' may ' + me.roles.map((r) => ROLE_WORDS[r] ?? r).join(' and ') + ' the queues matching ',
        h('code', {}, me.queues.join(', ')), '; it may not list every queue or see service-wide figures.'),
      h('form', { id: 'open-queue-form', onsubmit: (e) => {
        e.preventDefault();
        location.hash = '#/queue/' + encodeURIComponent(name.value.trim());
      } }, h('label', {}, 'Queue', name), h('button', { id: 'open-queue', type: 'submit' }, 'Open'))));
  return { title: 'Overview', refresh: null };
}

const ROLE_WORDS = { producer: 'publish to', consumer: 'consume from' };

/** At most this many history requests at once: a service with hundreds of queues gets no request storm. */
const HISTORY_REQUESTS = 4;

/** Runs {@code tasks} (functions returning promises) at most {@code width} at a time; resolves to their results in order. */
async function inTurns(tasks, width) {
  const results = new Array(tasks.length);
  let next = 0;
  async function worker() {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, worker));
  return results;
}

function queueRow(queue, state, worstLag, clustered) {
  const deadLetterFor = state?.deadLetterFor ?? [];
  return h('tr', { 'data-queue': queue.name, class: deadLetterFor.length ? 'dlq' : null },
    h('td', { 'data-label': 'Queue' }, h('a', { href: '#/queue/' + encodeURIComponent(queue.name) }, queue.name),
      deadLetterFor.length ? [' ', h('span', { class: 'tag dlq-tag', title: 'dead letters of ' + deadLetterFor.join(', ') },
        'dead-letter queue')] : null),
    h('td', { 'data-label': 'Status', class: 'status' }, health(state)),
    h('td', { 'data-label': 'Depth', class: 'num depth' }, fmtNumber(queue.stats.depth)),
    h('td', { 'data-label': 'Publish', class: 'num' }, fmtRate(queue.stats.publishRate)),
    h('td', { 'data-label': 'Deliver', class: 'num' }, fmtRate(queue.stats.deliverRate)),
    h('td', { 'data-label': 'Consumers', class: 'num' }, fmtNumber(queue.stats.consumers)),
    h('td', { 'data-label': 'Worst lag', class: 'num' }, h('span', { class: 'worst-lag' }, worstLag ?? '–'), ' ',
      worstLag === undefined ? null : trend(state?.lagTrend)),
    h('td', { 'data-label': 'Bytes', class: 'num' }, fmtBytes(queue.stats.bytes)),
    h('td', { 'data-label': 'Member', class: 'member', hidden: !clustered }, hostPort(queue.member)));
}

function fillAlarms(banner, list, alarms, force) {
  banner.hidden = alarms.length === 0;
  render(list, alarms.map((a) => h('li', { class: 'alarm alarm-' + a.severity, 'data-kind': a.kind },
    h('strong', {}, a.severity === 'critical' ? 'Critical: ' : 'Warning: '), a.message,
    a.queue ? [' — ', h('a', { href: '#/queue/' + encodeURIComponent(a.queue) }, a.queue)] : null)), force);
}

function fillMemory(meter, text, memory) {
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
  setText(text, fmtBytes(memory.totalBytes) + ' in ' + fmtNumber(memory.totalMessages) + ' messages, threshold '
    + (threshold > 0 ? fmtBytes(threshold) : 'none') + (memory.underPressure ? ' — UNDER PRESSURE' : ''));
}

/** The threshold typed in a unit of the operator's choice (MiB by default), as it is shown. */
function thresholdForm(refresh) {
  const amount = h('input', { id: 'threshold-amount', name: 'amount', type: 'number', min: 0, step: 'any', required: true });
  const unit = h('select', { id: 'threshold-unit', name: 'unit' },
    h('option', { value: 1024 }, 'KiB'), h('option', { value: MIB, selected: true }, 'MiB'), h('option', { value: 1024 * MIB }, 'GiB'));
  return h('form', {
    id: 'threshold-form',
    onsubmit: (e) => {
      e.preventDefault();
      const bytes = Math.round(Number(amount.value) * Number(unit.value));
      act(e.target, 'set memory threshold', () => api('PUT', '/stats/memory/threshold', { bytes }),
        { success: () => 'threshold set to ' + (bytes ? fmtBytes(bytes) : 'none'), refresh });
    },
  }, h('label', {}, 'Threshold (0 for none)', amount), h('label', {}, 'Unit', unit),
  h('button', { type: 'submit' }, 'Set threshold'));
}

/** The members of a cluster, with their status; the section stays hidden on a standalone service. */
function fillCluster(section, tbody, cluster) {
  section.hidden = !cluster.enabled;
  if (!cluster.enabled) return;
  render(tbody, cluster.members.map((m) => h('tr', { 'data-member': m.address, class: m.reachable ? null : 'unreachable' },
    h('td', {}, hostPort(m.address), m.address === cluster.self ? ' (this one)' : ''),
    h('td', { class: 'member-status' }, m.status),
    h('td', {}, m.reachable ? 'yes' : 'NO'),
    h('td', {}, m.leader ? 'leader' : ''),
    h('td', { class: 'num' }, m.queues < 0 ? '?' : fmtNumber(m.queues)))));
}

/** host:port of a member's address (pekko://spool@host:port); a partitioned queue's members, each so. */
export function hostPort(address) {
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

const TTL_UNITS = { S: 'seconds', M: 'minutes', H: 'hours', D: 'days' };

function newQueueForm(refresh) {
  const ttl = h('input', { id: 'new-queue-ttl', name: 'ttl', type: 'number', min: 1 });
  const ttlUnit = h('select', { name: 'ttlUnit', 'aria-label': 'TTL unit' },
    Object.entries(TTL_UNITS).map(([k, v]) => h('option', { value: k, selected: k === 'M' }, v)));
  return h('form', {
    id: 'new-queue-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const form = e.target;
      const value = (n) => form.elements[n].value.trim();
      const name = value('name');
      const settings = {};
      if (value('durability')) settings.durability = value('durability');
      if (value('ttl')) settings.ttl = (ttlUnit.value === 'D' ? 'P' + value('ttl') + 'D' : 'PT' + value('ttl') + ttlUnit.value);
      if (value('deadLetter')) settings.deadLetter = { queue: value('deadLetter'), maxDeliveries: 5 };
      if (value('partitions')) settings.partitions = Number(value('partitions'));
      const done = await act(form, 'create queue ' + name, () => api('PUT', q(name), settings), {
        success: (r) => 'queue ' + name + ' created' + (r.settings?.ttl ? ', messages expire after ' + fmtDuration(r.settings.ttl) : ''),
        refresh,
      });
      if (done !== undefined) form.reset();
    },
  },
  h('label', {}, 'New queue', h('input', { id: 'new-queue-name', name: 'name', required: true, autocomplete: 'off' })),
  h('label', {}, 'Durability', h('select', { name: 'durability' }, h('option', { value: '' }, 'default'),
    h('option', { value: 'transient' }, 'transient'), h('option', { value: 'persistent' }, 'persistent'))),
  h('span', { class: 'pair' }, h('label', {}, 'TTL', ttl), ttlUnit),
  h('label', {}, 'Dead-letter queue', h('input', { name: 'deadLetter', autocomplete: 'off' })),
  h('label', {}, 'Partitions', h('input', { id: 'new-queue-partitions', name: 'partitions', type: 'number', min: 1, max: 256,
    placeholder: '1' })),
  h('button', { id: 'create-queue', type: 'submit' }, 'Create queue'));
}
