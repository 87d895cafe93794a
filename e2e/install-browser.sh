#!/usr/bin/env bash
# Installs Debian's chromium when /usr/bin/chromium is missing (non-interactive).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
  echo "e2e: chromium not installable from the current package lists; running apt-get update" >&2
  $SUDO apt-get update -qq
  $SUDO apt-get install -y --no-install-recommends chromium
fi
/usr/bin/chromium --version
