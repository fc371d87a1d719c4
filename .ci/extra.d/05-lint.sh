#!/usr/bin/env bash
# ESLint over the whole repository (eslint.config.mjs: ESLint + typescript-eslint recommended rules) and Prettier's
# check (.prettierrc.json; `npm run format` fixes it). A finding of either fails CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
npx eslint .
npx prettier --check .
