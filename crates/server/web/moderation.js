// The moderator console: the review queue (held messages, reports, appeals) with the evidence
// highlighted, the rule, the confidence, the context and the sender's history; decisions; counts per
// category and a small chart of flagged messages per day (inline SVG, no library).
// API: GET /v1/moderation/queue, POST /v1/moderation/items/{id}/decision, GET /v1/moderation/stats.

import { api, ApiError } from './api.js';
import { h, replace, marked, categoryLabel, timeIn, ago, announce } from './util.js';
import { app } from './state.js';

const KIND = { held_message: 'Held message', report: 'Report', appeal: 'Appeal' };
const ACTIONS = [
  ['approve', 'Approve and deliver', 'primary'],
  ['reject', 'Reject', 'danger'],
  ['warn', 'Warn', ''],
  ['restrict', 'Restrict', ''],
  ['suspend', 'Suspend', 'danger'],
];
const pct = (c) => (typeof c === 'number' ? `${Math.round(c * 100)}%` : '—');

/** A bar chart of flagged messages per day, as inline SVG with a text alternative. */
export function chart(perDay) {
  const days = perDay || [];
  const W = 320;
  const H = 110;
  const pad = 18;
  const max = Math.max(1, ...days.map((d) => d.flagged || 0));
  const bw = days.length ? (W - 2) / days.length : W;
  const total = days.reduce((s, d) => s + (d.flagged || 0), 0);
  const svg = h('svg:svg', {
    viewBox: `0 0 ${W} ${H}`, width: '100%', height: H, role: 'img', class: 'chart',
    'aria-label': `Flagged messages per day over ${days.length} days: ${total} in all, at most ${max === 1 && !total ? 0 : max} in one day`,
  });
  svg.append(h('svg:line', { x1: 0, y1: H - pad, x2: W, y2: H - pad, stroke: '#8a8fa3', 'stroke-width': 1 }));
  days.forEach((d, i) => {
    const v = d.flagged || 0;
    const bh = ((H - pad - 14) * v) / max;
    const x = 1 + i * bw + bw * 0.15;
    const rect = h('svg:rect', { x, y: H - pad - bh, width: Math.max(1, bw * 0.7), height: Math.max(v ? 1 : 0, bh), rx: 2, fill: '#3047c9' });
    rect.append(h('svg:title', {}, `${d.day}: ${v} flagged`));
    svg.append(rect);
    if (v) svg.append(h('svg:text', { x: x + (bw * 0.35), y: H - pad - bh - 3, 'text-anchor': 'middle', 'font-size': 10, fill: '#1f2333' }, String(v)));
    if (i === 0 || i === days.length - 1) {
      svg.append(h('svg:text', { x: i === 0 ? 2 : W - 2, y: H - 4, 'text-anchor': i === 0 ? 'start' : 'end', 'font-size': 10, fill: '#4a4f63' }, d.day.slice(5)));
    }
  });
  return svg;
}

function statsView(s) {
  const cats = Object.entries(s.by_category || {}).sort((a, b) => b[1] - a[1]);
  const open = s.open || {};
  return h('section', { class: 'stats', 'aria-labelledby': 'stats-h' },
    h('h2', { id: 'stats-h' }, 'Overview'),
    h('div', { class: 'stat-grid' },
      h('div', { class: 'card' }, h('h3', {}, 'Waiting'),
        h('dl', { class: 'counts' }, Object.keys(KIND).map((k) => [h('dt', {}, KIND[k]), h('dd', {}, String(open[k] || 0))]))),
      h('div', { class: 'card' }, h('h3', {}, 'Flagged by category'),
        cats.length ? h('dl', { class: 'counts' }, cats.map(([c, n]) => [h('dt', {}, categoryLabel(c)), h('dd', {}, String(n))]))
          : h('p', {}, 'Nothing flagged yet.')),
      h('div', { class: 'card wide' }, h('h3', {}, `Flagged per day (last ${(s.per_day || []).length} days)`), chart(s.per_day))));
}

