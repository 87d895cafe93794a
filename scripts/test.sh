#!/usr/bin/env bash
# The whole test suite: formatting, lints, every crate's tests and doc tests, the cluster tests
# (three nodes on PostgreSQL and NATS: scripts/ensure-nats.sh), schema-based API
# testing (scripts/schemathesis.sh), storage on S3 (scripts/s3-test.sh), malware scanning on a
# real clamd (scripts/clamav-test.sh), the web UI end to end.
# `.ci/run` calls this script; run it yourself with `bash scripts/test.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f ../shared/corpus/dev.jsonl ]; then
  echo "note: ../shared/corpus/dev.jsonl is missing; the corpus gate uses the copy in crates/detect/tests/data/" >&2
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== PostgreSQL for the store's conformance tests"
bash crates/store/scripts/ensure-postgres.sh
if command -v pg_ctlcluster >/dev/null 2>&1; then export PARLEY_TEST_REQUIRE_POSTGRES=1; fi
echo "== Tesseract for the OCR of pictures (scripts/install-ocr.sh)"
bash scripts/install-ocr.sh
export PARLEY_TEST_REQUIRE_OCR=1
echo "== cargo test"
cargo test --workspace --locked
echo "== several nodes: three parley serve, one PostgreSQL database, one nats-server (crates/cli/tests/cluster)"
bash scripts/ensure-nats.sh
cargo test -p parley --test cluster --locked -- --ignored --test-threads=1
echo "== storage on a real S3-compatible server (moto)"
bash scripts/s3-test.sh
echo "== malware scanning on a real clamd (EICAR hash signature, offline)"
bash scripts/clamav-test.sh
echo "== TypeScript SDK (sdk/typescript) against parley demo"
cargo build -p parley --locked
(cd sdk/typescript && npm ci --no-audit --no-fund && npm test)
echo "== docs/integration.md: every snippet against parley demo"
bash scripts/integration-guide.sh
echo "== webhooks: the npm and PyPI standardwebhooks verifiers"
bash scripts/webhook-verifiers.sh
echo "== schema-based API testing (schemathesis against parley demo)"
bash scripts/schemathesis.sh
echo "== web UI end to end (headless Chromium)"
bash e2e/run.sh
