// Small DOM and formatting helpers shared by the views. Text always goes in as text nodes.

/** Builds an element: h('button', {class: 'x', onclick: fn, 'aria-label': 'y'}, 'text', child). */
export function h(tag, attrs, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && !svg) el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.textContent = '';
  append(el, children);
  return el;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Splits `text` into segments by spans given in UTF-8 byte offsets (as the server sends them),
 * end exclusive. Where spans overlap, the earlier one keeps the shared part. Returns [{text, span}].
 */
export function segments(text, spans) {
  const bytes = enc.encode(text);
  const toIndex = (b) => dec.decode(bytes.subarray(0, Math.max(0, Math.min(b, bytes.length)))).length;
  const sorted = [...(spans || [])]
    .filter((s) => Number.isInteger(s.start) && Number.isInteger(s.end) && s.end > s.start)
    .sort((a, b) => a.start - b.start);
  const out = [];
  let at = 0;
  for (const s of sorted) {
    const start = Math.max(toIndex(s.start), at);
    const end = toIndex(s.end);
    if (end <= start) continue;
    if (start > at) out.push({ text: text.slice(at, start), span: null });
    out.push({ text: text.slice(start, end), span: s });
    at = end;
  }
  if (at < text.length) out.push({ text: text.slice(at), span: null });
  return out;
}

/** The text with its spans wrapped in <mark> elements (title: the span's label). */
export function marked(text, spans, labelOf) {
  const frag = document.createDocumentFragment();
  for (const seg of segments(text, spans)) {
    if (!seg.span) frag.append(seg.text);
    else {
      const label = labelOf ? labelOf(seg.span) : '';
      frag.append(h('mark', { class: `cat-${seg.span.category || 'x'}`, title: label || null }, seg.text,
        label ? h('span', { class: 'sr-only' }, ` (${label})`) : null));
    }
  }
  return frag;
}

const LABELS = {
  phone: 'phone number',
  email: 'email address',
  address: 'street or postal address',
  link: 'outside contact link',
  handle: 'ID or handle on another app',
  request: 'request to move off the platform',
};

/** A category in words. */
export function categoryLabel(c) {
  return LABELS[c] || String(c || 'contact detail').replace(/_/g, ' ');
}

/** Policy findings that call for something (allowed ones are left out). */
export function violations(findings) {
  return (findings || []).filter((f) => f.action && f.action !== 'allow' && !f.exception);
}

const fmtCache = new Map();
function fmt(tz, opts) {
  const key = `${tz}|${JSON.stringify(opts)}`;
  let f = fmtCache.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat(undefined, { ...opts, timeZone: tz || undefined });
    } catch {
      f = new Intl.DateTimeFormat(undefined, opts);
    }
    fmtCache.set(key, f);
  }
  return f;
}

/** 14:05 in the given IANA time zone (the browser's when none). */
export function timeIn(ms, tz) {
  return fmt(tz, { hour: '2-digit', minute: '2-digit' }).format(new Date(ms));
}

/** A day key (YYYY-MM-DD) in a time zone, for day separators. */
export function dayKey(ms, tz) {
  const p = fmt(tz, { year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date(ms));
  const get = (t) => (p.find((x) => x.type === t) || {}).value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** "Today", "Yesterday" or a date, for a day separator. */
export function dayLabel(ms, tz) {
  const k = dayKey(ms, tz);
  const now = Date.now();
  if (k === dayKey(now, tz)) return 'Today';
  if (k === dayKey(now - 86400000, tz)) return 'Yesterday';
  return fmt(tz, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(new Date(ms));
}

/** A short relative age: "5 min ago". */
export function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** The city part of a time zone name: America/Mexico_City -> Mexico City. */
export function place(tz) {
  return tz ? tz.split('/').pop().replace(/_/g, ' ') : '';
}

export function debounce(fn, ms) {
  let t = null;
  const d = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
  d.cancel = () => clearTimeout(t);
  return d;
}

/** Tells screen reader users something happened (a polite live region). */
export function announce(text) {
  const el = document.getElementById('announce');
  if (!el) return;
  el.textContent = '';
  setTimeout(() => { el.textContent = text; }, 30);
}

/** A unique id for idempotent sends. */
export function uid() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
