// The inbox: conversations (subject, the other party, the job/contract they belong to, the last
// message, unread count), and the open conversation beside it (one pane at a time on a phone).

import { api } from './api.js';
import { h, replace, timeIn, dayKey, debounce } from './util.js';
import { app } from './state.js';
import { convInfo, renderChat, refLabel } from './chat.js';
import { initials } from './home.js';

/** The sides I am on in a conversation: 'hiring' (the others work for me), 'working' (I work
 * for them); a person with both roles may be on either. */
function sideOf(info) {
  if (!info) return [];
  const me = app.me;
  const mine = me.roles || [];
  const others = info.members.filter((m) => m.id !== me.id);
  const has = (r) => others.some((o) => (o.roles || []).includes(r));
  const out = [];
  if (has('freelancer') && (mine.includes('client') || me.org)) out.push('hiring');
  if (has('client') && mine.includes('freelancer')) out.push('working');
  return out;
}

export async function renderInbox(main, openId) {
  const listEl = h('ul', { class: 'convs' });
  const sides = [['all', 'All'], ['hiring', 'Hiring'], ['working', 'Working']];
  const filter = h('fieldset', { class: 'side-filter' }, h('legend', { class: 'sr-only' }, 'Show conversations'),
    sides.map(([v, label]) => h('label', {}, h('input', {
      type: 'radio', name: 'side', value: v, checked: (app.side || 'all') === v,
      onchange: () => { app.side = v; loadList().catch(() => {}); },
    }), ' ', label)));
  const pane = h('section', { class: 'chat-pane', 'aria-labelledby': openId ? 'chat-title' : null });
  const layout = h('div', { class: `inbox${openId ? ' has-open' : ''}` },
    h('nav', { class: 'inbox-list', 'aria-labelledby': 'inbox-h' }, h('h1', { id: 'inbox-h' }, 'Inbox'), filter, listEl),
    pane);
  replace(main, layout);
  const tz = app.me.time_zone || undefined;

  async function loadList() {
    const { data } = await api('GET', '/v1/conversations?limit=100');
    const all = data.conversations;
    const allInfos = await Promise.all(all.map((c) => convInfo(c.id).catch(() => null)));
    const want = app.side || 'all';
    const keep = all.map((c, i) => want === 'all' || sideOf(allInfos[i]).includes(want));
    const convs = all.filter((_, i) => keep[i]);
    const infos = allInfos.filter((_, i) => keep[i]);
    if (!convs.length) {
      replace(listEl, h('li', { class: 'empty' }, all.length ? 'No conversations on this side.' : 'No conversations yet.'));
      return;
    }
    replace(listEl, convs.map((c, i) => {
      const info = infos[i];
      const others = c.members.filter((m) => m !== app.me.id).map((m) => app.nameOf(m));
      const last = c.last_message;
      let snippet = '';
      if (last) {
        const who = last.author_id === app.me.id ? 'You: ' : '';
        const n = (last.attachments || []).length;
        const text = last.body || (n ? `${n} file${n > 1 ? 's' : ''}` : '');
        snippet = last.deleted_at ? `${who}Message deleted` : `${who}${text}`;
      }
      const when = last ? (dayKey(last.created_at, tz) === dayKey(Date.now(), tz)
        ? timeIn(last.created_at, tz)
        : new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: tz }).format(new Date(last.created_at))) : '';
      const current = c.id === openId;
      return h('li', {},
        h('a', { class: `conv${c.unread ? ' unread' : ''}`, href: `#/c/${encodeURIComponent(c.id)}`, 'aria-current': current ? 'page' : null },
          h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(others[0] || '?')),
          h('span', { class: 'conv-main' },
            h('span', { class: 'conv-top' },
              h('span', { class: 'conv-who' }, others.join(', ') || 'Just you'),
              h('span', { class: 'conv-when' }, when)),
            h('span', { class: 'conv-subject' }, c.subject || 'No subject'),
            h('span', { class: 'conv-ref' }, refLabel(c.ref),
              info && info.rulesApply ? h('span', { class: 'chip' }, 'Pre-contract') : null),
            h('span', { class: 'conv-last' }, snippet)),
          c.unread ? h('span', { class: 'badge' }, h('span', { 'aria-hidden': 'true' }, String(c.unread)),
            h('span', { class: 'sr-only' }, `, ${c.unread} unread`)) : null));
    }));
  }
  await loadList();
  const reload = debounce(() => loadList().catch(() => {}), 250);
  const off = app.live.on((ev) => {
    if (['message.created', 'message.updated', 'message.deleted', 'read'].includes(ev.type)) reload();
  });
  const offResync = app.live.onResync(reload);
  let chatCleanup = null;
  if (openId) chatCleanup = await renderChat(pane, openId);
  else replace(pane, h('div', { class: 'empty pick' }, h('p', {}, 'Choose a conversation to read and reply.')));
  return () => {
    off();
    offResync();
    reload.cancel();
    if (chatCleanup) chatCleanup();
  };
}
