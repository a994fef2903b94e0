// The console's shared pieces: health badges and trend arrows, feedback next to an action, the
// confirmation dialog, and the history charts.
import { ApiError } from './api.js';
import { h, hidden, fmtNumber, fmtMs } from './dom.js';

/** Health statuses, worst first, as the engine judges them. */
const STATUSES = ['unavailable', 'stuck', 'breaker-open', 'full', 'dead-lettering', 'lagging', 'paused', 'ok'];

/** How bad a health entry is: 0 for the worst status, higher for better ones, last for none. */
export function severity(entry) {
  const i = STATUSES.indexOf(entry?.status);
  return i < 0 ? STATUSES.length : i;
}

/** A status word in a badge coloured by severity; the word itself carries the meaning. */
export function badge(status) {
  return h('span', { class: 'badge status-' + (STATUSES.includes(status) ? status : 'unknown') }, status ?? 'unknown');
}

/** The status badge with its reason in words beside it, and what went wrong lately, if anything did. */
export function health(entry, withTrend) {
  if (!entry) return h('span', { class: 'muted' }, 'no health yet');
  return h('span', { class: 'health' }, badge(entry.status), ' ', h('span', { class: 'reason' }, entry.reason),
    withTrend ? [' ', trend(entry.lagTrend)] : null, recentText(entry.recent));
}

/** "in the last 5 min: 4 dead-lettered, 169 publishes refused"; nothing when nothing happened. */
function recentText(recent) {
  if (!recent) return null;
  const parts = [['deadLettered', 'dead-lettered'], ['dropped', 'dropped'], ['expired', 'expired'], ['refused', 'messages refused']]
    .filter(([k]) => recent[k] > 0).map(([k, words]) => fmtNumber(recent[k]) + ' ' + words);
  return parts.length ? h('span', { class: 'recent' }, 'in the last ' + fmtMs(recent.windowMs) + ': ' + parts.join(', ')) : null;
}

const TRENDS = { rising: ['↑', 'lag rising'], falling: ['↓', 'lag falling'], steady: ['→', 'lag steady'] };

export function trend(t) {
  const [arrow, words] = TRENDS[t] ?? ['', ''];
  if (!arrow) return null;
  return h('span', { class: 'trend trend-' + t, title: words }, h('span', { 'aria-hidden': 'true' }, arrow), hidden(words));
}

/**
 * The feedback line of a section: a status for success and an alert for failure, so a screen
 * reader announces each as what it is, and each shows next to the action that caused it.
 */
export function feedbackLine() {
  return h('div', { class: 'feedback' },
    h('p', { class: 'feedback-ok', role: 'status' }), h('p', { class: 'feedback-error', role: 'alert' }));
}

/** The feedback line of the section holding el (or of el, a section), or the page-wide one under the header. */
function feedbackNear(el) {
  return el?.closest('section')?.querySelector(':scope > .feedback') ?? document.getElementById('global-feedback');
}

export function tell(near, text, isError) {
  const line = feedbackNear(near);
  if (!line) return;
  line.querySelector(isError ? '.feedback-error' : '.feedback-ok').textContent = text;
  line.querySelector(isError ? '.feedback-ok' : '.feedback-error').textContent = '';
}

export function describe(e) {
  return e instanceof ApiError ? e.message + ' (' + e.code + ')' : e.message;
}

/**
 * Runs an operator action started from el: its success or failure is told next to el, then the
 * page refreshes at once (forced past a selection or focus in the table), so the rows show the
 * new state straight away. Resolves to the action's answer, or undefined when it failed.
 */
export async function act(el, label, fn, { success, refresh } = {}) {
  // The section, found now: a refresh during the call may replace el (a row's button).
  const where = el.closest('section') ?? el;
  tell(where, label + '…');
  let result;
  try {
    result = await fn();
  } catch (e) {
    tell(where, label + ' failed: ' + describe(e), true);
    return undefined;
  }
  const done = success ? success(result) : label + ': done';
  tell(where, done);
  try {
    if (refresh) await refresh(true);
  } catch (e) {
    tell(where, done + '; the page could not be brought up to date: ' + describe(e), true);
  }
  return result ?? true;
}

