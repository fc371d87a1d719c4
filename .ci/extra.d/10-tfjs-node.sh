#!/usr/bin/env bash
# The golden parity tiers on tfjs-node: micro (test/clip/model.test.ts), the kernel audit, ABE scorer parity,
# and the reference tier (tiny, b32geo, ABE m1–m10). Only the tfjs-node variants run here (--grep); cpu and
# wasm ran in `npm test` / `npm run test:reference`. Skips, saying why, when no wheel was there to build
# from; fails when a wheel was there but tfjs-node does not load.
set -euo pipefail
shopt -s nullglob
wheels=(${ABE_TF_WHEEL:-/opt/pypi/files/tensorflow_cpu-*.whl})
if ! node bin/abe-clip.js backends --backend tfjs-node; then
  if [ ${#wheels[@]} -eq 0 ]; then
    echo "tfjs-node tier: skipped: tfjs-node is not installed and there is no TensorFlow wheel to build it from"
    exit 0
  fi
  echo "tfjs-node tier: FAILED: a TensorFlow wheel is present (${wheels[-1]}) but tfjs-node does not load" >&2
  exit 1
fi
export ABE_TEST_BACKENDS=tfjs-node
npx mocha --grep tfjs-node test/clip/model.test.ts test/backends/kernels.test.ts test/abe/backends.test.ts test/backend.test.ts
npx mocha --config .mocharc.reference.json --grep tfjs-node test/reference/clip.test.ts test/reference/abe.test.ts
