/**
 * The backend names users may write (`--backend`, ABE_BACKEND, `initBackend({backend})`), in the automatic
 * order, plus the `tensorflow` alias (tfjs-node-gpu, else tfjs-node). Kept free of tfjs imports so the CLI
 * can validate the flag without starting TensorFlow.js.
 */
export const AUTO_ORDER = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'] as const;

export const BACKEND_NAMES = [...AUTO_ORDER, 'tensorflow'] as const;

export type BackendName = (typeof BACKEND_NAMES)[number];

/** How to get each backend that is not installed by `npm ci`. */
export const INSTALL_COMMANDS: Record<(typeof AUTO_ORDER)[number], string> = {
  'tfjs-node-gpu': 'npm install @tensorflow/tfjs-node-gpu   (needs CUDA 11.2 and cuDNN 8.1 on the machine)',
  webgpu: 'npm run webgpu:install   (webgpu@0.6.2 + @tensorflow/tfjs-backend-webgpu; a GPU needs its Vulkan driver)',
  'tfjs-node': 'npm install @tensorflow/tfjs-node   (offline, from a TensorFlow wheel: npm run native)',
  wasm: 'npm ci   (a dependency: @tensorflow/tfjs-backend-wasm)',
  cpu: 'npm ci   (built into @tensorflow/tfjs)',
};
