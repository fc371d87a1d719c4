/**
 * Patch features v_j (METHOD.md "Notation"; reference/abe/README.md step 1), all L2-normalised:
 * - `tokens` at hidden index l: n(ln_post(h_l[1+j]) @ proj);
 * - `value`:   n(ln_post(W_o (W_v ln_1(h') + b_v) + b_o) @ proj), h' = the state entering the last block;
 * - `selfself`: the last block's attention with softmax(q qᵀ/√d) weights per head (all tokens, CLS included).
 * One image-encoder pass gives g_I and every hidden state these need (captured through hidden hooks).
 */
import * as tf from '@tensorflow/tfjs';
import type { HiddenHook } from '../clip/types';
import type { AbeBlock, AbeModel } from './model';
import type { PatchFeatures } from './options';

/** Key of one patch-feature variant in ImageFeatures.patches: `tokens@<hidden index>`, `value`, `selfself`. */
export type PatchKey = string;

export function patchKey(mode: PatchFeatures, hiddenIndex: number): PatchKey {
  return mode === 'tokens' ? `tokens@${hiddenIndex}` : mode;
}

export function l2normalize<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.div(x, tf.norm(x, 'euclidean', -1, true)) as T);
}

/** z [n,T,W] → projected patch features [n,P,E], normalised (CLS dropped). */
function headPatches(model: AbeModel, z: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const y = model.vision.head(z);
    const [n, T, E] = y.shape;
    return l2normalize(tf.slice(y, [0, 1, 0], [n, T - 1, E]));
  });
}

/** `value` / `selfself` from h' [n,T,W] and the last block. */
export function attentionPathPatches(model: AbeModel, block: AbeBlock, hPrev: tf.Tensor3D, mode: 'value' | 'selfself'): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, T, W] = hPrev.shape;
    const x = block.ln1.apply(hPrev).reshape([n * T, W]);
    const u = block.attn.v.apply(x); // [n·T, W]
    let merged: tf.Tensor2D = u as tf.Tensor2D;
    if (mode === 'selfself') {
      const H = block.heads, d = block.headDim;
      const heads = (t: tf.Tensor) => t.reshape([n, T, H, d]).transpose([0, 2, 1, 3]) as tf.Tensor4D; // [n,H,T,d]
      const q = heads(block.attn.q.apply(x));
      const a = tf.softmax(tf.matMul(q, q, false, true).mul(1 / Math.sqrt(d))); // [n,H,T,T]
      merged = tf.matMul(a, heads(u)).transpose([0, 2, 1, 3]).reshape([n * T, W]) as tf.Tensor2D;
    }
    const z = block.attn.out.apply(merged).reshape([n, T, W]) as tf.Tensor3D;
    return headPatches(model, z);
  });
}

export interface ImagePassOutput {
  /** [n, E] normalised g_I. */
  embeds: tf.Tensor2D;
  /** [n, P, E] normalised, by key. */
  patches: Map<PatchKey, tf.Tensor3D>;
}

/**
 * One image-encoder pass over pixels [n,3,R,R] → g_I and the requested patch features. `keys` are patch keys
 * (`tokens@l` with a resolved hidden index). The caller disposes the returned tensors.
 */
export async function imagePass(model: AbeModel, pixels: tf.Tensor4D, keys: PatchKey[], batchSize: number): Promise<ImagePassOutput> {
  const layers = model.vision.layers;
  const wanted = new Set<number>();
  for (const k of keys) {
    if (!k.startsWith('tokens@')) wanted.add(layers - 1);
    else if (Number(k.slice(7)) !== layers) wanted.add(Number(k.slice(7)));
  }
  const captured = new Map<number, { start: number; h: tf.Tensor3D }[]>();
  const hidden: Record<number, HiddenHook> = {};
  for (const l of wanted) {
    captured.set(l, []);
    hidden[l] = (h, info) => { captured.get(l)!.push({ start: info.batchStart, h: tf.keep(h.clone()) }); };
  }
  let out;
  try {
    // The per-token head is needed only when the last hidden state's patches are asked for.
    const tokens = keys.includes(patchKey('tokens', layers));
    out = await model.encodeImages(pixels, { batchSize, tokens, hooks: { hidden } });
  } catch (e) {
    for (const list of captured.values()) for (const c of list) c.h.dispose();
    throw e;
  }
  const states = new Map<number, tf.Tensor3D>();
  for (const [l, list] of captured) {
    list.sort((a, b) => a.start - b.start);
    states.set(l, list.length === 1 ? list[0].h : tf.concat(list.map((c) => c.h), 0));
    if (list.length > 1) for (const c of list) c.h.dispose();
  }
  try {
    const embeds = l2normalize(out.embeds);
    const patches = new Map<PatchKey, tf.Tensor3D>();
    const last = model.vision.blocks[layers - 1];
    for (const k of keys) {
      if (patches.has(k)) continue;
      if (k.startsWith('tokens@')) {
        const l = Number(k.slice(7));
        // At the last index the encoder already computed ln_post·proj on every token.
        patches.set(k, l === layers ? tf.tidy(() => l2normalize(tf.slice(out.tokens, [0, 1, 0], [-1, -1, -1])))
          : headPatches(model, states.get(l)!));
      } else {
        patches.set(k, attentionPathPatches(model, last, states.get(layers - 1)!, k as 'value' | 'selfself'));
      }
    }
    return { embeds, patches };
  } finally {
    tf.dispose([out.embeds, out.tokens, ...(out.hidden ?? []), ...states.values()]);
  }
}
