# Sourced by scripts/s3-test.sh and scripts/upload-bench.sh: moto (an S3-compatible server,
# from PyPI, in a virtual environment: PARLEY_S3_VENV, default $CARGO_TARGET_DIR/moto-venv,
# created on the first run) on a free loopback port. `start_moto BUCKET KEY` starts it, stops
# it when the calling script exits, makes BUCKET, exports the AWS_* credentials (KEY) and sets
# ENDPOINT and VENV.
MOTO_VERSION="5.1.*"
VENV="${PARLEY_S3_VENV:-${CARGO_TARGET_DIR:-$(pwd)/target}/moto-venv}"

start_moto() {
  local bucket="$1" key="$2"
  echo "== moto: python environment ($VENV)"
  if [ ! -x "$VENV/bin/moto_server" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  fi
  MOTO_TMP="$(mktemp -d)"
  MOTO_PID=""
  trap stop_moto EXIT
  # A free port (the kernel's choice), then moto on it.
  local port
  port="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$MOTO_TMP/moto.log" 2>&1 &
  MOTO_PID=$!
  ENDPOINT="http://127.0.0.1:$port"
  for _ in $(seq 1 300); do
    if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('$ENDPOINT/moto-api/')" 2>/dev/null; then break; fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then cat "$MOTO_TMP/moto.log"; exit 1; fi
    sleep 0.1
  done
  export AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$key" AWS_REGION=us-east-1
  "$VENV/bin/python" - <<PY
import boto3
boto3.client("s3", endpoint_url="$ENDPOINT", region_name="us-east-1").create_bucket(Bucket="$bucket")
PY
}

stop_moto() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
  rm -rf "${MOTO_TMP:-}"
}
