#!/usr/bin/env bash
# Installs Tesseract (Debian's tesseract-ocr with the English data) and the DejaVu fonts (the
# OCR fixtures draw text with them) when missing, for the
# OCR of images (`parley extract --ocr`) and the tests that need it. Idempotent; needs root
# (or sudo) and Debian's package archive. Prints the version it finds.
set -euo pipefail
if command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx eng \
  && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  tesseract --version 2>&1 | head -1
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends tesseract-ocr tesseract-ocr-eng fonts-dejavu-core >/dev/null
tesseract --version 2>&1 | head -1
