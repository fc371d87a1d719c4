/**
 * TensorFlow.js's WebGPU backend in Node, through Dawn (npm `webgpu`): the one module that knows about Dawn.
 *
 * `prepareWebgpu` makes Dawn's GPU visible the way tfjs expects a browser's (WebGPU globals plus
 * `navigator.gpu`), registers `@tensorflow/tfjs-backend-webgpu` and checks that an adapter exists. It does not
 * call `tf.setBackend`: the caller (src/backend.ts) does, so selection and reporting stay in one place.
 *
 * Both packages are opt-in (`npm run webgpu:install`), never installed by `npm ci`: `webgpu` carries every
 * platform's Dawn binary (≈ 132 MB on disk) and is of use only on a machine with a Vulkan driver or for tests
 * on a software adapter.
 *
 * Adapters: Vulkan first (the vendor's ICD on a GPU machine; Mesa lavapipe as a software one), then OpenGL ES
 * (Mesa llvmpipe through EGL's surfaceless platform, Dawn's 'compatibility' feature level).
 * `ABE_WEBGPU_BACKEND=vulkan|opengles` forces one. Dawn marks lavapipe as a fallback adapter but not llvmpipe
 * behind OpenGL ES, so software renderers are also recognised by name.
 */
import { pathToFileURL } from 'url';
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';

export interface WebgpuDevice {
  /** The adapter's device name or description, e.g. `NVIDIA H100` or `llvmpipe (LLVM 15.0.6, 256 bits)`. */
  adapter: string;
  vendor: string;
  architecture: string;
  /** A software or fallback adapter (lavapipe, llvmpipe, SwiftShader): correct but slow (≈ 0.6 GFLOP/s). */
  fallback: boolean;
  /** The Dawn backend that gave the adapter: `vulkan` or `opengles`. */
  backendType?: string;
}

/** The command that installs both packages, in the project's package.json (one place for the versions). */
export const WEBGPU_INSTALL = 'npm run webgpu:install'; // INSTALL_COMMANDS.webgpu (backends/names.ts) says the same

/** Which Dawn backends to try, in order. */
export const WEBGPU_BACKENDS = ['vulkan', 'opengles'] as const;
type DawnBackend = (typeof WEBGPU_BACKENDS)[number];

/** Device names of software renderers, which Dawn does not always flag as fallback adapters. */
const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|software/i;

interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}
interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(o?: Record<string, unknown>): Promise<AdapterLike | null>;
}

/**
 * A real `import()` from CommonJS: TypeScript (module commonjs) and ts-node rewrite a literal `import(x)` into
 * `require(x)`, which fails for the ESM-only `webgpu` package on Node < 20.19 (and warns on 20.19+).
 * A function built at run time is not rewritten.
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

/**
 * Synchronous reads (`dataSync`, used throughout src/abe and src/eval). tfjs-backend-webgpu implements
 * `readSync` with OffscreenCanvas, which Node lacks. Dawn's binding settles GPU callbacks (buffer mapping)
 * from a native callback it schedules with the global `setImmediate`, which runs
 * `wgpuInstanceProcessEvents`. We record those native callbacks as they are scheduled, and a synchronous
 * read runs them itself (cancelling the scheduled copy) until the staging buffer is mapped.
 * The wrapper is installed once, before Dawn loads (Dawn looks the global up at each scheduling), and stays for
 * the process; JavaScript callbacks pass straight through. Any argument-less native callback is recorded, so
 * another native addon's immediate could run early inside a synchronous read (none in this project).
 */
const dawnTicks = new Map<NodeJS.Immediate, () => void>();
let ticksHooked = false;

function hookDawnTicks(): void {
  if (ticksHooked) return;
  ticksHooked = true;
  const real = globalThis.setImmediate;
  const isNative = (f: unknown) => typeof f === 'function' && Function.prototype.toString.call(f).includes('[native code]');
  const wrapped = function (this: unknown, fn: (...a: unknown[]) => void, ...args: unknown[]) {
    if (!isNative(fn) || args.length) return real(fn, ...args);
    const h: NodeJS.Immediate = real(() => {
      dawnTicks.delete(h);
      fn();
    });
    dawnTicks.set(h, fn as () => void);
    return h;
  };
  globalThis.setImmediate = Object.assign(wrapped, real) as typeof setImmediate;
}

