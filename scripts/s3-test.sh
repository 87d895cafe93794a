#!/usr/bin/env bash
# The storage tests on a real S3-compatible server: moto in server mode (from PyPI, in a
# virtual environment: PARLEY_S3_VENV, default $CARGO_TARGET_DIR/moto-venv, created on the
# first run) on a free loopback port, with a bucket made for the run; then the storage
# contract (crates/server/src/blob_tests.rs) and the API's blob tests
# (crates/server/tests/api/storage.rs) with PARLEY_TEST_S3_ENDPOINT set.
# Called by scripts/test.sh; alone: `bash scripts/s3-test.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.1.*"
TARGET="${CARGO_TARGET_DIR:-$(pwd)/target}"
VENV="${PARLEY_S3_VENV:-$TARGET/moto-venv}"

echo "== s3: python environment ($VENV)"
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

# A free port (the kernel's choice), then moto on it.
PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$TMP/moto.log" 2>&1 &
MOTO_PID=$!
ENDPOINT="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do
  if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('$ENDPOINT/moto-api/')" 2>/dev/null; then break; fi
  if ! kill -0 "$MOTO_PID" 2>/dev/null; then cat "$TMP/moto.log"; exit 1; fi
  sleep 0.1
done

export AWS_ACCESS_KEY_ID=parley-test AWS_SECRET_ACCESS_KEY=parley-test AWS_REGION=us-east-1
export PARLEY_TEST_S3_ENDPOINT="$ENDPOINT" PARLEY_TEST_S3_BUCKET=parley-test
"$VENV/bin/python" - <<PY
import boto3
boto3.client("s3", endpoint_url="$ENDPOINT", region_name="us-east-1").create_bucket(Bucket="parley-test")
PY
echo "== s3: moto at $ENDPOINT, bucket parley-test"

cargo test -p parley-server --locked --lib blob::tests -- --nocapture
cargo test -p parley-server --locked --test api storage::
