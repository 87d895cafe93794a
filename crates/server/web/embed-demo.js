// The demo host page: a token provider using the demo sign-in (`parley demo` only), and the
// user's first conversation (or the one with `?with=ID`) for <parley-chat>.
const query = new URLSearchParams(location.search);
const user = query.get('user') ?? 'avery';
const withWhom = query.get('with');
let token = '';

async function session() {
  const res = await fetch(`/v1/demo/users/${encodeURIComponent(user)}/session`, { method: 'POST' });
  const s = await res.json();
  document.getElementById('demo-user').textContent = s.user?.name ?? user;
  return s.token;
}

window.parleyDemoToken = async (refresh) => {
  if (!token || refresh) token = await session();
  return token;
};

const t = await window.parleyDemoToken(false);
const inbox = await (await fetch('/v1/conversations', { headers: { authorization: `Bearer ${t}` } })).json();
const list = inbox.conversations ?? [];
const first = (list.find((c) => withWhom && c.members.includes(withWhom)) ?? list[0])?.id;
if (first) document.getElementById('demo-chat').setAttribute('conversation', first);
