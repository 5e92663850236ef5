#!/usr/bin/env bash
# System packages the tests need beyond Python ones: Debian's Chromium for the browser
# tests (Playwright drives /usr/bin/chromium; it never downloads a browser of its own).
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "The browser tests need Chromium: run  sudo apt-get install chromium" >&2
    exit 1
  fi
  echo "==> Installing chromium (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q chromium
fi
