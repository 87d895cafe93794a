// The client API: the token kept in sessionStorage (one person per browser tab or context), JSON
// requests with the server's stable error codes, and the live event socket with reconnect and replay.

const TOKEN = 'parley.token';

export const session = {
  get token() { return sessionStorage.getItem(TOKEN); },
  set(token) { sessionStorage.setItem(TOKEN, token); },
  clear() { sessionStorage.removeItem(TOKEN); },
};

/** An API answer that is not 2xx: `code` is the server's stable error code. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `request failed (${status})`);
    this.status = status;
    this.code = e.code || (status === 0 ? 'network' : 'unknown');
    this.detail = e;
  }
}

/** Calls the API; resolves with {status, data} for 2xx, rejects with ApiError otherwise. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const t = session.token;
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, { error: { code: 'network', message: 'The server could not be reached. Check your connection.' } });
  }
  let data = null;
  const text = await resp.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (resp.status === 401 && t) {
    // The token expired or was revoked: the page signs out (app.js listens).
    window.dispatchEvent(new CustomEvent('parley:unauthorized'));
  }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return { status: resp.status, data };
}

/** Downloads an API answer as a file (for exports: the token goes in the header, not the URL). */
export async function download(path, filename) {
  const t = session.token;
  let resp;
  try {
    resp = await fetch(path, { headers: t ? { Authorization: `Bearer ${t}` } : {} });
  } catch {
    throw new ApiError(0, { error: { code: 'network', message: 'The server could not be reached.' } });
  }
  if (!resp.ok) {
    let body = null;
    try { body = await resp.json(); } catch { body = null; }
    throw new ApiError(resp.status, body);
  }
  const url = URL.createObjectURL(await resp.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/**
 * The live connection: one WebSocket per signed-in tab. Remembers the last event `seq` and, after a
 * drop, reconnects with `?cursor=` so the server replays what was missed; `onresync` listeners run
 * after every reconnect so views can also catch up through HTTP.
 */
export class Live {
  constructor() {
    this.listeners = new Set();
    this.resyncs = new Set();
    this.states = new Set();
    this.cursor = null;
    this.ws = null;
    this.retry = 0;
    this.closed = false;
    this.connected = false;
  }
  on(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }
  onResync(fn) { this.resyncs.add(fn); return () => this.resyncs.delete(fn); }
  onState(fn) { this.states.add(fn); return () => this.states.delete(fn); }
  setState(up) {
    this.connected = up;
    for (const f of this.states) f(up);
  }
  start() {
    this.closed = false;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ token: session.token || '' });
    if (this.cursor !== null) q.set('cursor', String(this.cursor));
    const ws = new WebSocket(`${proto}//${location.host}/v1/ws?${q}`);
    this.ws = ws;
    const reconnected = this.retry > 0 || this.everOpen;
    ws.onopen = () => {
      this.retry = 0;
      this.everOpen = true;
      this.setState(true);
      if (reconnected) for (const f of this.resyncs) f();
    };
    ws.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch { return; }
      if (typeof ev.seq === 'number') this.cursor = Math.max(this.cursor ?? 0, ev.seq);
      for (const f of this.listeners) f(ev);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.setState(false);
      if (this.closed) return;
      const delay = Math.min(10000, 500 * 2 ** this.retry++) * (0.75 + Math.random() / 2);
      this.timer = setTimeout(() => this.start(), delay);
    };
  }
  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }
  stop() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
    this.ws = null;
  }
}
