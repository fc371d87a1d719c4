/**
 * Local Token-Patch Alignment (METHOD.md §3), batched: one [n·P, E] × [E, 2Q] product gives every sim_p and
 * sim_o of a chunk of n images against all Q groups; top-k over P and a gather give l_p, l_o and Δ.
 * Pure tensor functions: the caller owns (and disposes) what they return.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors';
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
  patches: tf.Tensor3D, phrase: tf.Tensor2D, object: tf.Tensor2D,
  locate: LocateMode, topK: number, withSims = false,
): AlignOutput {
  const [n, P, E] = patches.shape;
  const Q = phrase.shape[0];
  if (object.shape[0] !== Q || phrase.shape[1] !== E || object.shape[1] !== E) {
    throw new InputError('align', `phrase ${phrase.shape} / object ${object.shape} do not match patches [${patches.shape}]`);
  }
  if (topK > P) throw new InputError('align', `topK ${topK} exceeds the ${P} patches per image`);
  return tf.tidy(() => {
    // [E, 2Q] made once so the big product runs untransposed: on wasm, transposed operands take a naive
    // kernel (~10× slower than XNNPACK's).
    const texts = tf.transpose(tf.concat([phrase, object], 0)); // [E, 2Q]
    const sims = tf.matMul(patches.reshape([n * P, E]), texts) // [n·P, 2Q]
      .reshape([n, P, 2 * Q]).transpose([0, 2, 1]) as tf.Tensor3D; // [n, 2Q, P]
    const simP = sims.slice([0, 0, 0], [n, Q, P]);
    const simO = sims.slice([0, Q, 0], [n, Q, P]);
    let lp: tf.Tensor2D, lo: tf.Tensor2D, R: tf.Tensor3D;
    const topO = tf.topk(simO, topK, true);
    lo = topO.values.mean(2);
    if (locate === 'object') {
      R = topO.indices as tf.Tensor3D;
      lp = gatherLast(simP, R).mean(2) as tf.Tensor2D;
    } else {
      const topP = tf.topk(simP, topK, true);
      R = topP.indices as tf.Tensor3D;
      lp = topP.values.mean(2);
    }
    const out: AlignOutput = { lp, lo, delta: tf.sub(lp, lo), R };
    if (withSims) { out.simP = simP; out.simO = simO; }
    return out as unknown as tf.TensorContainerObject;
  }) as unknown as AlignOutput;
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
