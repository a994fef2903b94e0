// The dead letters of a dead-letter queue, one line each: where from and why, with paging, a filter
// by reason, and redrive of a selection or of everything. The messages are fetched when the page
// opens, pages or acts; the two-second refresh only updates the count.
import { api, q } from './api.js';
import { h, fill, render, setText, hidden, fmtNumber, timeEl } from './dom.js';
import { act, tell, describe, confirmAction, feedbackLine, scroller } from './ui.js';
import { browse, pager } from './browse.js';
import { payloadPreview } from './messages.js';
import { may } from './access.js';

const PAGE = 50;

/** Every dead-letter queue, with what it holds and whose it is. */
export function deadLetterQueuesPage(main) {
  const list = h('ul', { id: 'dead-letter-queues', class: 'plain' });
  fill(main, h('h1', { tabindex: -1 }, 'Dead-letter queues'), h('section', {}, list));
  async function refresh(force) {
    const [overall, queues] = await Promise.all([api('GET', '/health'), api('GET', '/queues')]);
    const depthOf = new Map(queues.map((x) => [x.name, x.stats.depth]));
    const dlqs = overall.queues.filter((x) => x.deadLetterFor.length > 0);
    render(list, dlqs.length === 0 ? h('li', { class: 'muted' }, 'No queue names a dead-letter queue.')
      : dlqs.map((x) => h('li', { 'data-dlq': x.queue }, h('a', { href: '#/dead-letters/' + encodeURIComponent(x.queue) }, x.queue),
        ': ', fmtNumber(depthOf.get(x.queue)), ' messages, dead letters of ', x.deadLetterFor.join(', '))), force);
  }
  return { title: 'Dead-letter queues', refresh };
}

