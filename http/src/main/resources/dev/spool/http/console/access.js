// What the signed-in token may do, from GET /api/v1/whoami, judged by the server's own rules
// (Principal.may): pages show only the actions the server would allow, rather than buttons that
// can only fail with 403. The server still checks every request.
import { api } from './api.js';

/** { name, roles: [...], queues: [glob, ...] } of the signed-in token; null while signed out. */
let me = null;
let patterns = [];

export async function loadIdentity() {
  const answer = await api('GET', '/whoami');
  me = answer;
  patterns = answer.queues.map(globToRegExp);
  return answer;
}

export function forgetIdentity() {
  me = null;
  patterns = [];
}

export function identity() {
  return me;
}

/** A queue pattern (orders-*): * matches any characters, every other character itself. */
function globToRegExp(glob) {
  return new RegExp('^' + glob.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 's');
}

function has(role) {
  return Boolean(me?.roles.includes(role));
}

/** A partition (queue#p) is granted with its queue. */
function matches(queue) {
  const at = queue.lastIndexOf('#');
  const name = at > 0 ? queue.slice(0, at) : queue;
  return patterns.some((p) => p.test(name));
}

/** The rules of Principal.may, one per kind of access. */
export const may = {
  /** Creating and deleting queues, deleting consumers, redrive, GC, the memory threshold. */
  admin: () => has('admin'),
  /** Service-wide reads: the overview, dead-letter queues, events. */
  view: () => has('admin') || has('viewer'),
  /** Publishing to queue. */
  publish: (queue) => has('admin') || (has('producer') && matches(queue)),
  /** Creating, pausing, resuming and seeking consumers of queue. */
  consume: (queue) => has('admin') || (has('consumer') && matches(queue)),
};
