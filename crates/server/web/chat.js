// One conversation: history with infinite scroll (cursor pagination), live arrival, read state,
// typing indicator, edit/delete of one's own messages, day separators and each side's local time.

import { api, ApiError, download } from './api.js';
import { h, replace, timeIn, dayKey, dayLabel, place, announce, debounce } from './util.js';
import { app } from './state.js';
import { createComposer } from './composer.js';
import { createFiles, STATE_LABEL, size, kind } from './files.js';
import { createSchedule } from './schedule.js';
import { callCard, loadCalls } from './callcards.js';
import { reportReasons, reportDialog } from './account.js';

const PAGE = 30;
const infoCache = new Map();

// A clear phone number: if the policy would stop it here, the contact rule applies in this
// conversation (pre-contract, and no exempt plan). Checking asks the server's own policy.
const PROBE = 'call me at +1 415 555 0100';

/** A conversation with its members, and whether the contact rule applies between them. */
export function convInfo(id, fresh) {
  if (fresh || !infoCache.has(id)) {
    const p = (async () => {
      const { data } = await api('GET', `/v1/conversations/${encodeURIComponent(id)}`);
      for (const m of data.members) app.users.set(m.id, { ...app.users.get(m.id), ...m });
      let rulesApply = false;
      let stage = null;
      try {
        const c = (await api('POST', '/v1/check', { body: PROBE, conversation_id: id })).data;
        rulesApply = !!c.violation;
        stage = c.stage;
      } catch { /* no banner when the check is unavailable */ }
      return { ...data, rulesApply, stage };
    })();
    infoCache.set(id, p);
    p.catch(() => infoCache.delete(id));
  }
  return infoCache.get(id);
}

const REF = { job: 'Job', proposal: 'Proposal', invite: 'Invite', contract: 'Contract' };
/** What a conversation belongs to, by name: "Proposal · Landing page redesign". */
export function refLabel(ref) {
  if (!ref) return 'Direct message';
  const kind = REF[ref.kind] || ref.kind;
  return ref.title && ref.title !== kind ? `${kind} · ${ref.title}` : kind;
}

function maskedBody(text) {
  // Masks from the policy look like "[phone hidden]": shown as a distinct token.
  const frag = document.createDocumentFragment();
  const re = /\[[^\[\]\n]{1,40} hidden\]/g;
  let at = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > at) frag.append(text.slice(at, m.index));
    frag.append(h('span', { class: 'masked' }, m[0]));
    at = m.index + m[0].length;
  }
  if (at < text.length) frag.append(text.slice(at));
  return frag;
}