function evidenceView(item) {
  const ev = item.evidence;
  if (!ev || typeof ev.text !== 'string') return null;
  const spans = ev.spans || [];
  return h('div', { class: 'evidence' },
    h('h4', {}, 'Evidence'),
    h('blockquote', {}, marked(ev.text, spans, (s) => `${categoryLabel(s.category)}, ${pct(s.confidence)}, ${s.rule}`)),
    spans.length ? h('ul', { class: 'spans' }, spans.map((s) => h('li', {},
      h('span', { class: `chip cat-${s.category}` }, categoryLabel(s.category)),
      ` confidence ${pct(s.confidence)}`, s.rule ? ` · ${s.rule}` : ''))) : null);
}

function contextView(item, tz) {
  const ctx = item.context || [];
  if (!ctx.length) return null;
  return h('div', { class: 'context' },
    h('h4', {}, 'Context'),
    h('ol', {}, ctx.map((c) => h('li', { class: c.id === item.message_id ? 'this' : null },
      h('span', { class: 'ctx-meta' }, `${c.author_name || c.author_id} · ${timeIn(c.created_at, tz)}${c.state && c.state !== 'delivered' ? ` · ${c.state}` : ''}`),
      h('span', { class: 'ctx-body' }, c.body == null ? '(deleted)' : c.body)))));
}

function historyView(hst) {
  if (!hst) return null;
  return h('p', { class: 'history' }, h('strong', {}, 'Sender history: '),
    `${hst.active_strikes ?? 0} active strike(s) of ${hst.strikes ?? 0}, ${hst.previous_violations ?? 0} earlier violation(s)`,
    hst.restricted_until ? `, restricted until ${new Date(hst.restricted_until).toLocaleString()}` : '');
}

function itemView(item, tz, onDecided) {
  const who = item.subject_user ? item.subject_user.name : 'unknown sender';
  const title = item.kind === 'report' ? `Report about ${who}`
    : item.kind === 'appeal' ? `Appeal by ${who}` : `${KIND[item.kind] || item.kind} from ${who}`;
  const hid = `item-${item.id}`;
  const note = h('textarea', { id: `${hid}-note`, rows: 2, maxlength: 2000, placeholder: 'Shown in the statement of reasons' });
  const status = h('p', { class: 'item-status', role: 'status' });
  const resolved = item.status === 'resolved';
  const buttons = ACTIONS.map(([action, label, cls]) => h('button', {
    type: 'button', class: cls || null, disabled: resolved,
    onclick: async () => {
      for (const b of buttons) b.disabled = true;
      status.textContent = 'Saving…';
      try {
        const { data } = await api('POST', `/v1/moderation/items/${encodeURIComponent(item.id)}/decision`,
          { action, note: note.value.trim() || undefined });
        announce(`${label}: done`);
        onDecided(data.item, action);
      } catch (e) {
        status.textContent = e instanceof ApiError && e.code === 'already_resolved'
          ? 'Another moderator already resolved this item.' : `Could not save: ${e.message}`;
        for (const b of buttons) b.disabled = e instanceof ApiError && e.code === 'already_resolved';
      }
    },
  }, label));
  return h('article', { class: `item kind-${item.kind} status-${item.status}`, 'aria-labelledby': hid, dataset: { id: item.id } },
    h('header', {},
      h('h3', { id: hid }, title),
      h('p', { class: 'item-meta' },
        h('span', { class: 'chip' }, `Priority ${item.priority ?? 0}`), ' ',
        `waiting since ${ago(item.created_at)}`,
        item.conversation_id ? ` · conversation ${item.conversation_id}` : '')),
    evidenceView(item),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Rule'), h('dd', {}, item.rule || '—'),
      h('dt', {}, 'Confidence'), h('dd', {}, pct(item.confidence)),
      item.decision && item.decision.action ? [h('dt', {}, 'Automated decision'), h('dd', {}, String(item.decision.action).replace(/_/g, ' '))] : null),
    (item.reports || []).length ? h('div', { class: 'reports' }, h('h4', {}, `Reports (${item.reports.length})`),
      h('ul', {}, item.reports.map((r) => h('li', {}, `${app.nameOf(r.reporter_id)}: ${String(r.reason).replace(/_/g, ' ')}`, r.note ? ` — “${r.note}”` : '')))) : null,
    item.appeal ? h('div', { class: 'appeal' }, h('h4', {}, 'Appeal'), h('p', {}, item.appeal.statement || '')) : null,
    contextView(item, tz),
    historyView(item.sender_history),
    resolved && item.resolution
      ? h('p', { class: 'resolution' }, `Resolved: ${item.resolution.action}${item.resolution.note ? ` — ${item.resolution.note}` : ''}`)
      : h('div', { class: 'decide' },
        h('label', { for: `${hid}-note` }, 'Note (optional)'), note,
        h('div', { class: 'actions', role: 'group', 'aria-label': `Decide: ${title}` }, buttons), status));
}

