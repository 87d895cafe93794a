// "Notices": the enforcements that concern me (blocks, masks, strikes, warnings, restrictions),
// each with its statement of reasons (the facts, the rule, whether automated means decided, how to
// appeal), and the appeal itself: free, in writing, decided by a person.
// API: GET /v1/me/enforcements, POST /v1/appeals.

import { api, ApiError } from './api.js';
import { h, replace, announce } from './util.js';
import { app } from './state.js';

const KIND = {
  block: 'Message not sent',
  mask: 'Message delivered with parts hidden',
  strike: 'Strike',
  warning: 'Warning',
  restriction: 'Messaging restricted',
  suspension: 'Account suspended',
};

const APPEAL = {
  open: 'Appeal sent: a moderator who did not take this decision will review it.',
  upheld: 'Appeal reviewed: the decision stands.',
  overturned: 'Appeal reviewed: the decision was reversed.',
};

function when(ms) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: app.me.time_zone || undefined }).format(new Date(ms));
}

function appealForm(e, onDone) {
  const id = `appeal-${e.id}`;
  const text = h('textarea', { id, rows: 3, maxlength: 4000, required: true });
  const status = h('p', { role: 'status', class: 'item-status' });
  const form = h('form', { class: 'appeal-form' },
    h('label', { for: id }, 'Why should this be reconsidered?'),
    text,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Send appeal')),
    status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!text.value.trim()) {
      status.textContent = 'Please write a few words about why.';
      text.focus();
      return;
    }
    try {
      await api('POST', '/v1/appeals', { enforcement_id: e.id, statement: text.value.trim() });
      announce('Appeal sent');
      onDone();
    } catch (err) {
      status.textContent = `Could not send the appeal: ${err.message}`;
    }
  });
  return form;
}

function enforcementView(e, reload) {
  const s = e.statement || {};
  const hid = `enf-${e.id}`;
  const slot = h('div', {});
  return h('article', { class: 'item', 'aria-labelledby': hid },
    h('h3', { id: hid }, KIND[e.kind] || e.kind),
    h('p', { class: 'item-meta' }, when(e.created_at), e.ends_at ? ` · until ${when(e.ends_at)}` : ''),
    h('dl', { class: 'facts' },
      s.facts ? [h('dt', {}, 'What happened'), h('dd', {}, s.facts)] : null,
      s.rule ? [h('dt', {}, 'Rule'), h('dd', {}, s.rule)] : null,
      h('dt', {}, 'Decided'), h('dd', {}, s.automated ? 'Automatically' : 'By a moderator'),
      s.how_to_appeal ? [h('dt', {}, 'Appeal'), h('dd', {}, s.how_to_appeal)] : null),
    e.lifted_at ? h('p', { class: 'resolution' }, `Lifted ${when(e.lifted_at)}`) : null,
    e.appeal ? h('p', { class: 'resolution' }, APPEAL[e.appeal.status] || `Appeal: ${e.appeal.status}`,
      e.appeal.note ? ` — ${e.appeal.note}` : '') : null,
    !e.appeal && e.appealable ? h('div', {},
      h('button', {
        type: 'button',
        onclick: (ev) => {
          ev.currentTarget.hidden = true;
          replace(slot, appealForm(e, reload));
          slot.querySelector('textarea').focus();
        },
      }, 'Appeal this decision'), slot) : null);
}

export async function renderNotices(main, live) {
  const list = h('div', { class: 'queue-items' });
  const soon = h('ul', { class: 'schedule-list', 'aria-label': 'Interviews in the next 24 hours' });
  replace(main, h('div', { class: 'console' },
    h('h1', {}, 'Notices'),
    h('p', { class: 'hint' }, 'Decisions about your messages and account, with the reasons. You can appeal each one for free; a person reviews it.'),
    h('h2', {}, 'Interview reminders'),
    h('p', { class: 'hint' }, 'You are reminded here 24 hours and 10 minutes before each interview.'),
    soon,
    h('h2', {}, 'Decisions'),
    list));
  async function loadSoon() {
    try {
      const { data } = await api('GET', '/v1/me/bookings');
      const now = Date.now();
      const next = data.bookings.filter((b) => Date.parse(b.start) - now <= 86400000);
      replace(soon, next.length ? next.map((b) => h('li', {}, h('a', { href: `#/c/${encodeURIComponent(b.conversation_id)}` },
        `Interview with ${app.nameOf(b.host_id === app.me.id ? b.guest_id : b.host_id)} at ${new Date(b.start).toLocaleString()}`)))
        : h('li', { class: 'empty' }, 'No interview in the next 24 hours.'));
    } catch { replace(soon); }
  }
  loadSoon();
  async function load() {
    try {
      const { data } = await api('GET', '/v1/me/enforcements');
      const items = data.enforcements || [];
      replace(list, items.length ? items.map((e) => enforcementView(e, load)) : h('p', { class: 'empty' }, 'Nothing here: no decisions about your messages.'));
    } catch (e) {
      replace(list, h('p', { class: 'error' }, e instanceof ApiError && e.status === 404
        ? 'Notices are not available on this server.' : `Could not load your notices: ${e.message}`));
    }
  }
  await load();
  // A new enforcement, or an appeal decided, shows up at once (enforcement.* events).
  const off = live ? live.on((ev) => {
    if (ev.type === 'enforcement.created' || ev.type === 'enforcement.updated') load();
    if (/^booking\./.test(ev.type)) loadSoon();
  }) : null;
  return off;
}

let reasonsCache = null;

/** The operator's report reasons, or null when this server takes no reports. */
export async function reportReasons() {
  if (!reasonsCache) {
    reasonsCache = api('GET', '/v1/reports/reasons')
      .then((r) => r.data.reasons || [])
      .catch(() => null);
  }
  return reasonsCache;
}

/** A modal dialog to report one message; resolves when closed. */
export async function reportDialog(message, authorName) {
  const reasons = await reportReasons();
  if (!reasons) return;
  const select = h('select', { id: 'report-reason', required: true },
    reasons.map((r) => h('option', { value: r.id }, r.label)));
  const note = h('textarea', { id: 'report-note', rows: 3, maxlength: 2000 });
  const status = h('p', { role: 'status', class: 'item-status' });
  const dialog = h('dialog', { class: 'report-dialog', 'aria-labelledby': 'report-h' });
  const form = h('form', {},
    h('h2', { id: 'report-h' }, `Report a message from ${authorName}`),
    h('blockquote', {}, message.body || ''),
    h('label', { for: 'report-reason' }, 'Reason'), select,
    h('label', { for: 'report-note' }, 'Anything a moderator should know? (optional)'), note,
    status,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Send report'),
      h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel')));
  dialog.append(form);
  document.body.append(dialog);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', '/v1/reports', { message_id: message.id, reason: select.value, note: note.value.trim() || undefined });
      dialog.close();
      announce('Report sent. A moderator will look at it.');
    } catch (e) {
      status.textContent = `Could not send the report: ${e.message}`;
    }
  });
  const closed = new Promise((resolve) => dialog.addEventListener('close', resolve));
  dialog.showModal();
  select.focus();
  await closed;
  dialog.remove();
}
