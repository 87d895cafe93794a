#!/usr/bin/env bash
# The Standard Webhooks reference verifiers (npm and PyPI `standardwebhooks`) check a real Parley
# delivery: both are installed into a temporary directory (an npm project and a virtualenv),
# then the API test `webhooks_verified_by_the_reference_libraries` runs with them.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
(cd "$dir" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund standardwebhooks@1)
python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" install -q standardwebhooks
PARLEY_WEBHOOK_VERIFIERS="$dir" cargo test -p parley-server --locked --test api \
  webhooks_verified_by_the_reference_libraries -- --nocapture
