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
TARGET="${CARGO_TARGET_DIR:-$(pwd)/target}"
source scripts/moto.sh

if [ "$PROFILE" = release ]; then
  cargo build --release --locked -p parley-server --example upload_bench
else
  cargo build --locked -p parley-server --example upload_bench
fi
BENCH="$TARGET/$PROFILE/examples/upload_bench"

echo "== upload bench: local directory"
"$BENCH" "$SIZE" "$CHUNK"

start_moto parley-bench parley-bench
echo "== upload bench: S3 (moto at $ENDPOINT, in memory)"
PARLEY_FILES_S3_ENDPOINT="$ENDPOINT" "$BENCH" "$SIZE" "$CHUNK" s3://parley-bench/files
