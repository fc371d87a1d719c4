/**
 * The training step and checks of tools/toy-train.ts: canonical weights as tf.Variables, one symmetric-InfoNCE
 * AdamW step, in-batch validation, and the toy benchmark's accuracy per kind and split computed with the training
 * forward pass (the same decision rule as `eval --configs clip`: positive logit above the negative's).
 */
import * as tf from '@tensorflow/tfjs';
import type { ClipConfig } from '../../src/config/clip';
import type { TensorMap } from '../../src/weights/types';
import { AdamW } from './adamw';
import type { Batch } from './data';
import { encodeImages, encodeTexts, infoNce, logits } from './forward';
import type { Params } from './forward';
import { ROWS_NAME, TokenTable } from './tokens';

const TOKEN_EMBEDDING = 'token_embedding.weight';

/**
 * Trainable copies of canonical weights (float32), in the map's order; `token_embedding.weight` becomes the
 * vocabulary's rows (`token_embedding.rows`, tokens.ts).
 */
export function toVariables(weights: TensorMap, vocab: TokenTable): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [name, t] of weights) {
    if (name === TOKEN_EMBEDDING) out.set(ROWS_NAME, tf.variable(tf.tensor2d(vocab.gather(t), [vocab.size, t.shape[1]]), true));
    else out.set(name, tf.variable(tf.tensor(t.data as Float32Array, t.shape, 'float32'), true));
  }
  return out;
}

/**
 * The variables' current values as canonical host weights in `start`'s order (for the safetensors writer and
 * ClipModel): the full token embedding is `start`'s, with the trained rows in place and the rest decayed by
 * `decay` (AdamW.decayProduct).
 */
export function toTensorMap(params: ReadonlyMap<string, tf.Variable>, start: TensorMap, vocab: TokenTable, decay: number): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of start) {
    if (name === TOKEN_EMBEDDING) out.set(name, vocab.expand(t, params.get(ROWS_NAME)!.dataSync() as Float32Array, decay));
    else out.set(name, { dtype: 'float32', shape: [...t.shape], data: params.get(name)!.dataSync() as Float32Array });
  }
  return out;
}

/** Batch tensors → the symmetric InfoNCE loss (call inside tf.tidy or variableGrads). */
export function batchLoss(p: Params, c: ClipConfig, vocab: TokenTable, b: Batch, L: number, mask: tf.Tensor2D): tf.Scalar {
  const R = c.vision.resolution;
  const img = encodeImages(p, c, tf.tensor4d(b.pixels, [b.n, 3, R, R]));
  const txt = encodeTexts(p, c, vocab, b.ids, b.n, L, mask);
  return infoNce(logits(p, img, txt));
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  finite: boolean;
}

/** One training step: loss and gradients of every variable, then AdamW at `lr`. Leaves no tensors behind. */
export function trainStep(
  params: Map<string, tf.Variable>,
  opt: AdamW,
  c: ClipConfig,
  vocab: TokenTable,
  b: Batch,
  L: number,
  mask: tf.Tensor2D,
  lr: number,
): StepResult {
  const vars = [...params.values()];
  const { value, grads } = tf.variableGrads(() => batchLoss(params, c, vocab, b, L, mask), vars);
  // variableGrads keys gradients by variable name; map them back to canonical names.
  const byName: Record<string, tf.Tensor> = {};
  for (const [name, v] of params) byName[name] = grads[v.name];
  const sq = tf.tidy(() => tf.addN(Object.values(byName).map((g) => tf.sum(tf.square(g)))));
  const gradNorm = Math.sqrt(sq.dataSync()[0]);
  const loss = value.dataSync()[0];
  sq.dispose();
  const finite = Number.isFinite(loss) && Number.isFinite(gradNorm);
  if (finite) opt.step(byName, lr);
  value.dispose();
  tf.dispose(Object.values(grads));
  return { loss, gradNorm, finite };
}

/** Validation as the original run reported it: mean InfoNCE loss and in-batch image→text top-1 over batches. */
export function validate(
  p: Params,
  c: ClipConfig,
  vocab: TokenTable,
  batches: Batch[],
  L: number,
  mask: tf.Tensor2D,
): { loss: number; top1: number } {
  let loss = 0,
    hits = 0,
    n = 0;
  for (const b of batches) {
    tf.tidy(() => {
      const R = c.vision.resolution;
      const l = logits(p, encodeImages(p, c, tf.tensor4d(b.pixels, [b.n, 3, R, R])), encodeTexts(p, c, vocab, b.ids, b.n, L, mask));
      loss += infoNce(l).dataSync()[0] / batches.length;
      const arg = tf.argMax(l, 1).dataSync();
      for (let i = 0; i < b.n; i++) if (arg[i] === i) hits++;
      n += b.n;
    });
  }
  return { loss, top1: hits / n };
}

export interface BenchData {
  /** [k,3,R,R] normalised pixels of the bench images. */
  pixels: tf.Tensor4D;
  /** Image row of each item, and the caption rows of its positive and negative. */
  items: { kind: string; split: string; image: number; pos: number; neg: number }[];
  /** Token ids of the distinct captions [m,L]. */
  ids: Int32Array;
  L: number;
}

/** Accuracy (positive logit above the negative) per `kind/split` cell on the bench, with the training forward. */
export function benchAccuracy(p: Params, c: ClipConfig, vocab: TokenTable, d: BenchData, mask: tf.Tensor2D): Record<string, number> {
  const sims = tf.tidy(() => {
    const parts: tf.Tensor2D[] = [];
    const k = d.pixels.shape[0];
    for (let s = 0; s < k; s += 128) parts.push(encodeImages(p, c, tf.slice(d.pixels, [s, 0, 0, 0], [Math.min(128, k - s), -1, -1, -1])));
    const m = d.ids.length / d.L;
    return logits(p, tf.concat(parts, 0), encodeTexts(p, c, vocab, d.ids, m, d.L, mask));
  });
  const s = sims.dataSync();
  const m = sims.shape[1];
  sims.dispose();
  const hit: Record<string, [number, number]> = {};
  for (const it of d.items) {
    const key = `${it.kind}/${it.split}`;
    const h = (hit[key] ??= [0, 0]);
    if (s[it.image * m + it.pos] > s[it.image * m + it.neg]) h[0]++;
    h[1]++;
  }
  return Object.fromEntries(Object.entries(hit).map(([k, [a, n]]) => [k, a / n]));
}
