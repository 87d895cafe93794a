#!/usr/bin/env bash
# End-to-end tests of the web message center in headless Chromium (Debian's `chromium`, driven by
# playwright-core) against `parley demo` on a free loopback port and a temporary SQLite file.
# Installs what is missing: chromium (apt-get), node_modules (npm ci). Screenshots go to
# target/e2e-screenshots/ (PARLEY_SCREENSHOTS=docs/screenshots refreshes the README's). Called by scripts/test.sh after cargo test; run it alone with `bash e2e/run.sh`
# (or `bash e2e/run.sh tests/3-review.test.js` for one file). Files run in name order, one at a time.
set -euo pipefail
cd "$(dirname "$0")"

echo "== e2e: browser"
bash install-browser.sh
if ! command -v node >/dev/null 2>&1; then
  echo "e2e: node is missing (Node.js 18+ needed)" >&2
  exit 1
fi
if [ ! -d node_modules/playwright-core ]; then
  echo "== e2e: npm ci"
  npm ci --no-audit --no-fund
fi

echo "== e2e: building parley"
(cd .. && cargo build -p parley --locked --quiet)
BIN="${CARGO_TARGET_DIR:-$(cd .. && pwd)/target}/debug/parley"

TMP="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# Port 0: the system picks a free port, and the server prints the address it got.
# The TURN relay on a free loopback port too; loopback peers allowed (test only) so that the
# forced-relay call test can relay between two browsers on this host. /metrics without a key,
# so the call tests read the relay's counters. The server's log and database file are handed
# to the tests (the call tests check that no SDP, ICE credential or address ended up there).
PARLEY_CALLS_TURN_ALLOW_PRIVATE_PEERS=1 PARLEY_METRICS_PUBLIC=true PARLEY_CALLS_NO_ANSWER_SECS="${PARLEY_CALLS_NO_ANSWER_SECS:-30}" \
"$BIN" demo --listen 127.0.0.1:0 --turn-listen 127.0.0.1:0 --database "sqlite://$TMP/demo.db" --policy policy.toml \
  >"$TMP/server.out" 2>"$TMP/server.err" &
SERVER_PID=$!
URL=""
for _ in $(seq 1 300); do
  URL="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/server.out" | head -n 1 || true)"
  [ -n "$URL" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ -z "$URL" ]; then
  echo "e2e: parley demo did not start" >&2
  cat "$TMP/server.out" "$TMP/server.err" >&2 || true
  exit 1
fi
echo "== e2e: parley demo at $URL"

status=0
if [ "$#" -eq 0 ]; then set -- tests/; fi
PARLEY_URL="$URL" PARLEY_BIN="$BIN" PARLEY_SERVER_LOG="$TMP/server.err" PARLEY_DATABASE_FILE="$TMP/demo.db" node --test --test-concurrency=1 "$@" || status=$?
if [ "$status" != 0 ]; then
  echo "== e2e: server log (last lines)" >&2
  tail -n 40 "$TMP/server.err" >&2 || true
fi
exit "$status"
