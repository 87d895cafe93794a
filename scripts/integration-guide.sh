#!/usr/bin/env bash
# Runs every `<!-- snippet: NAME -->` code block of docs/integration.md, exactly as written,
# against a live `parley demo` server: sync, minted tokens (Node jsonwebtoken, Python PyJWT),
# webhook receivers verifying real deliveries (npm and PyPI standardwebhooks), the event feed.
# Needs the `parley` binary (PARLEY_BIN, default the debug build), node, npm, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${PARLEY_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/parley}
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

python3 - "$root/docs/integration.md" "$dir" <<'PY'
import re, sys, pathlib
doc, out = pathlib.Path(sys.argv[1]).read_text(), pathlib.Path(sys.argv[2])
found = re.findall(r"<!-- snippet: (\S+) -->\n```\w*\n(.*?)```", doc, re.S)
assert len(found) >= 7, found
for name, code in found:
    (out / name).write_text(code)
print("snippets:", ", ".join(n for n, _ in found))
PY

echo "== installing the snippets' packages (npm: jsonwebtoken, standardwebhooks; PyPI: pyjwt, standardwebhooks)"
(cd "$dir" && npm init -y >/dev/null && npm pkg set type=module >/dev/null \
  && npm install --silent --no-audit --no-fund jsonwebtoken@9 standardwebhooks@1)
python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" install -q pyjwt standardwebhooks
py=$dir/venv/bin/python

export PARLEY_ADMIN_KEY=guide-admin-key-$(python3 -c 'import secrets; print(secrets.token_hex(16))')
export PARLEY_JWT_SECRET=guide-jwt-secret-$(python3 -c 'import secrets; print(secrets.token_hex(16))')
PARLEY_WEBHOOK_ALLOW_PRIVATE_TARGETS=true PARLEY_LOG=warn \
  "$bin" demo --listen 127.0.0.1:0 --database "sqlite://$dir/guide.db" > "$dir/server.out" &
pids+=($!)
for _ in $(seq 100); do grep -q "Try: curl" "$dir/server.out" 2>/dev/null && break; sleep 0.2; done
export PARLEY_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$dir/server.out" | head -1)
echo "== server at $PARLEY_URL"

cd "$dir"
echo "== 1. sync"; node sync.mjs
echo "== 2. minted tokens"; node mint.mjs; "$py" mint.py

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits until the receiver printed a verified event of this type.
wait_for() {
  for _ in $(seq 150); do grep -q "verified $2" "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "no verified $2 event in $1:"; cat "$1"; return 1
}
for receiver in receiver.mjs receiver.py; do
  port=$(free_port)
  secret=$(RECEIVER_URL="http://127.0.0.1:$port/webhooks" node register.mjs)
  case $secret in whsec_*) ;; *) echo "no secret: $secret"; exit 1 ;; esac
  if [ "$receiver" = receiver.mjs ]; then
    WEBHOOK_SECRET=$secret PORT=$port node receiver.mjs > "$receiver.out" 2>&1 &
  else
    WEBHOOK_SECRET=$secret PORT=$port "$py" receiver.py > "$receiver.out" 2>&1 &
  fi
  pids+=($!)
  sleep 1
  node sync.mjs >/dev/null   # another conversation: a conversation.created event
  echo "== 3. webhooks verified by $receiver"
  wait_for "$receiver.out" conversation.created
  cat "$receiver.out"
done
echo "== 4. reconcile"
out=$(node reconcile.mjs); echo "$out"
case $out in *conversation.created*) ;; *) exit 1 ;; esac
echo "integration guide: every snippet ran"
