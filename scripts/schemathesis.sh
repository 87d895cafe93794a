#!/usr/bin/env bash
# Schema-based API testing: schemathesis generates requests for every operation of
# /v1/openapi.json and checks every answer against the document: no 5xx, every response body
# conforms to its schema, no status code the document does not list.
#
# It runs `parley demo` on a free loopback port (port 0) with a temporary SQLite file, then
# schemathesis three times: with the operator key; with the token of Avery (a client, member of
# the demo's conversations: the conversation routes get one of her conversation ids, so requests
# reach past the membership check); with the token of Morgan (the moderator: the console's
# operations). A bounded number of examples per operation (PARLEY_ST_EXAMPLES, default 25) keeps
# the run within a few minutes.
#
# Python: a virtual environment (PARLEY_ST_VENV, default $CARGO_TARGET_DIR/schemathesis-venv or
# target/schemathesis-venv) with a pinned schemathesis, created on the first run.
# Called by scripts/test.sh; alone: `bash scripts/schemathesis.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION="4.32.5"
EXAMPLES="${PARLEY_ST_EXAMPLES:-25}"
TARGET="${CARGO_TARGET_DIR:-$(pwd)/target}"
VENV="${PARLEY_ST_VENV:-$TARGET/schemathesis-venv}"

echo "== schemathesis: python environment ($VENV)"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/pip" show schemathesis 2>/dev/null | grep -qx "Version: $ST_VERSION"; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi

echo "== schemathesis: building parley"
cargo build -p parley --locked --quiet
BIN="$TARGET/debug/parley"

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

KEY="st-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
# Generous rate limits: the run tests the handlers, not the limiter (429 is documented anyway).
PARLEY_ADMIN_KEY="$KEY" PARLEY_USER_RATE_PER_SEC=10000 PARLEY_USER_BURST=10000 \
  PARLEY_LOG=warn \
  "$BIN" demo --listen 127.0.0.1:0 --database "sqlite://$TMP/demo.db" \
  >"$TMP/server.out" 2>"$TMP/server.err" &
SERVER_PID=$!
URL=""
for _ in $(seq 1 600); do
  URL="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/server.out" | head -n 1 || true)"
  if [ -n "$URL" ] && grep -q '^  Morgan Lee' "$TMP/server.out"; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
  sleep 0.1
done
token_of() { awk -v first="$1" '$1 == first && $3 ~ /^[a-z]+$/ {print $4}' "$TMP/server.out"; }
MORGAN="$(token_of Morgan)"
AVERY="$(token_of Avery)"
if [ -z "$URL" ] || [ -z "$MORGAN" ] || [ -z "$AVERY" ]; then
  echo "schemathesis: parley demo did not start" >&2
  cat "$TMP/server.out" "$TMP/server.err" >&2 || true
  exit 1
fi
echo "== schemathesis: parley demo at $URL"
curl -fsS "$URL/v1/openapi.json" >"$TMP/openapi.json"
CONV="$(curl -fsS -H "Authorization: Bearer $AVERY" "$URL/v1/conversations" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["conversations"][0]["id"])')"
# Avery's run: her conversation in every `{id}` of a conversation route.
cat >"$TMP/member.toml" <<EOF_TOML
[[operations]]
include-path-regex = "^/v1/conversations/[{]id[}]"
parameters = { "path.id" = "$CONV" }
EOF_TOML
printf '' >"$TMP/none.toml"

status=0
run() {
  local who="$1" credential="$2" config="$3"
  echo "== schemathesis: every operation with the $who ($EXAMPLES examples each)"
  # /v1/ws answers a plain GET with 400 (not an upgrade) and a socket otherwise: excluded.
  # tus chunks (POST /v1/uploads with a body, PATCH) are application/offset+octet-stream,
  # which schemathesis cannot generate: crates/server/tests/api/uploads.rs covers every status.
  # From the temporary directory: schemathesis keeps its example database in ./.schemathesis.
  (cd "$TMP" && "$VENV/bin/st" --config-file "$config" --no-color run "$TMP/openapi.json" --url "$URL" \
    --header "Authorization: Bearer $credential" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance \
    --max-examples "$EXAMPLES" \
    --exclude-path /v1/ws \
    --exclude-operation-id create_upload --exclude-operation-id upload_chunk \
    --seed 1) \
    || status=1
}
run "operator key" "$KEY" "$TMP/none.toml"
run "token of a conversation member" "$AVERY" "$TMP/member.toml"
run "token of a moderator" "$MORGAN" "$TMP/none.toml"

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "schemathesis: the server died" >&2
  status=1
fi
if [ "$status" != 0 ]; then
  echo "== schemathesis: server log (last lines)" >&2
  tail -n 40 "$TMP/server.err" >&2 || true
fi
exit "$status"
