// The operator dashboard (#/dashboard, moderators): messages and decisions per day by action,
// findings by category, the review queue's size and age, time to decision, the overturn rate on
// appeal, webhook delivery success, the webhook endpoints and their latest attempts (with a
// replay button). Charts are inline SVG drawn here (no library); each has a text summary for
// screen readers and its numbers in a table. API: GET /v1/admin/dashboard?days=N,
// POST /v1/webhooks/{id}/replay.

import { api, ApiError } from './api.js';
import { h, replace, categoryLabel, announce } from './util.js';
import { app } from './state.js';

const ACTION_COLORS = {
  allow: '#8a94b8', allow_with_notice: '#2a9d8f', notice: '#2a9d8f', mask: '#e09f3e', hold_for_review: '#7b5cc4', hold: '#7b5cc4', block: '#c0392b',
};
const OTHER_COLORS = ['#3047c9', '#5b8c2a', '#b5487a', '#6d6875', '#1d7874'];
const KIND = { held_message: 'Held messages', report: 'Reports', appeal: 'Appeals' };
const W = 340;
const H = 150;
const BOTTOM = 18;
const TOP = 14;

const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const pct = (r) => (typeof r === 'number' ? `${Math.round(r * 1000) / 10}%` : '—');

/** A duration in words: "under 1 min", "25 min", "3.5 h", "2.1 days". */
export function duration(ms) {
  if (typeof ms !== 'number') return '—';
  if (ms < 60000) return 'under 1 min';
  if (ms < 3600000) return `${Math.round(ms / 60000)} min`;
  if (ms < 172800000) return `${Math.round(ms / 360000) / 10} h`;
  return `${Math.round(ms / 8640000) / 10} days`;
}

function colorOf(key, i) {
  return ACTION_COLORS[key] || OTHER_COLORS[i % OTHER_COLORS.length];
}

/** A table of the chart's numbers, in a disclosure (the chart's text alternative). */
function dataTable(caption, head, rows) {
  return h('details', { class: 'chart-data' },
    h('summary', {}, 'Show the numbers'),
    h('div', { class: 'table-wrap', role: 'region', tabindex: 0, 'aria-label': `${caption}: table` },
      h('table', {},
        h('caption', { class: 'sr-only' }, caption),
        h('thead', {}, h('tr', {}, head.map((c, i) => h('th', { scope: 'col', class: i ? 'num' : null }, c)))),
        h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i
          ? h('td', { class: 'num' }, String(c))
          : h('th', { scope: 'row' }, String(c))))))))));
}

function legend(series) {
  if (series.length < 2) return null;
  return h('ul', { class: 'legend', 'aria-hidden': 'true' }, series.map((s) => h('li', {},
    h('span', { class: 'swatch', style: null, dataset: { color: s.color } }), s.label)));
}

/** Paints legend swatches (inline style attributes are not allowed by the page's policy). */
function paintSwatches(root) {
  for (const el of root.querySelectorAll('.swatch[data-color]')) el.style.background = el.dataset.color;
}

/**
 * Stacked vertical bars, one per day: `days` [{label, values: {key: n}}], `series`
 * [{key, label, color}].
 */
export function stackedBars(id, title, days, series, summary) {
  const totals = days.map((d) => sum(series.map((s) => d.values[s.key] || 0)));
  const max = Math.max(1, ...totals);
  const bw = days.length ? (W - 2) / days.length : W;
  const svg = h('svg:svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', class: 'chart', 'aria-label': `${title}: ${summary}` });
  svg.append(h('svg:line', { x1: 0, y1: H - BOTTOM, x2: W, y2: H - BOTTOM, stroke: '#8a8fa3', 'stroke-width': 1 }));
  days.forEach((d, i) => {
    const x = 1 + i * bw + bw * 0.15;
    let y = H - BOTTOM;
    for (const s of series) {
      const v = d.values[s.key] || 0;
      if (!v) continue;
      const bh = ((H - BOTTOM - TOP) * v) / max;
      y -= bh;
      const rect = h('svg:rect', { x, y, width: Math.max(1, bw * 0.7), height: Math.max(1, bh), fill: s.color });
      rect.append(h('svg:title', {}, `${d.label}: ${v} ${s.label}`));
      svg.append(rect);
    }
    if (totals[i] && bw >= 14) {
      svg.append(h('svg:text', { x: x + bw * 0.35, y: y - 3, 'text-anchor': 'middle', 'font-size': 9, fill: '#1f2333' }, String(totals[i])));
    }
    if (i === 0 || i === days.length - 1) {
      svg.append(h('svg:text', { x: i === 0 ? 2 : W - 2, y: H - 4, 'text-anchor': i === 0 ? 'start' : 'end', 'font-size': 10, fill: '#4a4f63' }, d.label.slice(5)));
    }
  });
  const head = ['Day', ...series.map((s) => s.label)];
  if (series.length > 1) head.push('Total');
  const rows = days.map((d, i) => {
    const r = [d.label, ...series.map((s) => d.values[s.key] || 0)];
    if (series.length > 1) r.push(totals[i]);
    return r;
  });
  return h('figure', { class: 'card dash-chart', id },
    h('figcaption', {}, title), svg, legend(series), dataTable(title, head, rows));
}

