// Interview scheduling: the conversation's "Schedule" panel (offer times, pick a time from the
// other person's availability, booking cards with "Join call", reschedule, cancel and the .ics),
// and the Interviews page (upcoming interviews in every conversation, availability settings,
// the private calendar feed). Every time is shown in the viewer's own zone with the other
// person's beside it: "10:00 your time · 15:30 Mei’s time".

import { api, download } from './api.js';
import { h, replace, announce } from './util.js';
import { app } from './state.js';

const MINUTE = 60000;
/** "Join call" is active from this long before the start ... */
const JOIN_BEFORE = 10 * MINUTE;
/** ... to this long after the end. */
const JOIN_AFTER = 30 * MINUTE;

/** The browser's own time zone ("your time"). */
export function myZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

function fmt(ms, tz, opts) {
  return new Intl.DateTimeFormat('en-GB', { timeZone: tz, ...opts }).format(new Date(ms));
}
const clock = (ms, tz) => fmt(ms, tz, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const day = (ms, tz) => fmt(ms, tz, { weekday: 'short', day: 'numeric', month: 'short' });

/** "Mon 7 Dec, 10:00 your time · 15:30 Mei’s time" (their day too when it differs). */
export function bothZones(ms, other) {
  const mine = myZone();
  let s = `${day(ms, mine)}, ${clock(ms, mine)} your time`;
  if (other && other.time_zone && other.time_zone !== mine) {
    const first = (other.name || other.id).split(' ')[0];
    const theirDay = day(ms, other.time_zone) !== day(ms, mine) ? `${day(ms, other.time_zone)}, ` : '';
    s += ` · ${theirDay}${clock(ms, other.time_zone)} ${first}’s time`;
  }
  return s;
}

/** Whether "Join call" is active for a booking at `now`. */
export function joinable(b, now = Date.now()) {
  return b.status === 'confirmed' && now >= Date.parse(b.start) - JOIN_BEFORE
    && now <= Date.parse(b.end) + JOIN_AFTER;
}

/** Starts the conversation's Parley call (the call UI listens for this event). */
export function joinCall(conversationId) {
  window.dispatchEvent(new CustomEvent('parley:call', { detail: { conversation: conversationId, video: true } }));
}

function person(id) {
  return { id, ...(app.users.get(id) || {}), name: app.nameOf(id) };
}

/** A local `datetime-local` value (the browser's zone) as an RFC 3339 instant. */
function instant(local) {
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? null : d.toISOString().replace('.000Z', 'Z');
}

let formSeq = 0;

/** A booking card: when (both zones), status, Join call, calendar file, reschedule, cancel. */
function bookingCard(b, { onChanged, showConversation = false }) {
  const me = app.me.id;
  const other = person(b.host_id === me ? b.guest_id : b.host_id);
  const start = Date.parse(b.start);
  const n = ++formSeq;
  const cancelled = b.status === 'cancelled';
  const status = h('p', { class: 'hint', role: 'status' });
  const active = joinable(b);
  const join = h('button', {
    type: 'button', class: 'primary join', disabled: active ? null : true,
    'aria-describedby': active ? null : `join-hint-${n}`,
    onclick: () => joinCall(b.conversation_id),
  }, 'Join call');
  const reason = h('input', { type: 'text', id: `reason-${n}`, maxlength: '500' });
  const when = h('input', { type: 'datetime-local', id: `when-${n}` });
  async function change(path, body, done) {
    try {
      const { data } = await api('POST', `/v1/bookings/${encodeURIComponent(b.id)}/${path}`, body);
      announce(done);
      onChanged(data.booking);
    } catch (e) {
      status.textContent = `Could not change the interview: ${e.message}`;
    }
  }
  const manage = cancelled ? null : h('details', { class: 'manage' },
    h('summary', {}, 'Reschedule or cancel'),
    h('p', {}, h('label', { for: `when-${n}` }, 'New time (your time)'), ' ', when),
    h('p', {}, h('label', { for: `reason-${n}` }, 'Reason (shown to ', other.name, ')'), ' ', reason),
    h('p', {},
      h('button', {
        type: 'button',
        onclick: () => {
          const start = instant(when.value);
          if (!start) { status.textContent = 'Choose the new time first.'; return; }
          change('reschedule', { start, reason: reason.value || undefined }, 'Interview moved');
        },
      }, 'Move the interview'), ' ',
      h('button', {
        type: 'button', class: 'danger',
        onclick: () => change('cancel', { reason: reason.value || undefined }, 'Interview cancelled'),
      }, 'Cancel the interview')));
  return h('li', { class: `booking-card ${cancelled ? 'cancelled' : ''}`, dataset: { booking: b.id } },
    h('p', { class: 'booking-title' }, h('strong', {}, cancelled ? 'Interview cancelled' : 'Interview'),
      ` with ${other.name} · ${b.minutes} min`),
    h('p', { class: 'booking-when' }, h('time', { datetime: b.start }, bothZones(start, other))),
    b.reason ? h('p', { class: 'hint' }, `${b.changed_by === me ? 'You' : app.nameOf(b.changed_by)}: “${b.reason}”`) : null,
    showConversation ? h('p', {}, h('a', { href: `#/c/${encodeURIComponent(b.conversation_id)}` }, 'Open the conversation')) : null,
    cancelled ? null : h('p', { class: 'booking-actions' }, join,
      active ? null : h('span', { class: 'hint', id: `join-hint-${n}` }, ' Opens 10 minutes before the start'), ' ',
      h('button', {
        type: 'button', class: 'link',
        onclick: () => download(`/v1/bookings/${encodeURIComponent(b.id)}/ics`, 'interview.ics')
          .catch((e) => { status.textContent = `Could not download: ${e.message}`; }),
      }, 'Add to calendar (.ics)')),
    manage, status);
}

/** The conversation's scheduling panel. */
export function createSchedule({ conversationId, others }) {
  const other = others[0] ? person(others[0].id) : null;
  const otherFirst = other ? other.name.split(' ')[0] : 'them';
  const enc = encodeURIComponent(conversationId);
  const status = h('p', { class: 'hint', role: 'status' });
  const list = h('ul', { class: 'schedule-list', 'aria-label': 'Interviews in this conversation' });
  const picks = h('ul', { class: 'slot-list', 'aria-label': `${otherFirst}’s free times` });
  const length = h('select', { id: 'offer-length' },
    ['30', '45', '60'].map((m) => h('option', { value: m }, `${m} minutes`)));
  const inputs = [1, 2, 3].map((i) => h('input', { type: 'datetime-local', id: `offer-${i}` }));
  const form = h('form', {
    id: 'schedule-form', class: 'schedule-form', hidden: true,
    onsubmit: async (e) => {
      e.preventDefault();
      const slots = inputs.map((x) => instant(x.value)).filter(Boolean)
        .map((start) => ({ start, minutes: Number(length.value) }));
      if (!slots.length) { status.textContent = 'Choose at least one time.'; return; }
      try {
        await api('POST', `/v1/conversations/${enc}/proposals`, { slots });
        for (const x of inputs) x.value = '';
        announce('Times offered');
        status.textContent = `Times offered: ${otherFirst} picks one.`;
        await load();
      } catch (err) {
        status.textContent = `Could not offer these times: ${err.message}`;
      }
    },
  },
  h('fieldset', {}, h('legend', {}, `Offer times (your time, ${myZone()})`),
    inputs.map((x, i) => h('p', {}, h('label', { for: x.id }, `Time ${i + 1}`), ' ', x)),
    h('p', {}, h('label', { for: 'offer-length' }, 'Length'), ' ', length),
    h('button', { type: 'submit', class: 'primary' }, 'Offer times')),
  other ? h('p', {}, h('button', { type: 'button', onclick: () => loadFree() }, `Pick from ${otherFirst}’s availability`)) : null,
  picks);
  const toggle = h('button', {
    type: 'button', class: 'schedule-toggle', 'aria-expanded': 'false', 'aria-controls': 'schedule-form',
    onclick: () => {
      form.hidden = !form.hidden;
      toggle.setAttribute('aria-expanded', String(!form.hidden));
      if (!form.hidden) inputs[0].focus();
    },
  }, 'Schedule');
  const el = h('section', { class: 'schedule-panel', 'aria-labelledby': 'schedule-title' },
    h('h3', { id: 'schedule-title' }, 'Interviews'), toggle, form, list, status);
  let data = { proposals: [], bookings: [] };

  async function book(path, body) {
    try {
      await api('POST', path, body);
      announce('Interview booked');
      status.textContent = 'Interview booked.';
      replace(picks);
      await load();
    } catch (e) {
      status.textContent = e.status === 409 ? 'That time was just taken. Pick another one.' : `Could not book: ${e.message}`;
      await load();
    }
  }

  async function loadFree() {
    try {
      const q = new URLSearchParams({ minutes: length.value });
      const { data: free } = await api('GET', `/v1/users/${encodeURIComponent(other.id)}/slots?${q}`);
      if (free.time_zone && !other.time_zone) other.time_zone = free.time_zone;
      if (!free.slots.length) {
        replace(picks, h('li', { class: 'empty' }, free.time_zone
          ? `${otherFirst} has no free time in the next two weeks.` : `${otherFirst} has not shared availability.`));
        return;
      }
      replace(picks, free.slots.slice(0, 40).map((s) => h('li', {}, h('button', {
        type: 'button', class: 'slot',
        onclick: () => book(`/v1/conversations/${enc}/bookings`, { host_id: other.id, start: s.start, minutes: Number(length.value) }),
      }, `Book ${bothZones(Date.parse(s.start), other)}${s.fold_offset ? ` (UTC${s.fold_offset})` : ''}`))));
    } catch (e) {
      status.textContent = `Could not load free times: ${e.message}`;
    }
  }

  function render() {
    const items = [];
    for (const p of data.proposals.filter((x) => x.state === 'open')) {
      const mine = p.author_id === app.me.id;
      const author = person(p.author_id);
      items.push(h('li', { class: 'proposal' },
        h('p', {}, mine ? `You offered ${p.slots.length === 1 ? 'a time' : 'these times'}; waiting for ${otherFirst} to pick:`
          : `${author.name} offered ${p.slots.length === 1 ? 'a time' : 'these times'}. Pick one:`),
        h('ul', { class: 'slot-list' }, p.slots.map((s) => h('li', {}, mine
          ? h('span', {}, bothZones(Date.parse(s.start), other))
          : h('button', {
            type: 'button', class: 'slot',
            onclick: () => book(`/v1/proposals/${encodeURIComponent(p.id)}/accept`, { start: s.start }),
          }, `Pick ${bothZones(Date.parse(s.start), author)} · ${s.minutes} min`))))));
    }
    for (const b of data.bookings) {
      items.push(bookingCard(b, { onChanged: () => load() }));
    }
    replace(list, items);
  }

  async function load() {
    try {
      data = (await api('GET', `/v1/conversations/${enc}/schedule`)).data;
      render();
    } catch { /* the next event tries again */ }
  }
  load();
  // "Join call" turns on and off with the clock.
  const timer = setInterval(render, 30000);
  return {
    el,
    onEvent(ev) {
      if (!/^(proposal|booking)\./.test(ev.type)) return;
      if (ev.type === 'booking.created') announce('Interview booked');
      if (ev.type === 'booking.updated' && ev.booking) {
        announce(ev.booking.status === 'cancelled' ? 'Interview cancelled' : 'Interview moved');
      }
      load();
    },
    destroy() { clearInterval(timer); },
  };
}

const DAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'],
  ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday']];

function availabilityForm(current, status) {
  const tz = h('input', { type: 'text', id: 'av-tz', value: (current && current.time_zone) || myZone(), autocomplete: 'off' });
  const rows = DAYS.map(([d, label]) => {
    const hours = current && current.weekly.find((w) => w.day === d);
    const on = h('input', { type: 'checkbox', id: `av-${d}`, checked: hours ? true : (!current && !['sat', 'sun'].includes(d)) });
    const from = h('input', { type: 'time', id: `av-${d}-from`, value: hours ? hours.start : '09:00' });
    const to = h('input', { type: 'time', id: `av-${d}-to`, value: hours ? (hours.end === '24:00' ? '23:59' : hours.end) : '17:00' });
    return { d, on, from, to, el: h('p', { class: 'av-day' }, on, ' ', h('label', { for: `av-${d}` }, label), ' ',
      h('label', { for: `av-${d}-from`, class: 'sr-only' }, `${label} from`), from, ' to ',
      h('label', { for: `av-${d}-to`, class: 'sr-only' }, `${label} until`), to) };
  });
  const num = (id, label, value) => {
    const input = h('input', { type: 'number', id, min: '0', value: String(value) });
    return { input, el: h('p', {}, h('label', { for: id }, label), ' ', input) };
  };
  const buffer = num('av-buffer', 'Free minutes before and after each interview', current ? current.buffer_minutes : 0);
  const notice = num('av-notice', 'Minimum notice (minutes)', current ? current.min_notice_minutes : 240);
  const perDay = num('av-max', 'Most interviews a day (0: no limit)', current ? current.max_per_day : 0);
  const windowDays = num('av-window', 'Book up to this many days ahead', current ? current.window_days : 30);
  return h('form', {
    class: 'availability',
    onsubmit: async (e) => {
      e.preventDefault();
      const body = {
        time_zone: tz.value.trim(),
        weekly: rows.filter((r) => r.on.checked).map((r) => ({ day: r.d, start: r.from.value, end: r.to.value })),
        overrides: current ? current.overrides : [],
        buffer_minutes: Number(buffer.input.value) || 0,
        min_notice_minutes: Number(notice.input.value) || 0,
        max_per_day: Number(perDay.input.value) || 0,
        window_days: Number(windowDays.input.value) || 30,
      };
      try {
        await api('PUT', '/v1/me/availability', body);
        status.textContent = 'Availability saved.';
      } catch (err) {
        status.textContent = `Could not save: ${err.message}`;
      }
    },
  },
  h('p', {}, h('label', { for: 'av-tz' }, 'Your time zone'), ' ', tz),
  h('fieldset', {}, h('legend', {}, 'Weekly hours (your time)'), rows.map((r) => r.el)),
  buffer.el, notice.el, perDay.el, windowDays.el,
  h('button', { type: 'submit', class: 'primary' }, 'Save availability'));
}

/** The Interviews page: upcoming interviews (both sides), availability, the calendar feed. */
export async function renderInterviews(main) {
  const upcoming = h('ul', { class: 'schedule-list', 'aria-label': 'Upcoming interviews' });
  const avStatus = h('p', { class: 'hint', role: 'status' });
  const avHolder = h('div');
  const feedOut = h('div', { role: 'status' });
  replace(main, h('div', { class: 'console interviews' },
    h('h1', {}, 'Interviews'),
    h('section', { 'aria-labelledby': 'up-h' }, h('h2', { id: 'up-h' }, 'Upcoming interviews'), upcoming),
    h('section', { 'aria-labelledby': 'av-h' }, h('h2', { id: 'av-h' }, 'Availability'),
      h('p', { class: 'hint' }, 'People you share a conversation with can book a free time from these hours.'),
      avHolder, avStatus),
    h('section', { 'aria-labelledby': 'feed-h' }, h('h2', { id: 'feed-h' }, 'Calendar feed'),
      h('p', { class: 'hint' }, 'A private link your calendar app can subscribe to. Anyone with the link sees your interview times; getting a new link stops the old one.'),
      h('button', {
        type: 'button',
        onclick: async () => {
          try {
            const { data } = await api('POST', '/v1/me/calendar-feed');
            const link = data.webcal || `${location.origin}${data.url}`;
            replace(feedOut, h('p', {}, h('label', { for: 'feed-url' }, 'Your calendar link'), ' ',
              h('input', { type: 'text', id: 'feed-url', readonly: true, value: link, size: '60' })));
          } catch (e) {
            replace(feedOut, h('p', {}, `Could not make a link: ${e.message}`));
          }
        },
      }, 'Get a new calendar link'), feedOut)));
  async function loadUpcoming() {
    const { data } = await api('GET', '/v1/me/bookings');
    replace(upcoming, data.bookings.length
      ? data.bookings.map((b) => bookingCard(b, { onChanged: () => loadUpcoming(), showConversation: true }))
      : h('li', { class: 'empty' }, 'No interviews booked.'));
  }
  let current = null;
  try {
    current = (await api('GET', '/v1/me/availability')).data;
  } catch { /* none shared yet */ }
  replace(avHolder, availabilityForm(current, avStatus));
  await loadUpcoming();
  const off = app.live.on((ev) => {
    if (/^booking\./.test(ev.type)) loadUpcoming().catch(() => {});
  });
  const timer = setInterval(() => loadUpcoming().catch(() => {}), 60000);
  return () => { off(); clearInterval(timer); };
}
