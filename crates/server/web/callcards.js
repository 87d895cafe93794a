// Call cards in the conversation's log: who called, voice or video, how it ended and how long
// it lasted (metadata only, from `GET /v1/conversations/{id}/calls`). The chat view places them
// among the messages by time and reloads them on every `call.state` and `call.ended` event.

import { api } from './api.js';
import { h } from './util.js';
import { app } from './state.js';

const ENDED = {
  completed: 'Ended',
  canceled: 'Canceled',
  no_answer: 'Missed (no answer)',
  declined: 'Declined',
  busy: 'Busy',
  failed: 'Lost',
  ice_failed: 'Could not connect',
  answered_elsewhere: 'Answered elsewhere',
};

/** "3 min 05 s", "42 s". */
export function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  return m ? `${m} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
}

/** The state words of a call record. */
export function callState(c) {
  if (c.state === 'ringing') return 'Ringing';
  if (c.state === 'active') return 'In progress';
  return ENDED[c.end_reason] || 'Ended';
}

/** One call card (`time` is the clock text of its start in the viewer's zone). */
export function callCard(c, time) {
  const who = c.caller_id === app.me.id ? 'You' : app.nameOf(c.caller_id);
  const kind = c.video ? 'Video call' : 'Voice call';
  const long = c.answered_at && c.duration_ms != null ? ` · ${duration(c.duration_ms)}` : '';
  const media = c.screen_used ? ' · screen shared' : '';
  return h('li', { class: `call-card call-${c.state}`, dataset: { call: c.id } },
    h('p', {},
      h('strong', {}, kind), ` from ${who} · `,
      h('span', { class: 'call-card-state' }, callState(c)), long, media, ' · ',
      h('time', { datetime: new Date(c.created_at).toISOString() }, time)));
}

/** The conversation's calls, oldest first (empty when they cannot be read). */
export async function loadCalls(conversationId) {
  try {
    const { data } = await api('GET', `/v1/conversations/${encodeURIComponent(conversationId)}/calls?limit=100`);
    return [...data.calls].reverse();
  } catch {
    return [];
  }
}
