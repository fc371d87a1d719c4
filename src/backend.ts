/**
 * Backend selection: tfjs-node-gpu → webgpu (a hardware adapter only) → tfjs-node → wasm → cpu, the first that
 * loads. `initBackend({backend})`, else ABE_BACKEND, forces one (`--backend` in the CLI). The native and GPU
 * packages are opt-in installs (README "Backends"): absent ones are skipped with the reason in `tried`.
 * Each backend's glue lives in src/backends/; this file only orders, activates and describes them.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { OptionsError, UsageError } from './errors';
import { AUTO_ORDER, BACKEND_NAMES, INSTALL_COMMANDS } from './backends/names';
import { loadNative, nativeDevice, nativePackageVersion, NativePackage } from './backends/tfjs-node';
import type { WebgpuDevice } from './backends/webgpu';

export { BACKEND_NAMES, INSTALL_COMMANDS } from './backends/names';
import { tuneTensorflowKernels } from './tensor/tensorflow';

export interface BackendAttempt {
  name: string;
  ok: boolean;
  error?: string;
}

/** What the active backend computes on; reported by every command and in every report JSON. */
export interface BackendDevice {
  /** One line for terminals, e.g. `TensorFlow 2.21.0, CPU, 2 threads`. */
  summary: string;
  gpu: boolean;
  /** tensorflow: TensorFlow's C library version. */
  tensorflow?: string;
  /** tensorflow: intra-op threads; wasm: threads of the wasm module. */
  threads?: number;
  /** wasm: whether the SIMD build is in use. */
  simd?: boolean;
  /** webgpu: the adapter as Dawn describes it; `fallback` marks a software adapter. */
  adapter?: string;
  vendor?: string;
  architecture?: string;
  fallback?: boolean;
}

export interface BackendInfo {
  /** The candidate that loaded: `tfjs-node-gpu`, `webgpu`, `tfjs-node`, `wasm` or `cpu`. */
  name: string;
  /** The tfjs backend name in use (`tensorflow` for both node packages). */
  tfBackend: string;
  /** Version of the package providing it. */
  version: string;
  device: BackendDevice;
  /** wasm only: whether the SIMD build is in use (also in `device`). */
  simd?: boolean;
  /** wasm only: worker threads (tfjs runs wasm single-threaded under Node; also in `device`). */
  threads?: number;
  tried: BackendAttempt[];
}

interface Candidate {
  name: (typeof AUTO_ORDER)[number];
  tfBackend: string;
  /** `forced`: the user named this backend (a WebGPU fallback adapter is accepted only then). */
  load(forced: boolean): Promise<void>;
  version(): string;
  /** Called after tf.setBackend succeeded. */
  device(): Promise<BackendDevice>;
  /** Auto-selection only: a reason to pass over a backend that loaded (tfjs-node-gpu without a GPU). */
  reject?(d: BackendDevice): string | undefined;
}

/** Directory holding the installed wasm binaries, so nothing is fetched from the network. */
export function wasmDir(): string {
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
}

let wasmPathsSet = false;
let webgpuDevice: WebgpuDevice | undefined;

function pkgVersion(pkg: string): string {
  try {
    return String(require(`${pkg}/package.json`).version);
  } catch {
    return 'unknown';
  }
}

function nativeCandidate(name: 'tfjs-node-gpu' | 'tfjs-node', pkg: NativePackage): Candidate {
  return {
    name,
    tfBackend: 'tensorflow',
    load: async () => loadNative(pkg),
    version: () => nativePackageVersion(pkg),
    device: async () => {
      const d = nativeDevice();
      return { summary: `TensorFlow ${d.tensorflow}, ${d.gpu ? 'GPU' : 'CPU'}, ${d.threads} thread${d.threads === 1 ? '' : 's'}`, ...d };
    },
    reject:
      name === 'tfjs-node-gpu'
        ? (d) => (d.gpu ? undefined : 'loaded, but TensorFlow sees no GPU (CUDA 11.2 / cuDNN 8.1 missing?)')
        : undefined,
  };
}

/** src/backends/webgpu (the Dawn glue) is a separate module; a build without it skips webgpu with this reason. */
function webgpuModule(): { prepareWebgpu(o: { allowFallback: boolean }): Promise<WebgpuDevice> } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require('./backends/webgpu');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'MODULE_NOT_FOUND' && /backends[\\/]webgpu/.test(err.message)) {
      throw new Error('WebGPU support is not part of this build (src/backends/webgpu is missing)');
    }
    throw e;
  }
}

