#!/usr/bin/env bash
# Makes the local PostgreSQL answer for the store's conformance tests: starts the installed
# cluster(s) if they are not running. Never fails the build: with no PostgreSQL installed the
# tests run SQLite only and say so loudly ("SKIPPING POSTGRESQL").
# Usage (from scripts/test.sh, before `cargo test`): bash crates/store/scripts/ensure-postgres.sh
set -u
host=${PARLEY_PG_HOST:-127.0.0.1}
port=${PARLEY_PG_PORT:-5432}

if pg_isready -q -h "$host" -p "$port" 2>/dev/null; then
  exit 0
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -d /etc/postgresql ]; then
  echo "note: PostgreSQL is not installed: the store's PostgreSQL conformance runs will be SKIPPED" >&2
  exit 0
fi
for version in $(ls /etc/postgresql); do
  for cluster in $(ls "/etc/postgresql/$version"); do
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start 2>/dev/null || true
  done
done
for _ in $(seq 1 30); do
  if pg_isready -q -h "$host" -p "$port" 2>/dev/null; then
    exit 0
  fi
  sleep 1
done
echo "warning: PostgreSQL is installed but does not answer on $host:$port" >&2
exit 0
