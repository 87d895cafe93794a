// The start page: in demo mode, the demo's people (choosing one signs in as them); otherwise a
// short note that the marketplace opens Parley for its users.

import { api, ApiError } from './api.js';
import { h, replace } from './util.js';
import { app } from './state.js';

const ROLE = { client: 'Client', freelancer: 'Freelancer', moderator: 'Moderator' };

export async function renderHome(main) {
  replace(main, h('p', { class: 'loading' }, 'Loading…'));
  let users = null;
  try {
    users = (await api('GET', '/v1/demo/users')).data.users;
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
  const intro = h('section', { class: 'hero' },
    h('h1', {}, 'Parley message center'),
    h('p', {}, 'Talk with clients and freelancers, share files and plan calls on the platform. ',
      'Contact details are shared once a contract starts.'));
  if (!users) {
    replace(main, intro, h('p', {}, app.me
      ? h('a', { href: '#/inbox' }, `Continue as ${app.me.name}`)
      : 'Open Parley from your marketplace account to see your messages.'));
    return null;
  }
  const list = h('ul', { class: 'people' }, users.map((u) => h('li', {},
    h('button', {
      type: 'button',
      class: 'person',
      'aria-describedby': `who-${u.id}`,
      onclick: async (ev) => {
        ev.currentTarget.disabled = true;
        try {
          const { data } = await api('POST', `/v1/demo/users/${encodeURIComponent(u.id)}/session`);
          await app.signIn(data.token);
          location.hash = (u.roles || []).includes('moderator') ? '#/review' : '#/inbox';
        } catch (e) {
          ev.currentTarget.disabled = false;
          status.textContent = `Could not sign in: ${e.message}`;
        }
      },
    },
    h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(u.name)),
    h('span', { class: 'person-name' }, u.name)),
    h('p', { class: 'person-meta', id: `who-${u.id}` },
      (u.roles || []).map((r) => ROLE[r] || r).join(', '),
      u.org ? ` at ${u.org.name} (${u.org.plan} plan)`
        : (u.roles || []).includes('moderator') ? ' for the platform' : ' (independent)',
      u.time_zone ? ` · ${u.time_zone.replace(/_/g, ' ')}` : ''))));
  const status = h('p', { role: 'status', class: 'status' });
  replace(main, intro,
    h('section', { 'aria-labelledby': 'demo-h' },
      h('h2', { id: 'demo-h' }, 'Demo: choose who you are'),
      h('p', { class: 'hint' }, 'Each browser tab keeps its own sign-in, so two tabs can be two people talking to each other.'),
      list, status),
    app.me ? h('p', {}, `Signed in as ${app.me.name}. `, h('a', { href: '#/inbox' }, 'Go to your inbox')) : null);
  return null;
}

export function initials(name) {
  return String(name || '?').split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join('');
}
