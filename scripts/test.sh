#!/usr/bin/env bash
# The whole test suite: formatting, lints, every crate's tests and doc tests.
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
echo "== cargo test"
cargo test --workspace --locked
