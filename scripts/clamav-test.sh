#!/usr/bin/env bash
# The malware-scanning tests on a real ClamAV daemon, offline: installs Debian's clamav-daemon
# when clamd is missing (apt-get), writes a hash signature for the EICAR test file (MD5:size:name
# in a .hdb file in a temporary database directory, computed here, so no signature download and
# no freshclam), starts clamd in the foreground on a free loopback TCP port and a unix socket with
# a temporary config, runs the ClamAV tests (crates/server/tests/api/clamav.rs) with
# PARLEY_TEST_CLAMAV / PARLEY_TEST_CLAMAV_SOCKET set, and stops clamd on exit.
# Called by scripts/test.sh; alone: `bash scripts/clamav-test.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v clamd >/dev/null 2>&1 && [ ! -x /usr/sbin/clamd ]; then
  echo "== clamav: installing clamav-daemon (apt-get)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clamav-daemon
fi
CLAMD="$(command -v clamd || echo /usr/sbin/clamd)"

CLAM_TMP="$(mktemp -d)"
chmod 755 "$CLAM_TMP"
CLAMD_PID=""
stop_clamd() {
  if [ -n "$CLAMD_PID" ]; then
    kill "$CLAMD_PID" 2>/dev/null || true
    wait "$CLAMD_PID" 2>/dev/null || true
  fi
  rm -rf "$CLAM_TMP"
}
trap stop_clamd EXIT

# The EICAR test string (68 bytes), its MD5 and size: the only signature this clamd knows.
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
mkdir -p "$CLAM_TMP/db"
md5="$(printf '%s' "$EICAR" | md5sum | cut -d' ' -f1)"
size="$(printf '%s' "$EICAR" | wc -c)"
echo "$md5:$size:Eicar-Test" >"$CLAM_TMP/db/eicar.hdb"
echo "== clamav: signature $(cat "$CLAM_TMP/db/eicar.hdb")"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
sock="$CLAM_TMP/clamd.sock"
cat >"$CLAM_TMP/clamd.conf" <<CONF
Foreground yes
DatabaseDirectory $CLAM_TMP/db
TCPAddr 127.0.0.1
TCPSocket $port
LocalSocket $sock
LogFile $CLAM_TMP/clamd.log
LogTime yes
StreamMaxLength 100M
Bytecode no
CONF
# No User directive: clamd runs as the caller, on its own temporary files only.
"$CLAMD" --config-file="$CLAM_TMP/clamd.conf" >"$CLAM_TMP/clamd.out" 2>&1 &
CLAMD_PID=$!
for _ in $(seq 1 300); do
  if python3 - "$port" 2>/dev/null <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"zPING\0")
assert s.recv(16).startswith(b"PONG")
PY
  then break; fi
  if ! kill -0 "$CLAMD_PID" 2>/dev/null; then
    cat "$CLAM_TMP/clamd.out" "$CLAM_TMP/clamd.log" 2>/dev/null || true
    echo "clamd did not start" >&2
    exit 1
  fi
  sleep 0.1
done
echo "== clamav: clamd $("$CLAMD" --version) at tcp://127.0.0.1:$port and unix://$sock"

export PARLEY_TEST_CLAMAV="tcp://127.0.0.1:$port" PARLEY_TEST_CLAMAV_SOCKET="$sock"
cargo test -p parley-server --locked --lib clamav:: -- --nocapture
cargo test -p parley-server --locked --test api clamav:: -- --nocapture
