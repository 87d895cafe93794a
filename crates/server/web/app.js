// The shell: who is signed in, the live connection, the top navigation and a hash router
// (#/ home, #/inbox, #/c/{conversation}, #/review and #/dashboard for moderators).

import { api, session, Live, ApiError } from './api.js';
import { h, replace, announce } from './util.js';
import { renderHome } from './home.js';
import { renderInbox } from './inbox.js';
import { renderModeration } from './moderation.js';
import { renderDashboard } from './dashboard.js';
import { renderNotices } from './account.js';
import { renderInterviews } from './schedule.js';
import { app } from './state.js';
import { initCalls } from './call.js';

async function loadMe() {
  if (!session.token) {
    app.me = null;
    return;
  }
  try {
    const { data } = await api('GET', '/v1/me');
    app.me = data;
    app.users.set(data.id, data);
    if (!app.live) {
      app.live = new Live();
      app.live.onState(renderStatus);
      app.live.on((ev) => {
        if (ev.type === 'booking.reminder') announce(ev.reminder === '10m' ? 'Your interview starts in 10 minutes' : 'Reminder: you have an interview in 24 hours');
        if (!['enforcement.created', 'enforcement.updated', 'booking.reminder'].includes(ev.type)) return;
        if ((location.hash || '#/') === '#/notices') return; // the page reloads itself
        app.newNotices += 1;
        renderChrome();
      });
      app.live.start();
      initCalls();
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      session.clear();
      app.me = null;
    } else {
      throw e;
    }
  }
  renderChrome();
}

function renderStatus(up) {
  const el = document.getElementById('conn');
  if (!el) return;
  el.textContent = up ? '' : 'Reconnecting…';
  el.hidden = up;
}

function navLink(href, label, current, count = 0) {
  return h('a', { href, 'aria-current': current ? 'page' : null }, label,
    count > 0 ? h('span', { class: 'badge nav-badge', 'aria-label': `${count} new` }, String(count)) : null);
}

function renderChrome() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  const route = location.hash || '#/';
  if (!app.me) {
    replace(nav);
    replace(who);
    return;
  }
  replace(nav,
    navLink('#/inbox', 'Inbox', route.startsWith('#/inbox') || route.startsWith('#/c/')),
    navLink('#/interviews', 'Interviews', route.startsWith('#/interviews')),
    navLink('#/notices', 'Notices', route.startsWith('#/notices'), app.newNotices),
    app.isModerator() ? navLink('#/review', 'Review queue', route.startsWith('#/review')) : null,
    app.isModerator() ? navLink('#/dashboard', 'Dashboard', route.startsWith('#/dashboard')) : null);
  const org = app.me.org ? ` · ${app.me.org.name}` : '';
  replace(who,
    h('span', { id: 'conn', class: 'conn', role: 'status', hidden: true }),
    h('span', { class: 'me' }, h('span', { class: 'me-name' }, app.me.name), h('span', { class: 'org' }, org)),
    h('button', { type: 'button', class: 'link', onclick: () => app.signOut() }, 'Sign out'));
}

let cleanup = null;

async function route() {
  const main = document.getElementById('main');
  if (cleanup) {
    try { cleanup(); } catch { /* a view's cleanup must not stop navigation */ }
    cleanup = null;
  }
  const hash = location.hash || '#/';
  if (hash === '#/notices') app.newNotices = 0;
  renderChrome();
  try {
    if (hash.startsWith('#token=')) {
      // A marketplace hands its user a token in the URL fragment (never sent to servers).
      const token = decodeURIComponent(hash.slice('#token='.length));
      history.replaceState(null, '', '#/inbox');
      await app.signIn(token);
      return route();
    }
    if (hash === '#/' || hash === '#') {
      cleanup = await renderHome(main);
    } else if (!app.me) {
      location.hash = '#/';
      return undefined;
    } else if (hash === '#/inbox') {
      cleanup = await renderInbox(main, null);
    } else if (hash.startsWith('#/c/')) {
      cleanup = await renderInbox(main, decodeURIComponent(hash.slice(4)));
    } else if (hash === '#/notices') {
      cleanup = await renderNotices(main, app.live);
    } else if (hash === '#/interviews') {
      cleanup = await renderInterviews(main);
    } else if (hash === '#/review') {
      cleanup = await renderModeration(main);
    } else if (hash === '#/dashboard') {
      cleanup = await renderDashboard(main);
    } else {
      replace(main, h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Back to the start')));
    }
  } catch (e) {
    replace(main, h('div', { role: 'alert', class: 'error' }, `Something went wrong: ${e.message}`));
  }
  return undefined;
}

app.shell = { loadMe, renderChrome };

window.addEventListener('hashchange', route);
window.addEventListener('parley:unauthorized', () => {
  if (app.me) app.signOut();
});
window.addEventListener('DOMContentLoaded', async () => {
  try {
    await loadMe();
  } catch (e) {
    // The server is unreachable: the home page says so.
  }
  route();
});
