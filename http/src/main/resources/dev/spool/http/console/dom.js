// Builds DOM nodes. Text always goes in as text nodes (never innerHTML), so whatever came from a
// message, a queue name or an event shows as text and cannot run or inject markup.

/** h('td', {class: 'num'}, 'text', node, …): attributes set one by one; strings become text nodes. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces el's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * Whether the operator is working inside region: a text selection that starts or ends there, or
 * focus in a field there. A refresh that rebuilt the region would wipe the one or the other.
 */
function inUse(region) {
  const selection = window.getSelection();
  if (selection && !selection.isCollapsed
      && (region.contains(selection.anchorNode) || region.contains(selection.focusNode))) return true;
  const active = document.activeElement;
  return Boolean(active && region.contains(active) && active.matches('input, textarea, select'));
}

/**
 * Refills region unless the operator is working in it (see inUse); force, after an action, refills
 * it anyway. Focus on an element with a data-key comes back to the new element with the same key,
 * so a keyboard user who pressed Pause lands on the Resume button that replaced it.
 */
export function render(region, children, force) {
  if (!force && inUse(region)) return false;
  const key = region.contains(document.activeElement) ? document.activeElement.dataset?.key : undefined;
  fill(region, children);
  if (key) region.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
  return true;
}

/** Sets el's text only when it changed: replacing the same text would drop a selection in it. */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** Text that only screen readers read: names for icon columns and symbols. */
export function hidden(text) {
  return h('span', { class: 'visually-hidden' }, text);
}

export function fmtNumber(n) {
  return n === undefined || n === null ? '–' : Number(n).toLocaleString('en');
}

export function fmtBytes(n) {
  if (n === undefined || n === null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n; let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? v : v.toFixed(1)) + ' ' + units[i];
}

export const MIB = 1024 * 1024;

export function fmtRate(r) {
  return r === undefined || r === null ? '–' : Number(r).toFixed(1) + '/s';
}

/** 850 ms, 4.2 s, 3 min, 1.5 h, 2 d. */
export function fmtMs(ms) {
  if (!ms) return '0 s';
  if (ms < 1000) return Math.round(ms) + ' ms';
  const s = ms / 1000;
  if (s < 60) return trim(s) + ' s';
  if (s < 3600) return trim(s / 60) + ' min';
  if (s < 86400) return trim(s / 3600) + ' h';
  return trim(s / 86400) + ' d';
}

function trim(v) {
  return v >= 10 ? String(Math.round(v)) : String(Math.round(v * 10) / 10);
}

/** An ISO-8601 duration (PT10M, P1DT2H, PT0.5S) in words ("10 min"); the text itself when it is not one. */
export function fmtDuration(iso) {
  if (!iso || /^P(T0+(\.0+)?S|0D)$/.test(iso)) return 'none';
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$/.exec(iso);
  if (!m) return iso;
  const [, d, hours, min, s] = m.map((x) => Number(x ?? 0));
  return fmtMs((((d * 24 + hours) * 60 + min) * 60 + s) * 1000);
}

function toDate(t) {
  if (t === undefined || t === null || t === '') return null;
  // epoch milliseconds may come as text (a header's value)
  const d = new Date(typeof t === 'string' && /^\d+$/.test(t) ? Number(t) : t);
  return isNaN(d) ? null : d;
}

/** "just now", "12 s ago", "3 min ago", "in 5 min". */
export function fmtAgo(t, now = Date.now()) {
  const d = toDate(t);
  if (!d) return '–';
  const ms = now - d.getTime();
  if (Math.abs(ms) < 2000) return 'just now';
  return ms > 0 ? fmtMs(ms) + ' ago' : 'in ' + fmtMs(-ms);
}

/** A relative time, with the absolute one in its datetime and title (shown on hover). */
export function timeEl(t) {
  const d = toDate(t);
  if (!d) return h('span', { class: 'muted' }, '–');
  const iso = d.toISOString();
  return h('time', { datetime: iso, title: iso }, fmtAgo(d));
}
