/**
 * Data-parallel encoding on every core: a pool of worker threads, each with its own tfjs backend and model,
 * each encoding a share of the batch. tfjs runs the wasm backend single-threaded under Node, so this is how
 * the CPU path uses more than one core. Outputs equal a single ClipModel's (same kernels, same row order).
 * Workers hold the event loop open only while they have work: a pool that is never closed does not hang
 * the process, but `close()` frees their memory.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { AbeClipError, ERROR_CLASSES, InputError, OptionsError } from '../errors';
import type { EncoderOutput } from '../clip/types';
import { WEIGHT_LAYOUTS, WeightLayout } from '../tensor/linear';
import type { ClipConfig } from '../weights/config';
import type { TensorMap } from '../weights/types';
import type { Job, Reply, SerializedError, WorkerInit } from './protocol';

/**
 * Workers' default weight layout (src/tensor/linear.ts): a pool is for throughput, and with every core busy
 * `in-out` measured ≈ 11 % more images/s than `out-in` on wasm, for twice the weight memory.
 */
export const DEFAULT_POOL_LAYOUT: WeightLayout = 'in-out';

export interface EncoderPoolOptions {
  /** Worker threads (default: the cores available). */
  workers?: number;
  /** Backend each worker forces (ABE_BACKEND names); default the same choice `initBackend()` makes. */
  backend?: string;
  /** Each worker's weight layout; default DEFAULT_POOL_LAYOUT. */
  weightLayout?: WeightLayout;
}

export interface PoolEncodeOptions {
  /** Rows one worker encodes per forward chunk (default 32). */
  batchSize?: number;
  /** As EncodeOptions.tokens: false returns `tokens` as [n, 0, E] (default true). */
  tokens?: boolean;
}

/** The cores this process may use. */
export function availableCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** A worker script `dir/base`: compiled JS when it is there, or the TypeScript source through ts-node. */
export function spawnWorkerScript(dir: string, base: string, workerData: unknown): Worker {
  const js = path.join(dir, `${base}.js`);
  if (fs.existsSync(js)) return new Worker(js, { workerData });
  const ts = path.join(dir, `${base}.ts`);
  const register = require.resolve('ts-node/register/transpile-only');
  return new Worker(`require(${JSON.stringify(register)}); require(${JSON.stringify(ts)});`, { eval: true, workerData });
}

const spawnWorker = (init: WorkerInit): Worker => spawnWorkerScript(__dirname, 'worker', init);

/** A worker's error as the same typed class in this thread (structured clone drops the prototype). */
export function revive(e: SerializedError, where: string): Error {
  if (e.code && e.source !== undefined && e.problem !== undefined) {
    const Cls = ERROR_CLASSES.find((c) => c.name === e.name);
    return Cls ? new Cls(e.source, e.problem) : new AbeClipError(e.code, e.source, e.problem);
  }
  return new Error(`${where}: ${e.name}: ${e.message}`);
}

/** Put SharedArrayBuffer-backed copies of the weights in one buffer, so workers share rather than copy them. */
export function shareWeights(weights: TensorMap): TensorMap {
  let total = 0,
    shared = true;
  for (const t of weights.values()) {
    total += t.data.length;
    if (!(t.data.buffer instanceof SharedArrayBuffer)) shared = false;
  }
  if (shared) return weights;
  const sab = new SharedArrayBuffer(total * 4);
  const out: TensorMap = new Map();
  let off = 0;
  for (const [name, t] of weights) {
    const n = t.data.length;
    const data = t.dtype === 'int32' ? new Int32Array(sab, off * 4, n) : new Float32Array(sab, off * 4, n);
    data.set(t.data as never);
    out.set(name, { ...t, data });
    off += n;
  }
  return out;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  exited: boolean;
  onReply?: (r: Reply) => void;
}

interface Pending {
  job: Job;
  resolve(r: Reply & { kind: 'done' }): void;
  reject(e: Error): void;
}

export class EncoderPool {
  readonly config: Readonly<ClipConfig>;
  /** Backend name the workers report. */
  readonly backend: string;
  readonly weightLayout: WeightLayout;
  private readonly slots: Slot[];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  private constructor(config: ClipConfig, slots: Slot[], backend: string, weightLayout: WeightLayout) {
    this.config = Object.freeze({ ...config });
    this.slots = slots;
    this.backend = backend;
    this.weightLayout = weightLayout;
  }

