// The token provider <parley-chat token-provider="parleyToken"> calls: the marketplace's own
// backend mints a short-lived token for its signed-in user; `refresh` is true when Parley
// refused the last one (expired or revoked).
let token = '';
window.parleyToken = async (refresh) => {
  if (!token || refresh) token = await (await fetch('/parley-token', { credentials: 'same-origin' })).text();
  return token;
};
