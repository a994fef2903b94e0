// Builds DOM nodes. Text always goes in as text nodes (never innerHTML), so whatever came from a
// message, a queue name or an event shows as text and cannot run or inject markup.

/** h('td', {class: 'num'}, 'text', node, …): attributes set one by one; strings become text nodes. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
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

export function fmtRate(r) {
  return r === undefined || r === null ? '–' : Number(r).toFixed(1) + '/s';
}

export function fmtMs(ms) {
  if (!ms) return '0 s';
  if (ms < 1000) return ms + ' ms';
  const s = ms / 1000;
  if (s < 120) return s.toFixed(1) + ' s';
  if (s < 7200) return (s / 60).toFixed(1) + ' min';
  return (s / 3600).toFixed(1) + ' h';
}

export function fmtTime(epochMillisOrIso) {
  if (epochMillisOrIso === undefined || epochMillisOrIso === null) return '–';
  const d = new Date(epochMillisOrIso);
  return isNaN(d) ? String(epochMillisOrIso) : d.toISOString().replace('T', ' ').replace('Z', ' UTC');
}
