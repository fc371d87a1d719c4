#!/usr/bin/env bash
# The browser tier (report.html) needs a real browser: Debian's chromium (no browser download by npm).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then echo "chromium present: $(chromium --version 2>/dev/null)"; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
echo "installed $(chromium --version 2>/dev/null)"
