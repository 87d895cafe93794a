// Shared state of the page, imported by every view. The shell (app.js) fills in `shell` with its
// own functions, so views never import the shell and no module imports run in a circle.

import { session } from './api.js';

/** Shared state of the page. */
export const app = {
  /** Set by app.js: `loadMe()` reads /v1/me, `renderChrome()` redraws the navigation. */
  shell: { loadMe: async () => {}, renderChrome: () => {} },
  me: null,
  live: null,
  /** enforcement.created / enforcement.updated events heard since the Notices page was last open. */
  newNotices: 0,
  /** user id -> {id, name, roles, org_id, time_zone}, learnt from conversations. */
  users: new Map(),
  isModerator() {
    return !!(this.me && (this.me.roles || []).includes('moderator'));
  },
  nameOf(id) {
    if (this.me && id === this.me.id) return this.me.name;
    const u = this.users.get(id);
    return u ? u.name : id;
  },
  async signIn(token) {
    session.set(token);
    await this.shell.loadMe();
  },
  signOut() {
    session.clear();
    if (this.live) this.live.stop();
    this.live = null;
    this.me = null;
    this.shell.renderChrome();
    location.hash = '#/';
  },
};
