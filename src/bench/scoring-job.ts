/**
 * The memory and time of a user's scoring job, measured in a fresh child process: a long benchmark process
 * has grown its wasm heap (which never shrinks) with large encoder batches and worker pools, so its RSS
 * reflects the benchmark's history, not what scoring costs. The child creates the model from random
 * weights, frees the host copy, computes image features (AbeScorer.imageFeatures, batches of 8) and runs
 * scoreMatrix on them; its peak RSS is the kernel's high-water mark over exactly that work.
 */
import { fork } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { createClip } from '../clip/model';
import { AbeScorer } from '../abe/scorer';
import type { ImageFeatures } from '../abe/features';
import type { TensorMap } from '../weights/types';
import { QUICK_CONFIG, VIT_B32_CONFIG } from './geometry';
import { forceGc, memoryBreakdown, MemoryBreakdown, resetVmHwm, rssSampler, vmHwmBytes } from './memory';
import { randomClipWeights, weightsBytes } from './random-weights';
import { benchCaptions, ScoreBenchResult } from './scoring';
import { measure } from './stats';

export interface ScoringJobOptions {
  /** Quick mode's tiny geometry instead of ViT-B/32. */
  quick: boolean;
  /** Backend to force (ABE_BACKEND names); default initBackend's choice. */
  backend?: string;
  /** Images and captions of the matrix. */
  n: number;
  m: number;
  /** Distinct captions among the m. */
  distinct: number;
  /** Timed scoreMatrix calls after the warm-up call. */
  repeats: number;
  /** Images per imageFeatures call (a user's loader batch). */
  imageBatch: number;
}

export interface ScoringJobResult extends ScoreBenchResult {
  /** Float32 bytes of the model's weights. */
  weightsBytes: number;
  /** Where peakRssBytes comes from: the kernel's VmHWM, or 10 ms RSS samples where /proc is unavailable. */
  peakSource: 'VmHWM' | 'sampled';
  /** Wall time of computing the n images' features, ms. */
  featuresMs: number;
  /** The child's lifetime peak RSS up to the model's creation (host weights and their tensors both alive). */
  createPeakRssBytes: number | null;
  /** Memory after the model was created (host weights freed), after the features, and after scoring. */
  memory: { afterModel: MemoryBreakdown; afterFeatures: MemoryBreakdown; afterScoring: MemoryBreakdown };
}

/** The wasm backend's linear memory in bytes, or null on another backend. */
function wasmHeapBytes(): number | null {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8 ? b.wasm.HEAPU8.buffer.byteLength : null;
}

const snapshot = (): MemoryBreakdown => memoryBreakdown(tf.memory().numBytes, wasmHeapBytes());

/** The job itself (runs in the child; callable in-process for tests). */
export async function runScoringJob(o: ScoringJobOptions, progress: (m: string) => void = () => {}): Promise<ScoringJobResult> {
  await initBackend(o.backend ? { backend: o.backend } : {});
  const geo = o.quick ? QUICK_CONFIG : VIT_B32_CONFIG;
  progress('scoring job: creating the model');
  let w: TensorMap | undefined = randomClipWeights(geo);
  const wBytes = weightsBytes(w);
  const model = createClip(geo, w);
  w.clear(); // the model's store keeps the map: empty it, as loadClip does, so the host copy can go
  w = undefined;
  forceGc();
  try {
    const createPeakRssBytes = vmHwmBytes();
    const afterModel = snapshot();
    // From here on the high-water mark covers the scoring job only (feature extraction included).
    const useHwm = resetVmHwm() && vmHwmBytes() !== null;
    const sampler = rssSampler();
    const scorer = new AbeScorer(model);
    const R = geo.vision.resolution;
    const feats: ImageFeatures[] = [];
    progress(`scoring job: features of ${o.n} images, batch ${o.imageBatch}`);
    const t0 = performance.now();
    for (let s = 0; s < o.n; s += o.imageBatch) {
      const b = Math.min(o.imageBatch, o.n - s);
      // Distinct pixels per batch (a seed per batch), so every image has its own content hash.
      const px = tf.randomUniform([b, 3, R, R], -2, 2, 'float32', 1 + s) as tf.Tensor4D;
      try {
        feats.push(...(await scorer.imageFeatures(px)));
      } finally {
        px.dispose();
      }
    }
    const featuresMs = performance.now() - t0;
    const afterFeatures = snapshot();
    progress(`scoring job: scoreMatrix ${o.n}×${o.m}`);
    const captions = benchCaptions(o.m, o.distinct);
    await scorer.scoreMatrix(feats, captions); // fills the caption and phrase caches
    const rssBeforeBytes = process.memoryUsage.rss();
    const t = await measure(() => scorer.scoreMatrix(feats, captions), { warmup: 0, repeats: o.repeats });
    const sampled = sampler.stop();
    const hwm = useHwm ? vmHwmBytes() : null;
    const afterScoring = snapshot();
    return {
      ...t,
      n: o.n,
      m: o.m,
      distinctCaptions: new Set(captions).size,
      pairsPerSecond: (o.n * o.m * 1000) / t.medianMs,
      peakRssBytes: hwm ?? sampled,
      rssBeforeBytes,
      peakSource: hwm !== null ? 'VmHWM' : 'sampled',
      weightsBytes: wBytes,
      featuresMs,
      createPeakRssBytes,
      memory: { afterModel, afterFeatures, afterScoring },
    };
  } finally {
    model.dispose();
  }
}

/** Messages from the child: progress lines, then one result or error. */
export type ChildMessage =
  | { kind: 'progress'; message: string }
  | { kind: 'result'; result: ScoringJobResult }
  | { kind: 'error'; name: string; message: string; stack?: string };

/** The child's entry: compiled JS beside this file, or the TypeScript source through ts-node. */
function childEntry(): { file: string; execArgv: string[] } {
  const js = path.join(__dirname, 'scoring-child.js');
  if (fs.existsSync(js)) return { file: js, execArgv: [] };
  return { file: path.join(__dirname, 'scoring-child.ts'), execArgv: ['-r', require.resolve('ts-node/register/transpile-only')] };
}

/** Run the scoring job in a fresh Node process and return its figures. */
export function scoringInFreshProcess(o: ScoringJobOptions, progress: (m: string) => void = () => {}): Promise<ScoringJobResult> {
  const { file, execArgv } = childEntry();
  return new Promise((resolve, reject) => {
    // execArgv is set, not inherited: the parent's flags (mocha's, --inspect) would change the child's memory.
    const child = fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let outcome: ChildMessage | undefined;
    child.on('message', (msg: ChildMessage) => {
      if (msg.kind === 'progress') progress(msg.message);
      else outcome = msg;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (outcome?.kind === 'result') resolve(outcome.result);
      else if (outcome?.kind === 'error') reject(new Error(`scoring job: ${outcome.name}: ${outcome.message}`));
      else reject(new Error(`scoring job: the child exited (${signal ?? `code ${code}`}) without a result`));
    });
    child.send(o);
  });
}
