// The inbox: conversations (subject, the other party, the job/contract they belong to, the last
// message, unread count), and the open conversation beside it (one pane at a time on a phone).

import { api } from './api.js';
import { h, replace, timeIn, dayKey, debounce } from './util.js';
import { app } from './state.js';
import { convInfo, renderChat, refLabel } from './chat.js';
import { initials } from './home.js';

export async function renderInbox(main, openId) {
  const listEl = h('ul', { class: 'convs' });
  const pane = h('section', { class: 'chat-pane', 'aria-labelledby': openId ? 'chat-title' : null });
  const layout = h('div', { class: `inbox${openId ? ' has-open' : ''}` },
    h('nav', { class: 'inbox-list', 'aria-labelledby': 'inbox-h' }, h('h1', { id: 'inbox-h' }, 'Inbox'), listEl),
    pane);
  replace(main, layout);
  const tz = app.me.time_zone || undefined;

  async function loadList() {
    const { data } = await api('GET', '/v1/conversations?limit=100');
    const convs = data.conversations;
    const infos = await Promise.all(convs.map((c) => convInfo(c.id).catch(() => null)));
    if (!convs.length) {
      replace(listEl, h('li', { class: 'empty' }, 'No conversations yet.'));
      return;
    }
    replace(listEl, convs.map((c, i) => {
      const info = infos[i];
      const others = c.members.filter((m) => m !== app.me.id).map((m) => app.nameOf(m));
      const last = c.last_message;
      let snippet = '';
      if (last) {
        const who = last.author_id === app.me.id ? 'You: ' : '';
        snippet = last.deleted_at ? `${who}Message deleted` : `${who}${last.body || ''}`;
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
