/**
 * Fusion (METHOD.md §4) through [Q, M] membership-mean matrices, so that per-group quantities [n, Q] become
 * per-caption scores [n, M] with one matrix product.
 */
import * as tf from '@tensorflow/tfjs';
import type { FuseMode } from './options';

/** What fusion needs to know about the Q groups of M captions. */
export interface GroupTable {
  /** Caption index of each group, [Q], non-decreasing. */
  caption: Int32Array;
  /** 1 where the group has attributes, [Q]. */
  hasAttr: Uint8Array;
  /** Number of captions M (captions may have no groups). */
  captions: number;
}

export interface Membership {
  /** [Q, M]: 1/|attribute groups of m| for attribute groups q of m, else 0 (binding-difference mean). */
  attrMean: Float32Array;
  /** [Q, M]: 1/|groups of m| for groups q of m, else 0 (additive / convex mean). */
  allMean: Float32Array;
  /** [M]: 1 where the caption has at least one attribute group (else S_abe = S_clip). */
  fused: Uint8Array;
}

export function membership(t: GroupTable): Membership {
  const Q = t.caption.length;
  const M = t.captions;
  const nAll = new Int32Array(M);
  const nAttr = new Int32Array(M);
  for (let q = 0; q < Q; q++) {
    nAll[t.caption[q]]++;
    if (t.hasAttr[q]) nAttr[t.caption[q]]++;
  }
  const attrMean = new Float32Array(Q * M);
  const allMean = new Float32Array(Q * M);
  for (let q = 0; q < Q; q++) {
    const m = t.caption[q];
    allMean[q * M + m] = 1 / nAll[m];
    if (t.hasAttr[q]) attrMean[q * M + m] = 1 / nAttr[m];
  }
  const fused = new Uint8Array(M);
  for (let m = 0; m < M; m++) fused[m] = nAttr[m] > 0 ? 1 : 0;
  return { attrMean, allMean, fused };
}

/** Membership matrices as tensors, built once per scoring call. Dispose with `disposeFusion`. */
export interface FusionTensors {
  attrMean: tf.Tensor2D; // [Q, M]
  allMean: tf.Tensor2D; // [Q, M]
  fused: tf.Tensor1D; // [M] bool
}

export function fusionTensors(m: Membership, Q: number, M: number): FusionTensors {
  return {
    attrMean: tf.tensor2d(m.attrMean, [Q, M]),
    allMean: tf.tensor2d(m.allMean, [Q, M]),
    fused: tf.tensor1d(m.fused, 'bool'),
  };
}

export function disposeFusion(f: FusionTensors): void {
  f.attrMean.dispose();
  f.allMean.dispose();
  f.fused.dispose();
}

/**
 * The fusion formula, elementwise on any shape: S_clip, the caption's mean l_p over all its groups and mean Δ
 * over its attribute groups, `fused` (1 where the caption has an attribute group, else S_abe = S_clip), and
 * an already scaled additive term (the region term) or null.
 */
export function fuseScores<T extends tf.Tensor>(
  clip: T,
  meanLp: T | null,
  meanDelta: T | null,
  fused: tf.Tensor,
  mode: FuseMode,
  lambda: number,
  scale: number,
  extra: T | null = null,
  extraGated = true,
): T {
  return tf.tidy(() => {
    let s: tf.Tensor = clip;
    if (mode === 'binding-difference') s = tf.add(clip, tf.mul(meanDelta!, lambda * scale));
    else if (mode === 'additive') s = tf.add(clip, tf.mul(meanLp!, lambda * scale));
    else if (mode === 'convex') s = tf.add(tf.mul(clip, 1 - lambda), tf.mul(meanLp!, lambda * scale));
    if (extra && extraGated) s = tf.add(s, extra);
    const out = tf.where(tf.broadcastTo(fused, clip.shape), s, clip) as T;
    // An ungated extra term (the region term of captions without attributes too) is added to every caption.
    return (extra && !extraGated ? tf.add(out, extra) : out) as T;
  });
}

/** S_abe [n, M] from S_clip [n, M] and per-group l_p, Δ [n, Q] through the membership matrices. */
export function fuse(
  clip: tf.Tensor2D,
  lp: tf.Tensor2D | null,
  delta: tf.Tensor2D | null,
  f: FusionTensors,
  mode: FuseMode,
  lambda: number,
  scale: number,
  extra: tf.Tensor2D | null = null,
  extraGated = true,
): tf.Tensor2D {
  return tf.tidy(() => {
    const Q = f.attrMean.shape[0];
    const on = mode !== 'none' && Q > 0 && lp !== null && delta !== null;
    const meanLp = on ? (tf.matMul(lp!, f.allMean) as tf.Tensor2D) : null;
    const meanDelta = on ? (tf.matMul(delta!, f.attrMean) as tf.Tensor2D) : null;
    return fuseScores<tf.Tensor2D>(clip, meanLp, meanDelta, f.fused.reshape([1, -1]), on ? mode : 'none', lambda, scale, extra, extraGated);
  });
}