export async function renderModeration(main) {
  const tz = app.me.time_zone || undefined;
  if (!app.isModerator()) {
    replace(main, h('h1', {}, 'Review queue'), h('p', {}, 'Only moderators can open the review queue.'));
    return null;
  }
  const statsEl = h('div', {});
  const listEl = h('div', { class: 'queue-items' });
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const statusSel = h('select', { id: 'q-status' }, h('option', { value: 'open' }, 'Open'), h('option', { value: 'resolved' }, 'Resolved'));
  const kindSel = h('select', { id: 'q-kind' }, h('option', { value: '' }, 'All kinds'),
    Object.entries(KIND).map(([k, v]) => h('option', { value: k }, `${v}s`)));
  replace(main, h('div', { class: 'console' },
    h('h1', {}, 'Review queue'),
    statsEl,
    h('section', { 'aria-labelledby': 'queue-h', class: 'queue' },
      h('h2', { id: 'queue-h' }, 'Items'),
      h('div', { class: 'filters' },
        h('label', { for: 'q-status' }, 'Status'), statusSel,
        h('label', { for: 'q-kind' }, 'Kind'), kindSel),
      listEl, more)));

  let cursor = null;
  async function loadStats() {
    try {
      const { data } = await api('GET', '/v1/moderation/stats?days=14');
      replace(statsEl, statsView(data));
    } catch (e) {
      replace(statsEl, h('p', { class: 'error' }, `Statistics unavailable: ${e.message}`));
    }
  }
  async function loadQueue(append) {
    const q = new URLSearchParams({ status: statusSel.value, limit: '20' });
    if (kindSel.value) q.set('kind', kindSel.value);
    if (append && cursor) q.set('cursor', cursor);
    let data;
    try {
      data = (await api('GET', `/v1/moderation/queue?${q}`)).data;
    } catch (e) {
      const msg = e instanceof ApiError && e.status === 404 ? 'The review queue is not available on this server.'
        : e instanceof ApiError && e.status === 403 ? 'Only moderators can open the review queue.' : `Could not load the queue: ${e.message}`;
      replace(listEl, h('p', { class: 'error', role: 'alert' }, msg));
      more.hidden = true;
      return;
    }
    cursor = data.next_cursor;
    more.hidden = !cursor;
    const els = data.items.map((it) => itemView(it, tz, (updated) => {
      const old = listEl.querySelector(`[data-id="${CSS.escape(it.id)}"]`);
      if (old) old.replaceWith(itemView(updated, tz, () => {}));
      loadStats();
    }));
    if (append) listEl.append(...els);
    else replace(listEl, els.length ? els : h('p', { class: 'empty' }, statusSel.value === 'open' ? 'Nothing waiting for review.' : 'Nothing here.'));
  }
  statusSel.addEventListener('change', () => loadQueue(false));
  kindSel.addEventListener('change', () => loadQueue(false));
  more.addEventListener('click', () => loadQueue(true));
  await Promise.all([loadStats(), loadQueue(false)]);
  return null;
}