interface StagingBuffer {
  size: number;
  mapState: string;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}
interface BackendInternals {
  tensorMap: { get(id: object): { values: unknown; dtype: string; resource: unknown } };
  bufferManager: { acquireBuffer(size: number, usage: number): StagingBuffer; releaseBuffer(b: StagingBuffer): void };
  commandEncoder: { copyBufferToBuffer(a: unknown, ao: number, b: unknown, bo: number, n: number): void };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  convertAndCacheOnCPU(id: object, v: unknown): unknown;
}

/** Read a GPU buffer synchronously: copy to a staging buffer, map it, and drive Dawn's event processing. */
function readBufferSync(be: BackendInternals, buffer: { size: number }): ArrayBuffer {
  const g = globalThis as unknown as { GPUBufferUsage: Record<string, number>; GPUMapMode: Record<string, number> };
  const staging = be.bufferManager.acquireBuffer(buffer.size, g.GPUBufferUsage.COPY_DST | g.GPUBufferUsage.MAP_READ);
  be.ensureCommandEncoderReady();
  be.endComputePassEncoder();
  be.commandEncoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
  be.submitQueue();
  let failure: unknown;
  staging.mapAsync(g.GPUMapMode.READ).catch((e) => {
    failure = e;
  });
  while (staging.mapState !== 'mapped' && failure === undefined) {
    const next = dawnTicks.entries().next();
    if (next.done) throw new Error('webgpu: synchronous read found no pending Dawn event processing');
    const [h, tick] = next.value;
    dawnTicks.delete(h);
    clearImmediate(h);
    tick();
  }
  if (failure !== undefined) throw new Error(`webgpu: mapping a buffer for a synchronous read failed: ${firstLine(failure)}`);
  const values = staging.getMappedRange().slice(0);
  staging.unmap();
  be.bufferManager.releaseBuffer(staging);
  return values;
}

function patchReadSync(backendClass: { prototype: { readSync(id: object): unknown } }): void {
  const original = backendClass.prototype.readSync;
  backendClass.prototype.readSync = function (this: BackendInternals, dataId: object) {
    const d = this.tensorMap.get(dataId);
    // Cached values, strings and complex (split into two reads by the original) need no GPU read here.
    if (d.values != null || d.dtype === 'string' || d.dtype === 'complex64') return original.call(this, dataId);
    const vals = tf.util.convertBackendValuesAndArrayBuffer(readBufferSync(this, d.resource as { size: number }), d.dtype as tf.DataType);
    return this.convertAndCacheOnCPU(dataId, vals);
  };
}

/**
 * tfjs-backend-webgpu 4.22 generates invalid WGSL for Transpose of an int32 GPU tensor of rank ≥ 3 (its
 * general program writes through the f32 setter): Dawn rejects the shader, prints a validation error and the
 * output stays zeros — e.g. top-k indices [U,n,K] put images first. Such transposes run as a gather of the
 * flattened input at the permuted positions instead (indices made on the host; exact for every value).
 * (A cast through float32 does not help: int32 → float32 is a relabel of the same buffer there.)
 * 2-D transposes (a different program) are correct.
 */