/**
 * Asks the operator to confirm a destructive action in a modal dialog that says what will happen;
 * resolves to true only on the confirming button.
 */
export function confirmAction(title, what, confirmLabel) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-what' },
      h('h2', { id: 'confirm-title' }, title),
      h('p', { id: 'confirm-what' }, what),
      h('form', { method: 'dialog' },
        h('button', { type: 'submit', value: 'cancel', id: 'confirm-cancel', autofocus: true }, 'Cancel'),
        h('button', { type: 'submit', value: 'confirm', id: 'confirm-ok', class: 'danger' }, confirmLabel)));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'confirm');
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}

// ---- charts -------------------------------------------------------------------------------

/** Every live chart, so that a page change destroys the previous page's. */
const charts = new Set();

export function destroyCharts() {
  charts.forEach((c) => c.destroy());
  charts.clear();
}

const PALETTE = ['#2f6fd6', '#1b7a45', '#a34d00', '#7b3fb5', '#b0263b', '#00707a', '#5b6475'];

/**
 * A line chart over time in a canvas that is an image to assistive technology: its name says what
 * it shows and its summary (set by update) says the latest values in words.
 */
export function timeChart(id, caption, name, series) {
  const canvas = h('canvas', { id, role: 'img', 'aria-label': name });
  const wrapper = h('figure', { class: 'chart-figure' }, h('figcaption', {}, caption), h('div', { class: 'chart' }, canvas));
  // Chart.js arrives as a classic script (its UMD build) and is global by the time modules run.
  const chart = new window.Chart(canvas, {
    type: 'line',
    data: { labels: [], datasets: series.map((label, i) => ({ label, data: [], borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: PALETTE[i % PALETTE.length], pointRadius: 0, borderWidth: 2, tension: 0.2 })) },
    options: { animation: false, maintainAspectRatio: false,
      scales: { x: { ticks: { maxTicksLimit: 8, maxRotation: 0 } }, y: { beginAtZero: true } },
      plugins: { legend: { labels: { boxWidth: 12 } } } },
  });
  charts.add(chart);
  return {
    element: wrapper,
    chart,
    /** labels: times; rows: one array per series (or per label when labels are given anew). */
    update(times, columns, seriesLabels) {
      // Seconds on the axis while the history is short, minutes once it spans more than ten.
      const short = times.length > 0 && times.at(-1) - times[0] < 600_000;
      const format = { hour: '2-digit', minute: '2-digit', second: short ? '2-digit' : undefined };
      chart.data.labels = times.map((t) => new Date(t).toLocaleTimeString('en-GB', format));
      if (seriesLabels) {
        chart.data.datasets = seriesLabels.map((label, i) => ({ label, data: columns[i], borderColor: PALETTE[i % PALETTE.length],
          backgroundColor: PALETTE[i % PALETTE.length], pointRadius: 0, borderWidth: 2, tension: 0.2 }));
      } else {
        chart.data.datasets.forEach((d, i) => { d.data = columns[i]; });
      }
      chart.update('none');
      const latest = chart.data.datasets.map((d) => d.label + ' ' + fmtNumber(round(d.data.at(-1)))).join(', ');
      canvas.setAttribute('aria-label', name + (times.length
        ? ': ' + times.length + ' samples; latest ' + latest : ': no samples yet'));
    },
  };
}

function round(v) {
  return v === undefined ? undefined : Math.round(v * 10) / 10;
}

/** A section with a heading, its feedback line first under the heading, and its content. */
export function section(attrs, title, ...children) {
  return h('section', attrs, h('h2', {}, title), feedbackLine(), ...children);
}

/** A success to tell on the page that a navigation leads to (a deleted queue's overview). */
let pending = null;

export function navigate(hash, message) {
  pending = message;
  location.hash = hash;
}

export function takePending() {
  const message = pending;
  pending = null;
  return message;
}

/**
 * A container that scrolls its wide table sideways on a narrow screen; focusable and named, so a
 * keyboard can scroll it too.
 */
export function scroller(label, ...children) {
  return h('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': label }, ...children);
}
