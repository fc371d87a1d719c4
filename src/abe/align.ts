/**
 * Local Token-Patch Alignment (METHOD.md §3), batched: one [U, E] × [E, n·P] product of the U distinct text
 * embeddings against the patches of a chunk of n images gives every sim_p and sim_o of its Q groups; top-k over
 * P and a gather give l_p, l_o and Δ.
 * Pure tensor functions: the caller owns (and disposes) what they return.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors';
import { concatRows } from '../tensor/host';
import type { LocateMode } from './options';

export interface AlignOutput {
  /** [n, Q] */
  lp: tf.Tensor2D;
  /** [n, Q] */
  lo: tf.Tensor2D;
  /** [n, Q] = lp − lo */
  delta: tf.Tensor2D;
  /** [n, Q, topK] int32 — locate=object: the topK patches by sim_o; locate=phrase: by sim_p (decreasing). */
  R: tf.Tensor3D;
  /** [n, Q, P], only with `withSims`. */
  simP?: tf.Tensor3D;
  simO?: tf.Tensor3D;
}

/**
 * @param patches [n, P, E] L2-normalised patch features
 * @param phrase  [Q, E] L2-normalised p_k
 * @param object  [Q, E] L2-normalised o_k
 */
export function align(
  patches: tf.Tensor3D,
  phrase: tf.Tensor2D,
  object: tf.Tensor2D,
  locate: LocateMode,
  topK: number,
  withSims = false,
): AlignOutput {
  const Q = phrase.shape[0];
  if (object.shape[0] !== Q || phrase.shape[1] !== patches.shape[2] || object.shape[1] !== patches.shape[2]) {
    throw new InputError('align', `phrase ${phrase.shape} / object ${object.shape} do not match patches [${patches.shape}]`);
  }
  return tf.tidy(() => {
    const rows = { texts: tf.concat([phrase, object], 0), phrase: tf.range(0, Q, 1, 'int32'), object: tf.range(Q, 2 * Q, 1, 'int32') };
    return alignRows(patches, rows, locate, topK, withSims) as unknown as tf.TensorContainerObject;
  }) as unknown as AlignOutput;
}

/** Text rows for alignRows: U distinct L2-normalised embeddings, and the row of each group's p_k and o_k. */
export interface TextRows {
  texts: tf.Tensor2D; // [U, E]
  phrase: tf.Tensor1D; // int32 [Q]
  object: tf.Tensor1D; // int32 [Q]
}

/**
 * `align` on shared text rows: each distinct text embedding is compared with the patches once (benchmarks
 * repeat objects and captions), and the per-group results are gathered from those rows.
 */
export function alignRows(patches: tf.Tensor3D, rows: TextRows, locate: LocateMode, topK: number, withSims = false): AlignOutput {
  const [n, P, E] = patches.shape;
  const U = rows.texts.shape[0];
  if (rows.texts.shape[1] !== E) throw new InputError('align', `text rows [${rows.texts.shape}] do not match patches [${patches.shape}]`);
  if (topK > P) throw new InputError('align', `topK ${topK} exceeds the ${P} patches per image`);
  return tf.tidy(() => {
    // One 2-D product, texts on the left: [U, E] × [E, n·P] → [U, n, P]. P stays the last axis, so top-k needs
    // no transpose of the big tensor, and on wasm only the (small) patch operand is packed per call.
    const sims = tf.matMul(rows.texts, tf.transpose(patches.reshape([n * P, E]))).reshape([U, n, P]) as tf.Tensor3D;
    const toImages = <T extends tf.Tensor>(t: T): T => (t.rank === 2 ? tf.transpose(t) : tf.transpose(t, [1, 0, 2])) as T;
    const top = tf.topk(sims, topK, true); // [U, n, K], decreasing
    const means = top.values.mean(2); // [U, n]
    const lo = toImages(tf.gather(means, rows.object)) as tf.Tensor2D;
    let lp: tf.Tensor2D, R: tf.Tensor3D;
    if (locate === 'object') {
      const rO = tf.gather(top.indices, rows.object) as tf.Tensor3D;
      R = toImages(rO);
      lp = toImages(gatherLast(tf.gather(sims, rows.phrase), rO).mean(2)) as tf.Tensor2D;
    } else {
      R = toImages(tf.gather(top.indices, rows.phrase)) as tf.Tensor3D;
      lp = toImages(tf.gather(means, rows.phrase)) as tf.Tensor2D;
    }
    const out: AlignOutput = { lp, lo, delta: tf.sub(lp, lo), R };
    if (withSims) {
      out.simP = toImages(tf.gather(sims, rows.phrase)) as tf.Tensor3D;
      out.simO = toImages(tf.gather(sims, rows.object)) as tf.Tensor3D;
    }
    return out as unknown as tf.TensorContainerObject;
  }) as unknown as AlignOutput;
}

/**
 * The distinct rows among p [Q·E] and o [Q·E] (exact float equality), and each group's row in them.
 * Host arrays; the caller makes the tensors once per call.
 */
export function distinctTextRows(
  p: Float32Array,
  o: Float32Array,
  Q: number,
  E: number,
): { rows: Float32Array; phrase: Int32Array; object: Int32Array } {
  const seen = new Map<number, number[]>(); // hash → row indices in `kept`
  const kept: Float32Array[] = [];
  const bits = (a: Float32Array, q: number): Uint32Array => new Uint32Array(a.buffer, a.byteOffset + q * E * 4, E);
  const rowOf = (a: Float32Array, q: number): number => {
    const u = bits(a, q);
    let h = 2166136261;
    for (let i = 0; i < E; i++) h = Math.imul(h ^ u[i], 16777619);
    const list = seen.get(h) ?? [];
    for (const r of list) {
      const v = new Uint32Array(kept[r].buffer, kept[r].byteOffset, E);
      let same = true;
      for (let i = 0; i < E && same; i++) same = v[i] === u[i];
      if (same) return r;
    }
    kept.push(a.subarray(q * E, (q + 1) * E));
    list.push(kept.length - 1);
    seen.set(h, list);
    return kept.length - 1;
  };
  const phrase = Int32Array.from({ length: Q }, (_, q) => rowOf(p, q));
  const object = Int32Array.from({ length: Q }, (_, q) => rowOf(o, q));
  return { rows: concatRows(kept), phrase, object };
}

/**
 * x[..., idx[..., k]] along the last axis: x [..., P], idx int32 [..., K] (same leading shape) → [..., K].
 * Written as one flat 1-D gather because tf.gather with batchDims returns wrong values / crashes on the wasm
 * backend (tfjs 4.22).
 */
export function gatherLast<T extends tf.Tensor>(x: tf.Tensor, idx: T): T {
  return tf.tidy(() => {
    const P = x.shape[x.rank - 1];
    const K = idx.shape[idx.rank - 1];
    const rows = idx.size / K;
    const offsets = tf.range(0, rows * P, P, 'int32').reshape([rows, 1]);
    const flat = tf.add(idx.reshape([rows, K]), offsets).reshape([-1]);
    return tf.gather(x.reshape([-1]), flat).reshape(idx.shape) as T;
  });
}