function patchInt32Transpose(): void {
  const original = tf.getKernel(tf.Transpose, 'webgpu');
  const gather = tf.getKernel(tf.GatherV2, 'webgpu');
  const reshape = tf.getKernel(tf.Reshape, 'webgpu');
  if (!original || !gather || !reshape || (original as { abePatched?: boolean }).abePatched) return;
  type Fn = (a: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }) => tf.TensorInfo;
  const transpose = original.kernelFunc as Fn,
    gatherFn = gather.kernelFunc as Fn,
    reshapeFn = reshape.kernelFunc as Fn;
  const kernelFunc: Fn = ({ inputs, backend, attrs }) => {
    const x = inputs.x as tf.TensorInfo;
    if (x.dtype !== 'int32' || x.shape.length < 3) return transpose({ inputs, backend, attrs });
    const perm = (attrs as { perm: number[] }).perm;
    const outShape = perm.map((p) => x.shape[p]);
    const n = outShape.reduce((a, b) => a * b, 1);
    const strides = (shape: number[]) => shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
    const inStrides = strides(x.shape),
      outStrides = strides(outShape);
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let src = 0;
      for (let d = 0; d < outShape.length; d++) src += (Math.floor(i / outStrides[d]) % outShape[d]) * inStrides[perm[d]];
      idx[i] = src;
    }
    const b = backend as tf.KernelBackend & { makeTensorInfo(s: number[], d: tf.DataType, v: Int32Array): tf.TensorInfo };
    const indices = b.makeTensorInfo([n], 'int32', idx);
    const flat = reshapeFn({ inputs: { x }, backend, attrs: { shape: [-1] } });
    const g = gatherFn({ inputs: { x: flat, indices }, backend, attrs: { axis: 0, batchDims: 0 } });
    const y = reshapeFn({ inputs: { x: g }, backend, attrs: { shape: outShape } });
    for (const t of [indices, flat, g]) backend.disposeData(t.dataId);
    return y;
  };
  tf.unregisterKernel(tf.Transpose, 'webgpu');
  tf.registerKernel({ ...original, kernelFunc: kernelFunc as tf.KernelFunc, abePatched: true } as tf.KernelConfig);
}

let prepared: Promise<WebgpuDevice> | undefined;
let device: WebgpuDevice | undefined;

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

function resolvePackage(name: string): string {
  try {
    return require.resolve(name);
  } catch {
    throw new Error(`webgpu: package '${name}' is not installed (it is opt-in: ${WEBGPU_INSTALL})`);
  }
}

/** The Dawn backends to try: ABE_WEBGPU_BACKEND forces one, else Vulkan then OpenGL ES. */
function backendOrder(): DawnBackend[] {
  const forced = (process.env.ABE_WEBGPU_BACKEND ?? '').trim().toLowerCase();
  if (!forced) return [...WEBGPU_BACKENDS];
  if (!(WEBGPU_BACKENDS as readonly string[]).includes(forced)) {
    throw new Error(`webgpu: ABE_WEBGPU_BACKEND='${forced}' is not one of ${WEBGPU_BACKENDS.join(', ')}`);
  }
  return [forced as DawnBackend];
}

/** Options our wrapper adds to every requestAdapter, tfjs's own included (it knows nothing of Dawn). */
function adapterOptions(b: DawnBackend): Record<string, unknown> {
  return b === 'opengles' ? { featureLevel: 'compatibility' } : {};
}

function deviceOf(a: AdapterLike, b: DawnBackend): WebgpuDevice {
  const info = a.info ?? {};
  const adapter = [...new Set([info.device, info.description].filter(Boolean))].join(', ') || '(unnamed adapter)';
  const fallback = Boolean(info.isFallbackAdapter ?? a.isFallbackAdapter) || SOFTWARE.test(`${adapter} ${info.device ?? ''}`);
  return { adapter, vendor: info.vendor ?? '', architecture: info.architecture ?? '', fallback, backendType: b };
}

