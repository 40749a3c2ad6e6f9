#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright drives it; its own browser download cannot work here).
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
echo "Installing Chromium ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