export function deadLettersPage(main, name) {
  // Redrive is an admin's: other tokens see the dead letters without the selection and its buttons.
  const canRedrive = may.admin();
  const count = h('span', { id: 'dlq-count' });
  const sources = h('span', { id: 'dlq-sources' });
  const rows = h('tbody', { id: 'dead-letter-rows' });
  const summary = h('p', { id: 'reason-summary', class: 'muted' });
  const reason = h('select', { id: 'reason-filter', name: 'reason' });
  const selectAll = h('input', { type: 'checkbox', id: 'select-page' });
  const redriveSelected = h('button', { type: 'button', id: 'redrive-selected', disabled: true }, 'Redrive selected');
  const redriveAll = h('button', { type: 'button', id: 'redrive-all', class: 'danger' }, 'Redrive all');
  const pages = pager('dlq-pager', (position) => load(position));
  let position = { direction: 'forward' };
  let deadLetterFor = [];
  let shown = [];
  /** Numbers the page loads, so that only the newest one's answer is shown. */
  let loads = 0;
  /** The queue's last sequence when the page was loaded: a refresh that finds another reloads it. */
  let heldWhenLoaded = 0;

  fillReasons('', []);
  reason.addEventListener('change', () => load({ direction: 'forward' }));
  selectAll.addEventListener('change', () => {
    rows.querySelectorAll('input.select').forEach((box) => { box.checked = selectAll.checked; });
    updateSelection();
  });
  rows.addEventListener('change', updateSelection);
  redriveSelected.addEventListener('click', () => redrive(true));
  redriveAll.addEventListener('click', () => redrive(false));

  fill(main,
    h('h1', { tabindex: -1 }, 'Dead letters in ', h('a', { href: '#/queue/' + encodeURIComponent(name) }, name)),
    h('p', {}, count, ' ', sources),
    h('section', { id: 'dead-letters' }, h('h2', { class: 'visually-hidden' }, 'Messages'), feedbackLine(),
      h('div', { class: 'toolbar' }, h('label', {}, 'Reason', reason),
        canRedrive ? [h('label', { class: 'check' }, selectAll, 'Select this page'), redriveSelected, redriveAll] : null),
      summary,
      scroller('Dead letters', h('table', { class: 'one-line cards' }, h('thead', {}, h('tr', {},
        canRedrive ? h('th', { scope: 'col' }, hidden('Select')) : null,
        ['Seq', 'Dead-lettered', 'Source', 'Reason', 'Attempts', 'Type', 'Payload'].map((t, i) =>
          h('th', { scope: 'col', class: i === 4 ? 'num' : null }, t)))), rows)),
      pages.element));

  function fillReasons(selected, seen) {
    const all = [...new Set([...seen, ...(selected ? [selected] : [])])];
    fill(reason, h('option', { value: '' }, 'all reasons'), all.map((r) => h('option', { value: r, selected: r === selected }, r)));
  }

  function selected() {
    return [...rows.querySelectorAll('input.select:checked')].map((box) => Number(box.value));
  }

  function updateSelection() {
    const n = selected().length;
    redriveSelected.disabled = n === 0;
    redriveSelected.textContent = n ? 'Redrive selected (' + n + ')' : 'Redrive selected';
  }

  /** Loads a page; a failure is told in the section, where the page's content would be. */
  async function load(to) {
    try {
      await loadPage(to);
    } catch (e) {
      tell(rows, 'loading the dead letters failed: ' + describe(e), true);
    }
  }

  async function loadPage(to) {
    position = to;
    const mine = ++loads; // an older answer arriving late must not replace a newer page
    const [answer, reasons, origins] = await Promise.all([
      browse(name, { ...position, limit: PAGE, header: reason.value ? 'x-death-reason:' + reason.value : '' }),
      api('GET', q(name) + '/headers/x-death-reason'), api('GET', q(name) + '/headers/x-death-queue')]);
    if (mine !== loads) return;
    shown = answer.messages;
    heldWhenLoaded = answer.lastSequence;
    fillReasons(reason.value, Object.keys(reasons.values));
    fillGroups(reasons, origins);
    fill(rows, shown.length === 0
      ? h('tr', {}, h('td', { colspan: canRedrive ? 8 : 7, class: 'muted' }, 'No dead letters ' + (reason.value ? 'for this reason ' : '') + 'here.'))
      : shown.map(row));
    selectAll.checked = false;
    updateSelection();
    pages.update(answer, PAGE);
  }

  /** The dead letters grouped by reason (each a filter) and by source queue, over the newest the server counted. */
  function fillGroups(reasons, origins) {
    const groups = Object.entries(reasons.values).sort((a, b) => b[1] - a[1]);
    const sourcesCounted = Object.entries(origins.values).sort((a, b) => b[1] - a[1]);
    fill(summary, groups.length === 0 ? 'No dead letters here.' : [
      'By reason: ', groups.flatMap(([r, n], i) => [i ? ', ' : '',
        h('button', { type: 'button', class: 'link reason-group', 'data-reason': r, 'aria-pressed': String(reason.value === r),
          onclick: () => { reason.value = reason.value === r ? '' : r; load({ direction: 'forward' }); } }, r + ' (' + fmtNumber(n) + ')')]),
      sourcesCounted.length ? ['. From: ', sourcesCounted.map(([x, n]) => x + ' (' + fmtNumber(n) + ')').join(', ')] : null,
      reasons.complete ? '.' : ', among the newest ' + fmtNumber(reasons.scanned) + ' messages.']);
  }

  function row(m) {
    const x = m.headers ?? {};
    const sourceQueue = x['x-death-queue'];
    const sourceSequence = x['x-death-sequence'];
    return h('tr', { 'data-sequence': m.sequence },
      canRedrive ? h('td', { 'data-label': 'Select' }, h('input', { type: 'checkbox', class: 'select', value: m.sequence, 'aria-label': 'select message ' + m.sequence })) : null,
      h('td', { 'data-label': 'Seq' }, h('a', { href: '#/message/' + encodeURIComponent(name) + '/' + m.sequence }, String(m.sequence))),
      h('td', { 'data-label': 'Dead-lettered' }, timeEl(x['x-death-time'] ?? m.timestamp)),
      h('td', { 'data-label': 'Source', class: 'source' }, sourceQueue && sourceSequence
        ? h('a', { class: 'source-link', href: '#/message/' + encodeURIComponent(sourceQueue) + '/' + encodeURIComponent(sourceSequence),
          title: 'the message in ' + sourceQueue + ' and its delivery trace' },
        sourceQueue + ' / ' + (x['x-death-consumer'] ?? '?') + ' #' + sourceSequence)
        : (sourceQueue ?? '?') + ' / ' + (x['x-death-consumer'] ?? '?')),
      h('td', { 'data-label': 'Reason', class: 'reason' }, x['x-death-reason'] ?? '–'),
      h('td', { 'data-label': 'Attempts', class: 'num attempts' }, x['x-death-count'] ?? '–'),
      h('td', { 'data-label': 'Type', class: 'type' }, m.type ?? ''),
      h('td', { 'data-label': 'Payload', class: 'payload' }, payloadPreview(m)));
  }

  async function redrive(onlySelected) {
    const sequences = selected();
    const button = onlySelected ? redriveSelected : redriveAll;
    const destinations = onlySelected
      ? [...new Set(shown.filter((m) => sequences.includes(m.sequence)).map((m) => m.headers?.['x-death-queue'] ?? '?'))]
      : deadLetterFor;
    const where = destinations.length ? destinations.join(', ') : 'their source queues';
    const what = onlySelected ? fmtNumber(sequences.length) + ' selected messages' : 'every message in ' + name;
    if (!await confirmAction('Redrive ' + what + '?', 'They are published again to ' + where
      + ' and removed from ' + name + '. Consumers there receive them as new messages.', 'Redrive')) return;
    const done = await act(button, 'redrive', () => api('POST', q(name) + '/redrive', onlySelected ? { sequences } : {}),
      { success: (r) => fmtNumber(r.moved) + (r.moved === 1 ? ' message' : ' messages') + ' moved to ' + where });
    if (done !== undefined) {
      await refresh();
      await load(position);
    }
  }

  async function refresh() {
    const [info, state] = await Promise.all([api('GET', q(name)), api('GET', q(name) + '/health')]);
    deadLetterFor = state.deadLetterFor;
    setText(count, fmtNumber(info.stats.depth) + (info.stats.depth === 1 ? ' dead letter held.' : ' dead letters held.'));
    // New dead letters arrived: the page shows them, unless the operator is selecting rows on it.
    if (info.stats.lastSequence !== heldWhenLoaded && selected().length === 0) await load(position);
    setText(sources, deadLetterFor.length ? 'Dead letters of ' + deadLetterFor.join(', ') + '.' : '');
  }

  load(position);
  return { title: 'Dead letters in ' + name, refresh };
}