/** Horizontal bars: `rows` [{label, value}]. */
export function hBars(id, title, rows, summary, unit = '') {
  const max = Math.max(1, ...rows.map((r) => r.value));
  const rh = 22;
  const lw = 150;
  const height = Math.max(rh, rows.length * rh) + 4;
  const svg = h('svg:svg', { viewBox: `0 0 ${W} ${height}`, width: '100%', role: 'img', class: 'chart', 'aria-label': `${title}: ${summary}` });
  rows.forEach((r, i) => {
    const y = 2 + i * rh;
    const bw = ((W - lw - 40) * r.value) / max;
    const short = r.label.length > 25 ? `${r.label.slice(0, 24)}…` : r.label;
    svg.append(h('svg:text', { x: lw - 6, y: y + 14, 'text-anchor': 'end', 'font-size': 11, fill: '#1f2333' }, short));
    const rect = h('svg:rect', { x: lw, y: y + 3, width: Math.max(r.value ? 2 : 0, bw), height: rh - 8, rx: 2, fill: r.color || '#3047c9' });
    rect.append(h('svg:title', {}, `${r.label}: ${r.value}${unit}`));
    svg.append(rect);
    svg.append(h('svg:text', { x: lw + Math.max(2, bw) + 4, y: y + 14, 'font-size': 11, fill: '#1f2333' }, `${r.value}${unit}`));
  });
  if (!rows.length) svg.append(h('svg:text', { x: 4, y: 15, 'font-size': 11, fill: '#4a4f63' }, 'None in this period'));
  return h('figure', { class: 'card dash-chart', id },
    h('figcaption', {}, title), svg, dataTable(title, ['', 'Count'], rows.map((r) => [r.label, r.value])));
}

function kpi(key, label, value, note) {
  return h('div', { class: 'card kpi', dataset: { kpi: key } },
    h('p', { class: 'kpi-label' }, label),
    h('p', { class: 'kpi-value' }, value),
    note ? h('p', { class: 'kpi-note' }, note) : null);
}