export async function renderChat(pane, id) {
  let info;
  try {
    info = await convInfo(id, true);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      replace(pane, h('div', { class: 'empty' }, h('h2', {}, 'Conversation not found'),
        h('p', {}, h('a', { href: '#/inbox' }, 'Back to the inbox'))));
      return null;
    }
    throw e;
  }
  const me = app.me;
  const tz = me.time_zone || undefined;
  const others = info.members.filter((m) => m.id !== me.id);
  const otherName = others.map((o) => o.name).join(', ') || 'nobody else';
  const reads = new Map(info.members.map((m) => [m.id, m.last_read_message_id || 0]));
  /** id -> message (as this viewer sees it). */
  const msgs = new Map();
  /** message id -> the decision returned when this tab sent it (for "what was hidden and why"). */
  const sentDecisions = new Map();
  let hasMore = false;
  let loadingOlder = false;
  let typingTimer = null;

  const clocks = h('p', { class: 'clocks' });
  function renderClocks() {
    const now = Date.now();
    replace(clocks, h('span', {}, `Your time ${timeIn(now, tz)}`),
      others.filter((o) => o.time_zone).map((o) => h('span', {},
        ` · ${o.name.split(' ')[0]}’s time ${timeIn(now, o.time_zone)} (${place(o.time_zone)})`)));
  }
  renderClocks();
  const clockTimer = setInterval(renderClocks, 30000);

  const list = h('ol', { class: 'messages' });
  const sentinel = h('div', { class: 'sentinel' });
  const older = h('p', { class: 'older', role: 'status' });
  const scroller = h('div', { class: 'scroller', role: 'log', 'aria-label': `Messages with ${otherName}`, tabindex: '0' },
    sentinel, older, list);
  const typing = h('p', { class: 'typing', 'aria-live': 'polite' });
  const files = createFiles({ conversationId: id, me });
  const composer = createComposer({
    conversationId: id,
    otherName,
    attachments: files.attachments,
    onSent(m, decision) {
      if (decision) sentDecisions.set(m.id, decision);
      upsert(m);
      stickBottom();
    },
    onEdited(m, decision) {
      if (decision) sentDecisions.set(m.id, decision);
      upsert(m);
    },
  });

  const schedule = createSchedule({ conversationId: id, others });
  const banner = info.rulesApply ? h('aside', { class: 'banner', 'aria-label': 'How contact details work here' },
    h('p', {}, h('strong', {}, 'Keep it on Parley until the contract starts: '),
      'phone numbers, emails and outside links are hidden or held back until then. ',
      'Need to talk or share work? Use Parley’s ',
      h('strong', {}, 'voice and video calls'), ' and ', h('strong', {}, 'file sharing'), ' right here in the conversation.')) : null;

  const subject = info.conversation.subject || `Conversation with ${otherName}`;
  const exportStatus = h('span', { class: 'hint', role: 'status' });
  replace(pane,
    h('header', { class: 'chat-head' },
      h('a', { class: 'back', href: '#/inbox' }, h('span', { 'aria-hidden': 'true' }, '← '), 'Inbox'),
      h('h2', { id: 'chat-title' }, subject),
      h('div', { class: 'call-buttons' },
        h('button', { type: 'button', class: 'call-voice', 'aria-label': 'Start a voice call',
          onclick: () => window.dispatchEvent(new CustomEvent('parley:call', { detail: { conversation: id, video: false } })) }, 'Call'),
        h('button', { type: 'button', class: 'call-video', 'aria-label': 'Start a video call',
          onclick: () => window.dispatchEvent(new CustomEvent('parley:call', { detail: { conversation: id, video: true } })) }, 'Video')),
      h('p', { class: 'with' }, `With ${others.map((o) => `${o.name}${o.roles && o.roles.length ? ` (${o.roles.join(', ')})` : ''}`).join(', ') || 'nobody else'} · `,
        h('span', { class: 'ref' }, refLabel(info.conversation.ref)),
        info.stage ? h('span', { class: `stage stage-${info.stage}` }, info.stage.replace(/_/g, ' ')) : null),
      clocks,
      h('details', { class: 'exports' },
        h('summary', {}, 'Export transcript'),
        ['json', 'html'].map((fmt) => h('button', {
          type: 'button', class: 'link',
          onclick: async () => {
            try {
              await download(`/v1/conversations/${encodeURIComponent(id)}/export?format=${fmt}`, `parley-${id}.${fmt}`);
              announce('Transcript downloaded');
            } catch (e) {
              announce(`Could not export: ${e.message}`);
              exportStatus.textContent = `Could not export: ${e.message}`;
            }
          },
        }, fmt === 'json' ? 'JSON (with digest)' : 'printable page')),
        exportStatus)),
    banner, scroller, typing, schedule.el, files.el, files.input, composer.el);
  files.acceptDrops(pane);

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }
  function stickBottom() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  function messageEl(m, showSeen) {
    const own = m.author_id === me.id;
    const author = own ? 'You' : app.nameOf(m.author_id);
    const authorTz = (app.users.get(m.author_id) || {}).time_zone;
    const deleted = !!m.deleted_at;
    const attached = !deleted && m.attachments && m.attachments.length ? m.attachments : [];
    const body = deleted ? h('p', { class: 'body deleted' }, 'Message deleted')
      : (!m.body && attached.length ? null : h('p', { class: 'body' }, own ? m.body : maskedBody(m.body || '')));
    const fileList = attached.length ? h('ul', { class: 'msg-files', 'aria-label': 'Attached files' },
      ...attached.map((a) => h('li', { class: `msg-file file-${a.state}`, 'data-file': a.id },
        h('span', { class: 'file-kind' }, kind(a.content_type || '', a.name)),
        h('span', { class: 'file-name' }, a.name),
        h('span', { class: 'file-meta' }, size(a.size)),
        own ? h('span', { class: `file-state state-${a.state}` }, STATE_LABEL[a.state] || a.state) : null,
        a.download_url ? h('a', { href: a.download_url, download: a.name, class: 'file-download' }, `Download ${a.name}`) : null))) : null;
    const notes = [];
    if (!deleted && own) {
      if (m.state === 'held') notes.push(h('p', { class: 'note held' }, 'Waiting for a reviewer · only you can see this for now'));
      if (m.state === 'rejected') notes.push(h('p', { class: 'note rejected' }, 'Not delivered: a reviewer decided it breaks the contact rule'));
      if (m.state === 'delivered' && m.delivered_body && m.delivered_body !== m.body) {
        // Right after sending: the send's answer; after a reload: the findings stored with it.
        const d = sentDecisions.get(m.id) || (m.findings ? { findings: m.findings } : null);
        const why = d && (d.findings || []).filter((f) => f.action === 'mask').map((f) => `“${f.matched}” (${f.rule_text || f.category})`).join(', ');
        notes.push(h('div', { class: 'note masked-note' },
          h('p', {}, h('strong', {}, 'Delivered with parts hidden. '), `${otherName} sees: `, maskedBody(m.delivered_body)),
          h('p', {}, why ? `Hidden: ${why}. ` : '', 'Before a contract starts, contact details stay on Parley.')));
      }
      if (m.purpose && m.purpose.startsWith('scoping_access:')) {
        notes.push(h('p', { class: 'note exception' }, `Exception declared: shared for access to ${m.purpose.slice('scoping_access:'.length)}`));
      }
    }
    if (!deleted && !own && m.notice) notes.push(h('p', { class: 'note notice' }, m.notice));
    const theirTime = !own && authorTz && authorTz !== tz && timeIn(m.created_at, authorTz) !== timeIn(m.created_at, tz)
      ? ` · ${timeIn(m.created_at, authorTz)} for ${author.split(' ')[0]}` : '';
    const actions = own && !deleted && m.state !== 'rejected' ? h('div', { class: 'msg-actions' },
      h('button', { type: 'button', class: 'link', 'aria-label': `Edit message: ${(m.body || '').slice(0, 40)}`, onclick: () => composer.startEdit(m) }, 'Edit'),
      h('button', {
        type: 'button', class: 'link', 'aria-label': `Delete message: ${(m.body || '').slice(0, 40)}`,
        onclick: async () => {
          if (!window.confirm('Delete this message for everyone?')) return;
          try {
            const { data } = await api('DELETE', `/v1/conversations/${encodeURIComponent(id)}/messages/${m.id}`);
            upsert(data.message);
            announce('Message deleted');
          } catch (e) {
            announce(`Could not delete: ${e.message}`);
          }
        },
      }, 'Delete')) : null;
    const report = !own && !deleted && canReport ? h('div', { class: 'msg-actions' },
      h('button', {
        type: 'button', class: 'link', 'aria-label': `Report message from ${author}: ${(m.body || '').slice(0, 40)}`,
        onclick: () => reportDialog(m, author),
      }, 'Report')) : null;
    return h('li', { class: `msg ${own ? 'own' : 'theirs'} state-${m.state}`, dataset: { id: String(m.id) } },
      h('div', { class: 'bubble' },
        h('p', { class: 'meta' }, h('span', { class: 'author' }, author), ' ',
          h('time', { datetime: new Date(m.created_at).toISOString() }, timeIn(m.created_at, tz)), theirTime,
          m.edited_at && !deleted ? h('span', { class: 'edited' }, ' · edited') : null),
        body, fileList, notes,
        showSeen ? h('p', { class: 'seen' }, 'Seen') : null),
      actions, report);
  }

  function render() {
    const ids = [...msgs.keys()].sort((a, b) => a - b);
    const items = [];
    let day = null;
    // "Seen" on my newest message that every other member has read.
    const othersRead = others.length ? Math.min(...others.map((o) => reads.get(o.id) || 0)) : 0;
    let seenId = null;
    for (const i of ids) {
      const m = msgs.get(i);
      if (m.author_id === me.id && m.state === 'delivered' && i <= othersRead) seenId = i;
    }
    // Call cards among the messages by time (not before the oldest message loaded while
    // older ones remain to load).
    const oldest = ids.length ? msgs.get(ids[0]).created_at : 0;
    const cards = calls.filter((c) => !hasMore || c.created_at >= oldest);
    let ci = 0;
    const dayOf = (at) => {
      const k = dayKey(at, tz);
      if (k !== day) {
        day = k;
        items.push(h('li', { class: 'day' }, h('span', {}, dayLabel(at, tz))));
      }
    };
    const cardsUntil = (at) => {
      while (ci < cards.length && cards[ci].created_at <= at) {
        dayOf(cards[ci].created_at);
        items.push(callCard(cards[ci], timeIn(cards[ci].created_at, tz)));
        ci += 1;
      }
    };
    for (const i of ids) {
      const m = msgs.get(i);
      cardsUntil(m.created_at);
      dayOf(m.created_at);
      items.push(messageEl(m, i === seenId));
    }
    cardsUntil(Infinity);
    if (!ids.length && !cards.length) items.push(h('li', { class: 'empty' }, 'No messages yet. Say hello!'));
    replace(list, items);
    older.textContent = hasMore ? '' : (ids.length ? 'Start of the conversation' : '');
  }

  function upsert(m) {
    if (!m || m.conversation_id !== id) return;
    const bottom = nearBottom();
    msgs.set(m.id, m);
    render();
    if (bottom) stickBottom();
    markRead();
  }

  const markRead = debounce(async () => {
    if (document.visibilityState !== 'visible') return;
    const delivered = [...msgs.values()].filter((m) => m.state === 'delivered').map((m) => m.id);
    if (!delivered.length) return;
    const newest = Math.max(...delivered);
    if (newest <= (reads.get(me.id) || 0)) return;
    reads.set(me.id, newest);
    try {
      await api('POST', `/v1/conversations/${encodeURIComponent(id)}/read`, { message_id: newest });
    } catch { /* read state is best effort */ }
  }, 300);

  async function loadOlder() {
    if (loadingOlder || !hasMore) return;
    loadingOlder = true;
    older.textContent = 'Loading earlier messages…';
    const oldest = Math.min(...msgs.keys());
    try {
      const { data } = await api('GET', `/v1/conversations/${encodeURIComponent(id)}/messages?before=${oldest}&limit=${PAGE}`);
      const fromBottom = scroller.scrollHeight - scroller.scrollTop;
      for (const m of data.messages) msgs.set(m.id, m);
      hasMore = data.has_more;
      render();
      scroller.scrollTop = scroller.scrollHeight - fromBottom;
    } finally {
      loadingOlder = false;
    }
  }

  // A file's state changed (scanned, approved, deleted): the newest messages again, so the
  // files under them show what the reader may now see.
  const refreshAttachments = debounce(async () => {
    try {
      const { data } = await api('GET', `/v1/conversations/${encodeURIComponent(id)}/messages?limit=${PAGE}`);
      for (const m of data.messages) msgs.set(m.id, m);
      render();
    } catch { /* the next event tries again */ }
  }, 300);

  async function catchUp() {
    // After a reconnect: everything newer than what we have, and fresh read markers.
    const newest = msgs.size ? Math.max(...msgs.keys()) : 0;
    try {
      const { data } = await api('GET', `/v1/conversations/${encodeURIComponent(id)}/messages?after=${newest}&limit=200`);
      for (const m of data.messages) msgs.set(m.id, m);
      const fresh = await convInfo(id, true);
      for (const m of fresh.members) reads.set(m.id, Math.max(reads.get(m.id) || 0, m.last_read_message_id || 0));
      render();
      markRead();
    } catch { /* the next event or reconnect tries again */ }
  }

  let calls = [];
  const refreshCalls = debounce(async () => {
    calls = await loadCalls(id);
    const bottom = nearBottom();
    render();
    if (bottom) stickBottom();
  }, 200);

  const canReport = !!(await reportReasons());
  const { data } = await api('GET', `/v1/conversations/${encodeURIComponent(id)}/messages?limit=${PAGE}`);
  for (const m of data.messages) msgs.set(m.id, m);
  hasMore = data.has_more;
  calls = await loadCalls(id);
  render();
  stickBottom();
  markRead();

  // Keep the newest message in view when the pane shrinks (an alert or warning in the composer,
  // a phone keyboard), unless the reader has scrolled up.
  let pinned = true;
  const onScroll = () => { pinned = nearBottom(); };
  scroller.addEventListener('scroll', onScroll, { passive: true });
  const resize = new ResizeObserver(() => { if (pinned) stickBottom(); });
  resize.observe(scroller);

  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadOlder();
  }, { root: scroller, rootMargin: '200px 0px 0px 0px' });
  observer.observe(sentinel);

  const offEvents = app.live.on((ev) => {
    if (ev.conversation_id !== id) return;
    files.onEvent(ev);
    schedule.onEvent(ev);
    if (ev.type === 'file.created' || ev.type === 'file.updated' || ev.type === 'file.deleted') refreshAttachments();
    if (ev.type === 'message.created' || ev.type === 'message.updated' || ev.type === 'message.deleted') {
      if (ev.message) {
        upsert(ev.message);
        if (ev.type === 'message.created' && ev.message.author_id !== me.id) {
          typing.textContent = '';
          announce(`New message from ${app.nameOf(ev.message.author_id)}`);
        }
      } else if (ev.message_id && msgs.has(ev.message_id)) {
        msgs.delete(ev.message_id);
        render();
      }
    } else if (ev.type === 'call.state' || ev.type === 'call.ended') {
      refreshCalls();
    } else if (ev.type === 'read' && ev.user_id) {
      reads.set(ev.user_id, Math.max(reads.get(ev.user_id) || 0, ev.message_id || 0));
      render();
    } else if (ev.type === 'typing' && ev.user_id !== me.id) {
      typing.textContent = `${app.nameOf(ev.user_id)} is typing…`;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => { typing.textContent = ''; }, 5000);
    }
  });
  const offResync = app.live.onResync(catchUp);
  const onVisible = () => markRead();
  document.addEventListener('visibilitychange', onVisible);
  composer.focus();

  return () => {
    offEvents();
    offResync();
    observer.disconnect();
    resize.disconnect();
    clearInterval(clockTimer);
    clearTimeout(typingTimer);
    composer.destroy();
    schedule.destroy();
    markRead.cancel();
    refreshCalls.cancel();
    refreshAttachments.cancel();
    document.removeEventListener('visibilitychange', onVisible);
  };
}
