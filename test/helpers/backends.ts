/**
 * Backends the golden parity tests run on: cpu and wasm always, plus the ones named in ABE_TEST_BACKENDS
 * (a comma list such as `tfjs-node,webgpu`), which CI sets in its extra tiers when it has installed them.
 * A backend named there that cannot load fails its tests (initBackend throws): it is never skipped silently.
 */
const EXTRA = (process.env.ABE_TEST_BACKENDS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

export const PARITY_BACKENDS: string[] = [...new Set(['cpu', 'wasm', ...EXTRA])];