async function prepare(): Promise<WebgpuDevice> {
  const dawnPath = resolvePackage('webgpu');
  const tfjsWebgpuPkg = resolvePackage('@tensorflow/tfjs-backend-webgpu/package.json');
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const want = require('@tensorflow/tfjs-core/package.json').version as string;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const have = require(tfjsWebgpuPkg).version as string;
  if (have !== want) {
    throw new Error(`webgpu: @tensorflow/tfjs-backend-webgpu ${have} does not match tfjs-core ${want} (${WEBGPU_INSTALL})`);
  }
  hookDawnTicks();
  let dawn: DawnModule;
  try {
    dawn = (await importEsm(pathToFileURL(dawnPath).href)) as DawnModule;
  } catch (e) {
    throw new Error(`webgpu: Dawn (npm 'webgpu') failed to load: ${firstLine(e)}`);
  }
  const tried: string[] = [];
  for (const b of backendOrder()) {
    // EGL must not look for a display server; read by Mesa when Dawn opens EGL, so set before create().
    if (b === 'opengles' && !process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
    let gpu: GpuLike;
    let adapter: AdapterLike | null;
    try {
      gpu = dawn.create([`backend=${b}`]);
      adapter = await gpu.requestAdapter({ powerPreference: 'high-performance', ...adapterOptions(b) });
    } catch (e) {
      tried.push(`${b}: ${firstLine(e)}`);
      continue;
    }
    if (!adapter) {
      tried.push(`${b}: no adapter`);
      continue;
    }
    const extra = adapterOptions(b);
    const wrapped = { requestAdapter: (o?: Record<string, unknown>) => gpu.requestAdapter({ ...o, ...extra }) };
    Object.assign(globalThis, dawn.globals);
    const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
    // Node 21+ has a global navigator (a getter-only property): add gpu to it rather than replace it.
    if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: wrapped, configurable: true, writable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu: wrapped }, configurable: true, writable: true });
    // tfjs-backend-webgpu registers its factory at load time, only if navigator.gpu exists by then.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    patchReadSync(require('@tensorflow/tfjs-backend-webgpu').WebGPUBackend);
    if (!tf.findBackendFactory('webgpu')) throw new Error('webgpu: @tensorflow/tfjs-backend-webgpu did not register');
    patchInt32Transpose();
    return deviceOf(adapter, b);
  }
  throw new Error(
    `webgpu: no WebGPU adapter found (${tried.join('; ')}); a GPU needs its vendor's Vulkan driver, tests need a software one (.ci/setup.d/30-webgpu-sw.sh)`,
  );
}

/**
 * Make Dawn's GPU visible to tfjs and register the `webgpu` backend; the caller then runs
 * `tf.setBackend('webgpu')`. Idempotent: the adapter found first is kept for the process.
 * @throws Error (one line) when a package is missing, no adapter is found, or only a software/fallback
 *   adapter is found and `allowFallback` is false.
 */
export async function prepareWebgpu(opts: { allowFallback: boolean }): Promise<WebgpuDevice> {
  // Automatic selection on Linux without any GPU device node can only find a software adapter: say so without
  // starting Dawn (which would print its own warnings on stderr on every command).
  if (!opts.allowFallback && !prepared && process.platform === 'linux' && !gpuDeviceNode()) {
    throw new Error(
      'webgpu: no GPU device on this machine (no /dev/dri/renderD*, /dev/nvidia*, /dev/dxg); a software adapter is used only when forced (ABE_BACKEND=webgpu)',
    );
  }
  prepared ??= prepare();
  let d: WebgpuDevice;
  try {
    d = await prepared;
  } catch (e) {
    prepared = undefined;
    throw e;
  }
  if (d.fallback && !opts.allowFallback) {
    throw new Error(`webgpu: only a software/fallback adapter was found (${d.adapter}); force it with ABE_BACKEND=webgpu`);
  }
  device = d;
  return d;
}

/** A GPU's device node on Linux: a DRM render node, NVIDIA's device files, or WSL's /dev/dxg. */
function gpuDeviceNode(): boolean {
  let dri: string[] = [];
  try {
    dri = fs.readdirSync('/dev/dri');
  } catch {
    /* no DRM devices */
  }
  return (
    dri.some((n) => n.startsWith('renderD')) ||
    fs.existsSync('/dev/nvidia0') ||
    fs.existsSync('/dev/nvidiactl') ||
    fs.existsSync('/dev/dxg')
  );
}

/** The adapter of the last successful `prepareWebgpu`, or undefined. */
export function webgpuDevice(): WebgpuDevice | undefined {
  return device;
}

/**
 * Bytes of GPU buffers in use on the webgpu backend (the backend's own counter, which
 * `tf.memory().numBytesInGPU` reports); 0 when webgpu is not the active backend. For leak tests.
 * Queued work is submitted first: tfjs releases the uniform buffers of recorded dispatches, and the
 * buffers of tensors disposed while their commands were still queued, only at submission.
 */
export function gpuBytesInUse(): number {
  if (tf.getBackend() !== 'webgpu') return 0;
  const be = tf.backend() as unknown as BackendInternals & { commandEncoder: unknown };
  if (be.commandEncoder) {
    be.endComputePassEncoder();
    be.submitQueue();
  }
  return (tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number }).numBytesInGPU ?? 0;
}