  /** Start the workers and load the model in each (weights are shared, not copied, between them). */
  static async create(config: ClipConfig, weights: TensorMap, opts: EncoderPoolOptions = {}): Promise<EncoderPool> {
    const n = opts.workers ?? availableCores();
    if (!Number.isSafeInteger(n) || n < 1) throw new OptionsError('workers', `${n} is not a positive integer`);
    const weightLayout = opts.weightLayout ?? DEFAULT_POOL_LAYOUT;
    if (!WEIGHT_LAYOUTS.includes(weightLayout))
      throw new OptionsError('weightLayout', `expected one of ${WEIGHT_LAYOUTS.join(', ')}, got ${JSON.stringify(weightLayout)}`);
    const init: WorkerInit = {
      config,
      weights: [...shareWeights(weights)],
      weightLayout,
      ...(opts.backend ? { backend: opts.backend } : {}),
    };
    const slots: Slot[] = [];
    const ready = (s: Slot): Promise<string> =>
      new Promise((resolve, reject) => {
        s.worker.once('error', reject);
        s.worker.once('exit', (code) => reject(new Error(`pool worker exited (code ${code}) while loading the model`)));
        s.onReply = (r) => {
          if (r.kind === 'ready') resolve(r.backend);
          else if (r.kind === 'init-failed') reject(revive(r.error, 'pool worker'));
        };
      });
    const starting: Promise<string>[] = [];
    for (let i = 0; i < n; i++) {
      const s: Slot = { worker: spawnWorker(init), busy: false, exited: false };
      s.worker.on('message', (r: Reply) => s.onReply?.(r));
      slots.push(s);
      starting.push(ready(s));
    }
    let backends: string[];
    try {
      backends = await Promise.all(starting);
    } catch (e) {
      await Promise.all(slots.map((s) => s.worker.terminate()));
      throw e;
    }
    const pool = new EncoderPool(config, slots, backends[0], weightLayout);
    for (const s of slots) pool.watch(s);
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  private watch(s: Slot): void {
    s.worker.removeAllListeners('error');
    s.worker.removeAllListeners('exit');
    s.worker.on('error', (e) => this.fail(s, e));
    s.worker.on('exit', (code) => {
      s.exited = true;
      if (!this.closed) this.fail(s, new Error(`pool worker exited (code ${code})`));
    });
    s.worker.unref(); // idle workers must not keep the process alive
  }

  private fail(s: Slot, e: Error): void {
    s.exited = true;
    const r = s.onReply;
    s.onReply = undefined;
    if (r) r({ kind: 'failed', id: -1, error: { name: e.name, message: e.message } });
    if (this.slots.every((x) => x.exited)) {
      for (const p of this.queue.splice(0)) p.reject(new Error(`all pool workers have stopped: ${e.message}`));
    }
    this.pump();
  }

  private pump(): void {
    for (const s of this.slots) {
      if (!this.queue.length) return;
      if (s.busy || s.exited) continue;
      const p = this.queue.shift()!;
      s.busy = true;
      s.worker.ref();
      s.onReply = (r) => {
        s.busy = false;
        s.onReply = undefined;
        s.worker.unref();
        if (r.kind === 'done') p.resolve(r);
        else if (r.kind === 'failed') p.reject(revive(r.error, 'pool worker'));
        else p.reject(new Error(`pool worker: unexpected reply '${r.kind}'`));
        this.pump();
      };
      s.worker.postMessage(p.job);
    }
  }

  private submit(job: Job): Promise<Reply & { kind: 'done' }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  private alive(): void {
    if (this.closed) throw new InputError('pool', 'used after close()');
  }

  /** Split `rows` into jobs of at most `batchSize`, no fewer jobs than workers (when rows allow). */
  private shares(rows: number, batchSize: number): [number, number][] {
    const per = Math.max(1, Math.min(batchSize, Math.ceil(rows / this.size)));
    const out: [number, number][] = [];
    for (let s = 0; s < rows; s += per) out.push([s, Math.min(per, rows - s)]);
    return out;
  }

  private async gather(
    rows: number,
    T: number,
    jobs: [number, number][],
    make: (start: number, size: number, id: number) => Job,
  ): Promise<EncoderOutput> {
    const E = this.config.embedDim;
    const embeds = new Float32Array(rows * E),
      tokens = new Float32Array(rows * T * E);
    await Promise.all(
      jobs.map(async ([start, size]) => {
        const r = await this.submit(make(start, size, this.nextId++));
        embeds.set(r.embeds, start * E);
        tokens.set(r.tokens, start * T * E);
      }),
    );
    return { embeds: tf.tensor2d(embeds, [rows, E]), tokens: tf.tensor3d(tokens, [rows, T, E]) };
  }

  /**
   * pixels [n,3,R,R] normalised (a tf.Tensor4D, or its Float32Array data) → {embeds [n,E], tokens [n,1+P,E]},
   * as ClipModel.encodeImages (no hooks or hidden states: those need the model in this thread).
   */
  async encodeImages(pixels: tf.Tensor4D | Float32Array, opts: PoolEncodeOptions = {}): Promise<EncoderOutput> {
    this.alive();
    const R = this.config.vision.resolution,
      per = 3 * R * R;
    let data: Float32Array;
    if (pixels instanceof tf.Tensor) {
      if (pixels.isDisposed) throw new InputError('pixels', 'tensor is disposed');
      if (pixels.rank !== 4 || pixels.shape[1] !== 3 || pixels.shape[2] !== R || pixels.shape[3] !== R || pixels.dtype !== 'float32') {
        throw new InputError('pixels', `${pixels.dtype} [${pixels.shape}], expected float32 [n,3,${R},${R}]`);
      }
      data = (await pixels.data()) as Float32Array;
    } else if (pixels instanceof Float32Array) {
      if (pixels.length % per) throw new InputError('pixels', `length ${pixels.length} is not a multiple of 3·${R}·${R} = ${per}`);
      data = pixels;
    } else {
      throw new InputError('pixels', 'expected a tf.Tensor4D or a Float32Array');
    }
    const rows = data.length / per,
      { batchSize, tokens } = checkPoolOptions(opts);
    const T = tokens ? 1 + (R / this.config.vision.patchSize) ** 2 : 0;
    return this.gather(rows, T, this.shares(rows, batchSize), (start, size, id) => ({
      kind: 'image',
      id,
      rows: size,
      batchSize,
      tokens,
      pixels: data.slice(start * per, (start + size) * per),
    }));
  }

  /** ids int32 [m,L] (a tf.Tensor2D or number[][]) → {embeds [m,E], tokens [m,L,E]}, as ClipModel.encodeTexts. */
  async encodeTexts(ids: tf.Tensor2D | number[][], opts: PoolEncodeOptions = {}): Promise<EncoderOutput> {
    this.alive();
    let data: Int32Array, rows: number, L: number;
    if (ids instanceof tf.Tensor) {
      if (ids.rank !== 2 || ids.dtype !== 'int32') throw new InputError('ids', `${ids.dtype} [${ids.shape}], expected int32 [m,L]`);
      [rows, L] = ids.shape;
      data = (await ids.data()) as Int32Array;
    } else if (Array.isArray(ids)) {
      rows = ids.length;
      L = rows ? ids[0].length : 0;
      if (ids.some((r) => !Array.isArray(r) || r.length !== L)) throw new InputError('ids', 'rows must be arrays of equal length');
      data = Int32Array.from(ids.flat());
    } else {
      throw new InputError('ids', 'expected a tf.Tensor2D int32 or number[][]');
    }
    const { batchSize, tokens } = checkPoolOptions(opts);
    return this.gather(rows, tokens ? L : 0, this.shares(rows, batchSize), (start, size, id) => ({
      kind: 'text',
      id,
      rows: size,
      L,
      batchSize,
      tokens,
      ids: data.slice(start * L, (start + size) * L),
    }));
  }

  /** Stop every worker and free its memory; waits for them to exit. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new InputError('pool', 'closed before this job ran'));
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.exited) return;
        const exited = new Promise<void>((resolve) => s.worker.once('exit', () => resolve()));
        s.worker.ref();
        s.worker.postMessage({ kind: 'close' });
        const timer = setTimeout(() => {
          void s.worker.terminate();
        }, 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

function checkPoolOptions(opts: PoolEncodeOptions): { batchSize: number; tokens: boolean } {
  const b = opts.batchSize ?? 32;
  if (!Number.isSafeInteger(b) || b < 1) throw new OptionsError('opts.batchSize', `${b} is not a positive integer`);
  if (opts.tokens !== undefined && typeof opts.tokens !== 'boolean')
    throw new OptionsError('opts.tokens', `expected true or false, got ${JSON.stringify(opts.tokens)}`);
  return { batchSize: b, tokens: opts.tokens ?? true };
}
