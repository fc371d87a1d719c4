/**
 * Backend selection: tfjs-node-gpu → tfjs-node → wasm → cpu, the first that loads. `ABE_BACKEND` (or
 * `initBackend({backend})`) forces one. The node packages are optional dependencies: absent ones are
 * skipped (and listed in `tried`).
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from './errors';
import { tuneTensorflowKernels } from './tensor/tensorflow';

export interface BackendAttempt { name: string; ok: boolean; error?: string }

export interface BackendInfo {
  /** The candidate that loaded: `tfjs-node-gpu`, `tfjs-node`, `wasm` or `cpu`. */
  name: string;
  /** The tfjs backend name in use (`tensorflow` for both node packages). */
  tfBackend: string;
  /** wasm only: whether the SIMD build is in use. */
  simd?: boolean;
  /** wasm only: worker threads (tfjs runs wasm single-threaded under Node). */
  threads?: number;
  tried: BackendAttempt[];
}

interface Candidate { name: string; tfBackend: string; load(): Promise<void> }

/** Directory holding the installed wasm binaries, so nothing is fetched from the network. */
export function wasmDir(): string {
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
}

let wasmPathsSet = false;

const CANDIDATES: Candidate[] = [
  { name: 'tfjs-node-gpu', tfBackend: 'tensorflow', load: async () => { require('@tensorflow/tfjs-node-gpu'); } },
  { name: 'tfjs-node', tfBackend: 'tensorflow', load: async () => { require('@tensorflow/tfjs-node'); } },
  {
    name: 'wasm', tfBackend: 'wasm', load: async () => {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
      if (!wasmPathsSet) { wasm.setWasmPaths(wasmDir()); wasmPathsSet = true; }
    },
  },
  { name: 'cpu', tfBackend: 'cpu', load: async () => {} },
];

/** Accepted values of ABE_BACKEND / `backend`: a candidate name, or `tensorflow` for either node package. */
export const BACKEND_NAMES = ['tfjs-node-gpu', 'tfjs-node', 'tensorflow', 'wasm', 'cpu'] as const;

let current: BackendInfo | undefined;

function candidatesFor(forced: string | undefined): Candidate[] {
  if (!forced) return CANDIDATES;
  const f = forced.trim().toLowerCase();
  if (f === 'tensorflow') return CANDIDATES.filter((c) => c.tfBackend === 'tensorflow');
  const c = CANDIDATES.filter((x) => x.name === f);
  if (!c.length) throw new OptionsError('ABE_BACKEND', `unknown backend '${forced}'; use one of ${BACKEND_NAMES.join(', ')}`);
  return c;
}

/**
 * Choose and activate a backend. `opts.backend` wins over the environment variable ABE_BACKEND.
 * @throws OptionsError when a forced backend is unknown or cannot be loaded (with the reason).
 */
export async function initBackend(opts: { backend?: string } = {}): Promise<BackendInfo> {
  const forced = opts.backend ?? (process.env.ABE_BACKEND || undefined);
  const tried: BackendAttempt[] = [];
  for (const c of candidatesFor(forced)) {
    try {
      await c.load();
      // setBackend reports failure by returning false (it only logs the reason).
      const ok = await tf.setBackend(c.tfBackend);
      if (!ok) throw new Error(`tf.setBackend('${c.tfBackend}') returned false`);
      await tf.ready();
      if (c.tfBackend === 'tensorflow') tuneTensorflowKernels();
      const info: BackendInfo = { name: c.name, tfBackend: c.tfBackend, tried: [...tried, { name: c.name, ok: true }] };
      if (c.tfBackend === 'wasm') {
        info.simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
        info.threads = (require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm')).getThreadsCount();
      }
      current = info;
      return info;
    } catch (e) {
      tried.push({ name: c.name, ok: false, error: (e as Error).message.split('\n')[0] });
    }
  }
  const why = tried.map((t) => `${t.name}: ${t.error}`).join('; ');
  throw new OptionsError(forced ? 'ABE_BACKEND' : 'backend', `no backend could be loaded${forced ? ` (forced '${forced}')` : ''}: ${why}`);
}

/** The backend chosen by the last successful `initBackend`, or undefined. */
export function backendInfo(): BackendInfo | undefined {
  if (current && tf.getBackend() !== current.tfBackend) return undefined;
  return current;
}
