#!/usr/bin/env bash
# report.html driven in headless chromium (playwright-core, no browser download): counts equal report.json's,
# filters, overlays, a 120,000-item report. The browser was installed by .ci/setup.d/40-chromium.sh; a missing one fails.
set -euo pipefail
npm run test:browser
