// The embedded chat (the page `<parley-chat>` frames): one conversation, its messages, live
// updates over the WebSocket (reconnecting from its cursor), a composer. The token comes from
// the host page by postMessage (never in the URL), and is asked again when refused.

const params = new URLSearchParams(location.search);
const conversation = params.get('conversation') ?? '';
const $ = (s) => document.querySelector(s);
const log = $('.embed-log');
const statusLine = $('.embed-status');
const errorLine = $('.embed-error');
let token = '';
let me = '';
let cursor = 0;
const shown = new Set();
let pending = null;

/** Asks the host page for a token (`refresh`: the last one was refused). */
function askToken(refresh) {
  return new Promise((resolve) => {
    pending = resolve;
    window.parent.postMessage({ type: 'parley:need-token', refresh }, '*');
  });
}

window.addEventListener('message', (e) => {
  if (e.source !== window.parent || !e.data || typeof e.data !== 'object') return;
  if (e.data.type === 'parley:token' && typeof e.data.token === 'string' && pending) {
    const p = pending;
    pending = null;
    p(e.data.token);
  } else if (e.data.type === 'parley:theme' && e.data.vars) {
    for (const [k, v] of Object.entries(e.data.vars)) {
      if (/^--parley-[a-z-]+$/.test(k) && typeof v === 'string') document.documentElement.style.setProperty(k, v);
    }
  }
});

async function api(method, path, body, retried = false) {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (res.status === 401 && !retried) {
    token = await askToken(true);
    return api(method, path, body, true);
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) throw Object.assign(new Error(data?.error?.message ?? `HTTP ${res.status}`), { status: res.status, data });
  return data;
}

function show(m) {
  if (!m || shown.has(m.id) || m.conversation_id !== conversation) return;
  shown.add(m.id);
  const li = document.createElement('li');
  li.className = m.author_id === me ? 'embed-msg mine' : 'embed-msg';
  const who = document.createElement('span');
  who.className = 'embed-who';
  who.textContent = m.author_id === me ? 'You' : m.author_id;
  const text = document.createElement('span');
  text.className = 'embed-text';
  text.textContent = m.body ?? '(deleted)';
  li.append(who, text);
  if (m.notice) {
    const n = document.createElement('small');
    n.textContent = m.notice;
    li.append(n);
  }
  log.append(li);
  li.scrollIntoView({ block: 'end' });
}

function connect(attempt = 0) {
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${proto}://${location.host}/v1/ws?token=${encodeURIComponent(token)}&cursor=${cursor}`);
  ws.onopen = () => { attempt = 0; statusLine.textContent = ''; };
  ws.onmessage = (e) => {
    const ev = JSON.parse(e.data);
    if (typeof ev.seq === 'number') {
      if (ev.seq <= cursor) return;
      cursor = ev.seq;
    }
    if (ev.type === 'message.created') show(ev.message);
  };
  ws.onclose = async (e) => {
    statusLine.textContent = 'Reconnecting…';
    if (e.code === 4003) { statusLine.textContent = 'Account suspended'; return; }
    if (e.code === 4001 || e.code === 4002) token = await askToken(true);
    setTimeout(() => connect(attempt + 1), Math.min(10000, 250 * 2 ** attempt));
  };
}

$('.embed-composer').addEventListener('submit', async (e) => {
  e.preventDefault();
  const field = $('#embed-text');
  const body = field.value.trim();
  if (!body) return;
  errorLine.hidden = true;
  try {
    const r = await api('POST', `/v1/conversations/${encodeURIComponent(conversation)}/messages`, {
      body, client_id: crypto.randomUUID(),
    });
    field.value = '';
    show(r.message);
  } catch (err) {
    errorLine.textContent = err.data?.error?.explanation ?? err.message;
    errorLine.hidden = false;
  }
});

async function start() {
  token = await askToken(false);
  me = (await api('GET', '/v1/me')).id;
  const { events } = await api('GET', '/v1/events?cursor=0');
  cursor = events.length ? events[events.length - 1].seq : 0;
  const { messages } = await api('GET', `/v1/conversations/${encodeURIComponent(conversation)}/messages?limit=50`);
  for (const m of messages) show(m);
  statusLine.textContent = '';
  connect();
}

start().catch((e) => { statusLine.textContent = `Could not open the chat: ${e.message}`; });