function charts(d) {
  const days = d.daily;
  const actions = [...new Set(days.flatMap((x) => x.decisions.map((a) => a.action)))]
    .sort((a, b) => Object.keys(ACTION_COLORS).indexOf(a) - Object.keys(ACTION_COLORS).indexOf(b));
  const messages = sum(days.map((x) => x.messages));
  const decisions = sum(days.map((x) => sum(x.decisions.map((a) => a.count))));
  const byAction = (a) => sum(days.map((x) => sum(x.decisions.filter((y) => y.action === a).map((y) => y.count))));
  const q = d.queue;
  const t = q.time_to_decision;
  const attempts = sum(days.map((x) => x.webhook_attempts));
  const okAttempts = sum(days.map((x) => x.webhook_attempts_succeeded));
  return [
    stackedBars('chart-messages', 'Messages per day', days.map((x) => ({ label: x.date, values: { m: x.messages } })),
      [{ key: 'm', label: 'Messages', color: '#3047c9' }],
      `${messages} messages over ${days.length} days, at most ${Math.max(0, ...days.map((x) => x.messages))} in one day`),
    stackedBars('chart-decisions', 'Decisions per day by action',
      days.map((x) => ({ label: x.date, values: Object.fromEntries(x.decisions.map((a) => [a.action, a.count])) })),
      actions.map((a, i) => ({ key: a, label: a.replace(/_/g, ' '), color: colorOf(a, i) })),
      `${decisions} decisions: ${actions.map((a) => `${byAction(a)} ${a.replace(/_/g, ' ')}`).join(', ') || 'none'}`),
    hBars('chart-findings', 'Findings by category', d.findings.map((f) => ({ label: categoryLabel(f.category), value: f.count })),
      d.findings.length ? d.findings.map((f) => `${f.count} ${categoryLabel(f.category)}`).join(', ') : 'none in this period'),
    stackedBars('chart-queue', 'Review queue: open items at the end of each day',
      days.map((x) => ({ label: x.date, values: { open: x.queue_open } })),
      [{ key: 'open', label: 'Open items', color: '#7b5cc4' }],
      `${q.open} open now; ${sum(days.map((x) => x.queue_opened))} queued and ${sum(days.map((x) => x.queue_resolved))} resolved in the period`),
    hBars('chart-queue-age', 'Open review items by age', q.age.map((b) => ({ label: b.label, value: b.count, color: '#7b5cc4' })),
      `${q.open} open, the oldest waiting ${duration(q.oldest_age_ms)}`),
    hBars('chart-time-to-decision', 'Time to decision', t.buckets.map((b) => ({ label: b.label, value: b.count, color: '#2a9d8f' })),
      `${t.decided} items decided, ${duration(t.mean_ms)} on average, ${duration(t.max_ms)} at most`),
    stackedBars('chart-appeals', 'Appeals decided per day',
      days.map((x) => ({ label: x.date, values: { overturned: x.appeals_overturned, upheld: x.appeals_upheld } })),
      [{ key: 'overturned', label: 'Overturned', color: '#c0392b' }, { key: 'upheld', label: 'Upheld', color: '#8a94b8' }],
      `${d.appeals.decided} decided, ${d.appeals.overturned} overturned: overturn rate ${pct(d.appeals.overturn_rate)}`),
    stackedBars('chart-webhooks', 'Webhook delivery attempts per day',
      days.map((x) => ({ label: x.date, values: { ok: x.webhook_attempts_succeeded, bad: x.webhook_attempts - x.webhook_attempts_succeeded } })),
      [{ key: 'ok', label: 'Answered 2xx', color: '#17663a' }, { key: 'bad', label: 'Failed', color: '#c0392b' }],
      `${attempts} attempts, ${okAttempts} answered 2xx`),
  ];
}

function endpointsView(d) {
  const w = d.webhooks;
  const byId = new Map(w.endpoints.map((e) => [e.id, e]));
  const status = h('p', { role: 'status', class: 'replay-status' });
  const replay = (a) => h('button', {
    type: 'button', class: 'small',
    'aria-label': `Replay ${a.event_type} to ${(byId.get(a.endpoint_id) || {}).target || a.endpoint_id}`,
    onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        await api('POST', `/v1/webhooks/${encodeURIComponent(a.endpoint_id)}/replay`, { delivery_id: a.delivery_id });
        status.textContent = `Delivery ${a.delivery_id} (${a.event_type}) queued again with the same webhook-id.`;
        announce(status.textContent);
        ev.target.textContent = 'Queued';
      } catch (e) {
        status.textContent = e instanceof ApiError && e.status === 403 ? 'Only moderators and the operator can replay.' : `Could not replay: ${e.message}`;
        ev.target.disabled = false;
      }
    },
  }, 'Replay');
  return h('section', { class: 'dash-hooks', 'aria-labelledby': 'hooks-h' },
    h('h2', { id: 'hooks-h' }, 'Webhook endpoints'),
    w.endpoints.length ? h('div', { class: 'table-wrap', role: 'region', tabindex: 0, 'aria-label': 'Webhook endpoints' },
      h('table', { id: 'endpoints' },
        h('thead', {}, h('tr', {}, ['Endpoint', 'State', 'Delivered', 'Failed', 'Pending', 'Success'].map((c, i) => h('th', { scope: 'col', class: i > 1 ? 'num' : null }, c)))),
        h('tbody', {}, w.endpoints.map((e) => h('tr', { dataset: { id: e.id } },
          h('th', { scope: 'row' }, h('span', { class: 'target' }, e.target), e.description ? h('span', { class: 'desc' }, e.description) : null),
          h('td', {}, h('span', { class: `state state-${e.state}` }, e.state), e.disabled_reason ? ` (${e.disabled_reason})` : ''),
          h('td', { class: 'num' }, String(e.succeeded)), h('td', { class: 'num' }, String(e.failed)),
          h('td', { class: 'num' }, String(e.pending)), h('td', { class: 'num' }, pct(e.success_rate)))))))
      : h('p', { class: 'empty' }, 'No webhook endpoint is registered (POST /v1/webhooks with the operator key).'),
    h('h3', {}, 'Latest delivery attempts'),
    w.recent_attempts.length ? h('div', { class: 'table-wrap', role: 'region', tabindex: 0, 'aria-label': 'Latest delivery attempts' },
      h('table', { id: 'attempts' },
        h('thead', {}, h('tr', {}, ['When', 'Event', 'Endpoint', 'Answer', 'Latency', 'Delivery', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, 'Replay'))))),
        h('tbody', {}, w.recent_attempts.map((a, i, all) => h('tr', { dataset: { delivery: a.delivery_id } },
          h('td', {}, new Date(a.attempted_at).toLocaleString()),
          h('th', { scope: 'row' }, a.event_type),
          h('td', {}, (byId.get(a.endpoint_id) || {}).target || a.endpoint_id),
          h('td', {}, a.status_code == null ? (a.error || 'no answer') : String(a.status_code)),
          h('td', { class: 'num' }, `${a.latency_ms} ms`),
          h('td', {}, a.delivery_status),
          // One button per delivery, on its newest attempt.
          h('td', {}, all.findIndex((x) => x.delivery_id === a.delivery_id) === i ? replay(a) : null))))))
      : h('p', { class: 'empty' }, 'No delivery attempt yet.'),
    status);
}

