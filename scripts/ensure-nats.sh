#!/usr/bin/env bash
# Makes `nats-server` available for the cluster tests (crates/cli/tests/cluster): installs the
# Debian package with apt-get when it is missing (as crates/store/scripts/ensure-postgres.sh
# does for PostgreSQL). The tests start their own server on a free loopback port.
# Usage (from scripts/test.sh, before the cluster tests): bash scripts/ensure-nats.sh
set -euo pipefail

if command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; then
  exit 0
fi
echo "== installing nats-server (apt-get)"
sudo_cmd=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo_cmd="sudo"; fi
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq nats-server
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  echo "error: nats-server is still missing after apt-get install" >&2
  exit 1
fi