const CANDIDATES: Candidate[] = [
  nativeCandidate('tfjs-node-gpu', '@tensorflow/tfjs-node-gpu'),
  {
    name: 'webgpu',
    tfBackend: 'webgpu',
    load: async (forced) => {
      webgpuDevice = await webgpuModule().prepareWebgpu({ allowFallback: forced });
    },
    version: () => pkgVersion('@tensorflow/tfjs-backend-webgpu'),
    device: async () => {
      const d = webgpuDevice as WebgpuDevice;
      const what = [d.vendor, d.architecture].filter(Boolean).join(' ');
      return {
        summary: `${d.adapter}${what ? ` (${what})` : ''}${d.fallback ? ', software fallback adapter' : ''}`,
        gpu: !d.fallback,
        ...d,
      };
    },
    // prepareWebgpu already refuses a fallback adapter unless forced; checked here too so that the rule holds
    // whatever the glue does.
    reject: (d) => (d.fallback ? 'a software fallback adapter: used only when forced (--backend webgpu)' : undefined),
  },
  nativeCandidate('tfjs-node', '@tensorflow/tfjs-node'),
  {
    name: 'wasm',
    tfBackend: 'wasm',
    load: async () => {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
      if (!wasmPathsSet) {
        wasm.setWasmPaths(wasmDir());
        wasmPathsSet = true;
      }
    },
    version: () => pkgVersion('@tensorflow/tfjs-backend-wasm'),
    device: async () => {
      const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
      const threads = (require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm')).getThreadsCount();
      return {
        summary: `WebAssembly, SIMD ${simd ? 'on' : 'off'}, ${threads} thread${threads === 1 ? '' : 's'}`,
        gpu: false,
        simd,
        threads,
      };
    },
  },
  {
    name: 'cpu',
    tfBackend: 'cpu',
    load: async () => {},
    version: () => (tf.version as Record<string, string>)['tfjs-core'],
    device: async () => ({ summary: 'plain JavaScript, 1 thread', gpu: false, threads: 1 }),
  },
];

let current: BackendInfo | undefined;

/** The candidates a request allows, in order. `source` names where the request came from, for errors. */
function candidatesFor(forced: string | undefined, source: string): Candidate[] {
  if (forced === undefined) return CANDIDATES;
  const f = forced.trim().toLowerCase();
  if (f === 'tensorflow') return CANDIDATES.filter((c) => c.tfBackend === 'tensorflow');
  const c = CANDIDATES.filter((x) => x.name === f);
  if (!c.length) {
    const problem = `unknown backend '${forced}'; use one of ${BACKEND_NAMES.join(', ')}`;
    // The environment variable is part of the command line a user typed: a usage error (exit 2) there.
    throw source === 'ABE_BACKEND' ? new UsageError(source, problem) : new OptionsError(source, problem);
  }
  return c;
}

/**
 * Choose and activate a backend. `opts.backend` wins over the environment variable ABE_BACKEND; `opts.source`
 * names the option in error messages (the CLI passes `--backend`).
 * @throws UsageError for an unknown name in ABE_BACKEND; OptionsError for an unknown `opts.backend`, or when
 *   a forced backend cannot be loaded (with the one-line reason and the command that installs it).
 */
export async function initBackend(opts: { backend?: string; source?: string } = {}): Promise<BackendInfo> {
  const fromOpt = opts.backend !== undefined && opts.backend !== '';
  const forced = fromOpt ? opts.backend : process.env.ABE_BACKEND || undefined;
  const source = fromOpt ? (opts.source ?? 'backend') : 'ABE_BACKEND';
  const tried: BackendAttempt[] = [];
  for (const c of candidatesFor(forced, source)) {
    try {
      await c.load(forced !== undefined);
      // setBackend reports failure by returning false (it only logs the reason).
      const ok = await tf.setBackend(c.tfBackend);
      if (!ok) throw new Error(`tf.setBackend('${c.tfBackend}') returned false`);
      await tf.ready();
      if (c.tfBackend === 'tensorflow') tuneTensorflowKernels();
      const device = await c.device();
      const rejected = forced === undefined ? c.reject?.(device) : undefined;
      if (rejected) throw new Error(rejected);
      const info: BackendInfo = {
        name: c.name,
        tfBackend: c.tfBackend,
        version: c.version(),
        device,
        tried: [...tried, { name: c.name, ok: true }],
      };
      if (c.name === 'wasm') {
        info.simd = device.simd;
        info.threads = device.threads;
      }
      current = info;
      return info;
    } catch (e) {
      tried.push({ name: c.name, ok: false, error: String((e as Error)?.message ?? e).split('\n')[0] });
    }
  }
  const why = tried
    .map(
      (t) =>
        `${t.name}: ${t.error}${forced === undefined ? '' : `; to install it: ${INSTALL_COMMANDS[t.name as (typeof AUTO_ORDER)[number]]}`}`,
    )
    .join('; ');
  throw new OptionsError(
    forced !== undefined ? source : 'backend',
    `no backend could be loaded${forced !== undefined ? ` (forced '${forced}')` : ''}: ${why}`,
  );
}

/** The backend chosen by the last successful `initBackend`, or undefined. */
export function backendInfo(): BackendInfo | undefined {
  if (current && tf.getBackend() !== current.tfBackend) return undefined;
  return current;
}

/** Why automatic selection would pass over a backend that loaded (undefined: it would take it). */
export function autoSkipReason(info: BackendInfo): string | undefined {
  return CANDIDATES.find((c) => c.name === info.name)?.reject?.(info.device);
}

/** The block every report JSON carries: which backend ran and on what device. */
export function deviceReport(info: BackendInfo | undefined = backendInfo()): Record<string, unknown> | undefined {
  if (!info) return undefined;
  const { summary, ...device } = info.device;
  return { backend: info.name, version: info.version, summary, ...device };
}