function view(d) {
  const days = d.daily;
  const q = d.queue;
  const w = d.webhooks;
  const root = h('div', {},
    h('p', { class: 'hint' }, `${d.from} to ${d.to} (UTC), computed from the database at ${new Date(d.generated_at).toLocaleTimeString()}.`),
    h('div', { class: 'kpis' },
      kpi('messages', 'Messages', String(sum(days.map((x) => x.messages)))),
      kpi('decisions', 'Decisions', String(sum(days.map((x) => sum(x.decisions.map((a) => a.count)))))),
      kpi('queue', 'Open review items', String(q.open), q.oldest_age_ms != null ? `oldest ${duration(q.oldest_age_ms)}` : 'none waiting'),
      kpi('time-to-decision', 'Time to decision', duration(q.time_to_decision.mean_ms), `mean of ${q.time_to_decision.decided} decided`),
      kpi('overturn', 'Overturned on appeal', pct(d.appeals.overturn_rate), `${d.appeals.overturned} of ${d.appeals.decided} appeals`),
      kpi('webhooks', 'Webhook deliveries', pct(w.success_rate), `${w.succeeded} delivered, ${w.failed} failed, ${w.pending} pending`)),
    q.by_kind.length ? h('p', { class: 'hint' }, 'Open now: ',
      q.by_kind.map((k) => `${KIND[k.kind] || k.kind} ${k.open} (oldest ${duration(k.oldest_age_ms)})`).join(' · ')) : null,
    h('div', { class: 'dash-grid' }, charts(d)),
    endpointsView(d));
  paintSwatches(root);
  return root;
}

export async function renderDashboard(main) {
  if (!app.isModerator()) {
    replace(main, h('div', { class: 'console' }, h('h1', {}, 'Dashboard'), h('p', {}, 'Only moderators and the operator can open the dashboard.')));
    return null;
  }
  const body = h('div', { 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  const period = h('select', { id: 'dash-days' },
    [7, 14, 30, 90].map((n) => h('option', { value: n, selected: n === 14 }, `Last ${n} days`)));
  replace(main, h('div', { class: 'console dashboard' },
    h('div', { class: 'dash-head' }, h('h1', {}, 'Dashboard'),
      h('div', { class: 'filters' }, h('label', { for: 'dash-days' }, 'Period'), period)),
    body));
  async function load() {
    body.setAttribute('aria-busy', 'true');
    try {
      const { data } = await api('GET', `/v1/admin/dashboard?days=${encodeURIComponent(period.value)}`);
      replace(body, view(data));
      announce(`Dashboard for ${data.from} to ${data.to} loaded`);
    } catch (e) {
      const msg = e instanceof ApiError && e.status === 403 ? 'Only moderators and the operator can open the dashboard.' : `Could not load the dashboard: ${e.message}`;
      replace(body, h('p', { class: 'error', role: 'alert' }, msg));
    }
    body.setAttribute('aria-busy', 'false');
  }
  period.addEventListener('change', load);
  await load();
  return null;
}
