// The engine's history of each queue and its consumers (sampled by the janitor and kept for an
// hour on the server), fetched incrementally: after the first answer only the samples since the
// last one seen are asked for, so a chart survives a reload and costs little to keep current.
import { api, q } from './api.js';

/** queue → { intervalMs, retainMs, samples: [], consumers: Map(name → samples) } */
const histories = new Map();

export function forgetHistories() {
  histories.clear();
}

/** Forgets the histories of queues not in names (deleted since). */
export function keepHistories(names) {
  const kept = new Set(names);
  for (const queue of histories.keys()) if (!kept.has(queue)) histories.delete(queue);
}

/**
 * The queue's history, brought up to date. The server samples every intervalMs: asked again
 * sooner, the answer would hold nothing new, so the known history is returned as it is.
 */
export async function queueHistory(queue) {
  const known = histories.get(queue);
  if (known && Date.now() - known.fetchedAt < known.intervalMs) return known;
  const lastAt = known?.samples.at(-1)?.at;
  const answer = await api('GET', q(queue) + '/history' + (lastAt ? '?after=' + lastAt : ''));
  const history = known ?? { samples: [], consumers: new Map() };
  history.fetchedAt = Date.now();
  history.intervalMs = answer.intervalMs;
  history.retainMs = answer.retainMs;
  history.samples.push(...answer.samples);
  for (const c of answer.consumers) {
    const samples = history.consumers.get(c.consumer) ?? [];
    samples.push(...c.samples);
    history.consumers.set(c.consumer, samples);
  }
  // The server keeps retainMs; so does the page, or a tab left open would grow without bound.
  const oldest = (history.samples.at(-1)?.at ?? 0) - history.retainMs;
  history.samples = history.samples.filter((s) => s.at > oldest);
  for (const [name, samples] of history.consumers) {
    const kept = samples.filter((s) => s.at > oldest);
    if (kept.length) history.consumers.set(name, kept); else history.consumers.delete(name);
  }
  histories.set(queue, history);
  return history;
}

/**
 * The queues' publish and deliver rates added up per sample interval: the janitor samples every
 * queue on the same tick, but their timestamps differ by a few milliseconds.
 */
export function summedRates(histories) {
  const buckets = new Map();
  for (const history of histories) {
    for (const s of history.samples) {
      const key = Math.round(s.at / history.intervalMs);
      const b = buckets.get(key) ?? { at: s.at, publish: 0, deliver: 0 };
      b.publish += s.publishRate;
      b.deliver += s.deliverRate;
      buckets.set(key, b);
    }
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b);
}
