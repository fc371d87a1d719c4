#!/usr/bin/env bash
# ESLint over the whole repository (eslint.config.mjs: ESLint + typescript-eslint recommended rules). A finding fails CI.
# The formatter (Prettier, `npm run format:check`) is configured but not enforced here yet: the code base has not
# been formatted with it in one sweep.
set -euo pipefail
cd "$(dirname "$0")/../.."
npx eslint .
