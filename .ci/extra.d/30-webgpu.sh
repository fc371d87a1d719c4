#!/usr/bin/env bash
# Golden parity and kernel/leak tests on WebGPU (software adapter from .ci/setup.d/30-webgpu-sw.sh, forced: a
# software adapter is never chosen automatically). Tiers: micro (test/clip/model.test.ts), the kernel and leak
# tests (test/backends/webgpu.test.ts), tiny and b32geo (test/reference/clip.test.ts) and the ABE goldens m1–m10
# (test/reference/abe.test.ts), same tolerances as cpu/wasm. ≈ 10 min on the shared 2-core machine under heavy
# load (README "WebGPU" has the per-tier times).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! node -e "require.resolve('webgpu')" 2>/dev/null; then
  echo "webgpu: package not installed (.ci/setup.d/30-webgpu-sw.sh skipped on this platform), tier not run"; exit 0
fi
export ABE_TEST_BACKENDS=webgpu
npx mocha -g webgpu test/clip/model.test.ts test/backends/webgpu.test.ts
npx mocha --config .mocharc.reference.json -g 'on webgpu' test/reference/clip.test.ts
npx mocha --config .mocharc.reference.json -g 'on webgpu' test/reference/abe.test.ts
