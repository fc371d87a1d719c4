/**
 * Every core for `eval`, `ablate` and `demo`: a pool of worker threads, each with its own backend, model and
 * ModelScorer (decoding, encoding and ABE scoring all run in the workers). Each `score` call goes whole to the
 * next free worker, and runPairs keeps one call per worker in flight, so no worker waits for another's share.
 * Each image's scores depend only on that image and its captions, so the results equal one scorer's (tested).
 * Costs one model per worker in memory.
 */
import type { Worker } from 'worker_threads';
import type { AbeOptions } from '../abe/options';
import { OptionsError } from '../errors';
import { revive, spawnWorkerScript } from '../parallel/pool';
import type { SerializedError } from '../parallel/protocol';
import type { ChunkScorer, ImageRef } from './runner';
import type { ScorerConfig } from './scoring';

export interface ScorerWorkerInit {
  /** Model as loadClip takes it (a folder, file or bundled name). */
  weights: string;
  configs: ScorerConfig[];
  cacheDir?: string;
  modelId?: string;
  /** Backend each worker forces (ABE_BACKEND names); default the worker's own choice. */
  backend?: string;
}

export type ScorerRequest = { kind: 'score'; id: number; images: ImageRef[]; captions: string[][] } | { kind: 'close' };
export type ScorerReply =
  | { kind: 'ready'; backend: string; configs: string[]; options: Record<string, AbeOptions> }
  | { kind: 'scored'; id: number; scores: Record<string, number[][]>; failed: [string, string][] }
  | { kind: 'failed'; id: number; error: SerializedError }
  | { kind: 'init-failed'; error: SerializedError }
  | { kind: 'closed' };

interface Slot {
  worker: Worker;
  onReply?: (r: ScorerReply) => void;
  exitError?: Error;
}

export class ScorerPool implements ChunkScorer {
  private nextId = 1;
  private closed = false;
  private readonly idle: Slot[];
  private readonly waiting: ((s: Slot) => void)[] = [];
  private constructor(
    private readonly slots: Slot[],
    readonly configs: string[],
    readonly options: Record<string, AbeOptions>,
    readonly backend: string,
  ) {
    this.idle = [...slots];
  }

  get workers(): number {
    return this.slots.length;
  }
  /** runPairs keeps this many chunks in flight: one per worker. */
  get concurrency(): number {
    return this.slots.length;
  }

  private acquire(): Promise<Slot> {
    const s = this.idle.shift();
    return s ? Promise.resolve(s) : new Promise((resolve) => this.waiting.push(resolve));
  }
  private release(s: Slot): void {
    const next = this.waiting.shift();
    if (next) next(s);
    else this.idle.push(s);
  }

  /** Start `workers` workers, each loading the model and its scorer. */
  static async create(init: ScorerWorkerInit, workers: number): Promise<ScorerPool> {
    if (!Number.isSafeInteger(workers) || workers < 1) throw new OptionsError('threads', `${workers} is not a positive integer`);
    const slots: Slot[] = [];
    const ready = (s: Slot): Promise<ScorerReply & { kind: 'ready' }> =>
      new Promise((resolve, reject) => {
        s.worker.once('error', reject);
        s.worker.once('exit', (code) => reject(new Error(`scorer worker exited (code ${code}) while loading the model`)));
        s.onReply = (r) => {
          if (r.kind === 'ready') resolve(r);
          else if (r.kind === 'init-failed') reject(revive(r.error, 'scorer worker'));
        };
      });
    const starting: Promise<ScorerReply & { kind: 'ready' }>[] = [];
    for (let i = 0; i < workers; i++) {
      const s: Slot = { worker: spawnWorkerScript(__dirname, 'scorer-worker', init) };
      s.worker.on('message', (r: ScorerReply) => s.onReply?.(r));
      slots.push(s);
      starting.push(ready(s));
    }
    let first: ScorerReply & { kind: 'ready' };
    try {
      [first] = await Promise.all(starting);
    } catch (e) {
      await Promise.all(slots.map((s) => s.worker.terminate()));
      throw e;
    }
    for (const s of slots) {
      s.worker.removeAllListeners('error');
      s.worker.removeAllListeners('exit');
      s.worker.on('error', (e) => {
        s.exitError = e;
      });
      s.worker.on('exit', (code) => {
        s.exitError ??= new Error(`scorer worker exited (code ${code})`);
        s.onReply?.({ kind: 'failed', id: -1, error: { name: 'Error', message: s.exitError.message } });
      });
      s.worker.unref(); // an unclosed pool does not hold the process open
    }
    return new ScorerPool(slots, first.configs, first.options, first.backend);
  }

  private ask(s: Slot, images: ImageRef[], captions: string[][]): Promise<ScorerReply & { kind: 'scored' }> {
    if (s.exitError) return Promise.reject(s.exitError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      s.worker.ref();
      s.onReply = (r) => {
        s.onReply = undefined;
        s.worker.unref();
        if (r.kind === 'scored' && r.id === id) resolve(r);
        else if (r.kind === 'failed') reject(revive(r.error, 'scorer worker'));
        else reject(new Error(`scorer worker: unexpected reply ${r.kind}`));
      };
      s.worker.postMessage({ kind: 'score', id, images, captions } satisfies ScorerRequest);
    });
  }

  /** Scores the chunk on the next free worker (calls beyond the worker count wait for one). */
  async score(images: ImageRef[], captions: string[][]): Promise<{ scores: Record<string, number[][]>; failed: Map<string, string> }> {
    if (this.closed) throw new OptionsError('scorer', 'used after close()');
    const s = await this.acquire();
    try {
      const r = await this.ask(s, images, captions);
      return { scores: r.scores, failed: new Map(r.failed) };
    } finally {
      this.release(s);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.exitError) return;
        s.worker.ref();
        const done = new Promise<void>((resolve) => {
          s.worker.once('exit', () => resolve());
        });
        s.worker.postMessage({ kind: 'close' } satisfies ScorerRequest);
        await done;
      }),
    );
  }
}
