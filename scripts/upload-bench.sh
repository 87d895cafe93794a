#!/usr/bin/env bash
# Upload benchmark (crates/server/examples/upload_bench.rs) on the local directory and on a
# real S3-compatible server on loopback (moto in server mode, set up as scripts/s3-test.sh
# does): throughput, and the server's peak RSS while the file goes in.
# `bash scripts/upload-bench.sh [SIZE_MiB] [CHUNK_MiB]` (default 1024 64); PROFILE=debug for a
# debug build (the default is release: `cargo build --release --example upload_bench`).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE="${1:-1024}"
CHUNK="${2:-64}"
PROFILE="${PROFILE:-release}"
MOTO_VERSION="5.1.*"
TARGET="${CARGO_TARGET_DIR:-$(pwd)/target}"
VENV="${PARLEY_S3_VENV:-$TARGET/moto-venv}"

if [ "$PROFILE" = release ]; then
  cargo build --release --locked -p parley-server --example upload_bench
else
  cargo build --locked -p parley-server --example upload_bench
fi
BENCH="$TARGET/$PROFILE/examples/upload_bench"

echo "== upload bench: local directory"
"$BENCH" "$SIZE" "$CHUNK"

echo "== upload bench: python environment for moto ($VENV)"
if [ ! -x "$VENV/bin/moto_server" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
TMP="$(mktemp -d)"
MOTO_PID=""
cleanup() {
  if [ -n "$MOTO_PID" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$TMP/moto.log" 2>&1 &
MOTO_PID=$!
ENDPOINT="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do
  if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('$ENDPOINT/moto-api/')" 2>/dev/null; then break; fi
  if ! kill -0 "$MOTO_PID" 2>/dev/null; then cat "$TMP/moto.log"; exit 1; fi
  sleep 0.1
done
export AWS_ACCESS_KEY_ID=parley-bench AWS_SECRET_ACCESS_KEY=parley-bench AWS_REGION=us-east-1
"$VENV/bin/python" - <<PY
import boto3
boto3.client("s3", endpoint_url="$ENDPOINT", region_name="us-east-1").create_bucket(Bucket="parley-bench")
PY
echo "== upload bench: S3 (moto at $ENDPOINT, in memory)"
PARLEY_FILES_S3_ENDPOINT="$ENDPOINT" "$BENCH" "$SIZE" "$CHUNK" s3://parley-bench/files
