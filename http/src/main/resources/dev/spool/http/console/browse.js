// Paging through a queue with the browse endpoint: each answer says where the next page forward
// and the previous page backward start, and which sequences its bounded scan looked at.
import { api, q } from './api.js';
import { h, fill, fmtNumber } from './dom.js';

/** GET /queues/{q}/browse with the given parameters (empty ones left out). */
export function browse(name, params) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') query.set(k, v);
  return api('GET', q(name) + '/browse?' + query);
}

/**
 * Oldest / Previous / Next / Newest buttons. move(position) is called with {from, direction}: the
 * oldest page is forward from the start, the newest backward from the end.
 */
export function pager(id, move) {
  const button = (label, cls) => h('button', { type: 'button', class: cls, disabled: true }, label);
  const oldest = button('Oldest', 'page-oldest');
  const previous = button('← Previous', 'page-previous');
  const next = button('Next →', 'page-next');
  const newest = button('Newest', 'page-newest');
  const scan = h('span', { class: 'scan-info muted', role: 'status' });
  let answer = null;
  oldest.addEventListener('click', () => move({ direction: 'forward' }));
  previous.addEventListener('click', () => move({ from: answer.previous, direction: 'backward' }));
  next.addEventListener('click', () => move({ from: answer.next, direction: 'forward' }));
  newest.addEventListener('click', () => move({ direction: 'backward' }));
  return {
    element: h('nav', { id, class: 'pager', 'aria-label': 'pages' }, oldest, previous, next, newest, scan),
    update(a, limit) {
      answer = a;
      oldest.disabled = false;
      newest.disabled = false;
      previous.disabled = a.previous === null || a.previous === undefined;
      next.disabled = a.next === null || a.next === undefined;
      fill(scan, scanText(a, limit));
    },
  };
}

/** "3 shown; scanned 1–400 of 1–900, more to scan" when the scan's bound stopped it short of a full page. */
function scanText(a, limit) {
  const held = a.lastSequence >= a.firstSequence
    ? ' of ' + fmtNumber(a.firstSequence) + '–' + fmtNumber(a.lastSequence) + ' held' : ', the queue holds none';
  const scanned = a.scannedTo >= a.scannedFrom
    ? 'scanned ' + fmtNumber(a.scannedFrom) + '–' + fmtNumber(a.scannedTo) : 'nothing scanned';
  const more = !a.complete && a.messages.length < limit ? ', more to scan' : '';
  return fmtNumber(a.messages.length) + ' shown; ' + scanned + held + more;
}
