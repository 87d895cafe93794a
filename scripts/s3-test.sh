#!/usr/bin/env bash
# The storage tests on a real S3-compatible server: moto in server mode (from PyPI, in a
# virtual environment: PARLEY_S3_VENV, default $CARGO_TARGET_DIR/moto-venv, created on the
# first run) on a free loopback port, with a bucket made for the run; then the storage
# contract (crates/server/src/blob_tests.rs) and the API's blob tests
# (crates/server/tests/api/storage.rs) with PARLEY_TEST_S3_ENDPOINT set.
# Called by scripts/test.sh; alone: `bash scripts/s3-test.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/moto.sh
start_moto parley-test parley-test
export PARLEY_TEST_S3_ENDPOINT="$ENDPOINT" PARLEY_TEST_S3_BUCKET=parley-test
echo "== s3: moto at $ENDPOINT, bucket parley-test"

cargo test -p parley-server --locked --lib blob::tests -- --nocapture
cargo test -p parley-server --locked --test api storage::
