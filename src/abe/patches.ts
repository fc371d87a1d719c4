/**
 * Patch features v_j (METHOD.md "Notation"; reference/abe/README.md step 1), all L2-normalised:
 * - `tokens` at hidden index l: n(ln_post(h_l[1+j]) @ proj);
 * - `value`:   n(ln_post(W_o (W_v ln_1(h') + b_v) + b_o) @ proj), h' = the state entering the last block;
 * - `selfself`: the last block's attention with softmax(q qᵀ/√d) weights per head (all tokens, CLS included).
 * One image-encoder pass gives g_I and every hidden state these need (the encoder's `cache`); `value` and
 * `selfself` are edits at the last block's hook points (src/clip/hooks.ts), not attention written again here.
 */
import * as tf from '@tensorflow/tfjs';
import { disposeOutput } from '../clip/model';
import type { Hooks } from '../clip/types';
import type { AbeModel } from './model';
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

/**
 * `value` / `selfself` from h' [n,T,W] (the state entering the last block): the last block run again through the
 * hook points, with `value` = attention probabilities replaced by the identity (each token reads only its own
 * value), `selfself` = keys replaced by the queries (probabilities softmax(q qᵀ/√d)); its attention output
 * (`attn.out`, after out_proj) then goes through the head.
 */
export function attentionPathPatches(model: AbeModel, hPrev: tf.Tensor3D, mode: 'value' | 'selfself'): tf.Tensor3D {
  const at = `blocks.${model.vision.layers - 1}.attn`;
  let z: tf.Tensor3D | undefined;
  let q: tf.Tensor | undefined;
  const hooks: Hooks =
    mode === 'value'
      ? { [`${at}.probs`]: (p) => tf.broadcastTo(tf.eye(p.shape[2] as number), p.shape) }
      : {
          [`${at}.q`]: (x) => {
            q = x;
          },
          [`${at}.k`]: () => q,
        };
  hooks[`${at}.out`] = (x) => {
    z = tf.keep(x as tf.Tensor3D);
  };
  tf.dispose(model.vision.runFrom(hPrev, model.vision.layers - 1, hooks));
  try {
    return headPatches(model, z!);
  } finally {
    z?.dispose();
  }
}

export interface ImagePassOutput {
  /** [n, E] normalised g_I. */
  embeds: tf.Tensor2D;
  /** [n, P, E] normalised, by key. */
  patches: Map<PatchKey, tf.Tensor3D>;
  /** [n, 1 + P, W] hidden states asked for by index (where `tokens` region passes start). */
  states: Map<number, tf.Tensor3D>;
}

/**
 * One image-encoder pass over pixels [n,3,R,R] → g_I and the requested patch features. `keys` are patch keys
 * (`tokens@l` with a resolved hidden index). The caller disposes the returned tensors.
 */
export async function imagePass(
  model: AbeModel,
  pixels: tf.Tensor4D,
  keys: PatchKey[],
  batchSize: number,
  states: readonly number[] = [],
): Promise<ImagePassOutput> {
  const layers = model.vision.layers;
  // Hidden state l is the hook point blocks.{l}.resid.pre; the last one (layers) comes as the encoder's tokens.
  const wanted = new Set<number>(states);
  for (const k of keys) {
    if (!k.startsWith('tokens@')) wanted.add(layers - 1);
    else if (Number(k.slice(7)) !== layers) wanted.add(Number(k.slice(7)));
  }
  const point = (l: number): string => `blocks.${l}.resid.pre`;
  // The per-token head is needed only when the last hidden state's patches are asked for.
  const tokens = keys.includes(patchKey('tokens', layers));
  const out = await model.encodeImages(pixels, { batchSize, tokens, ...(wanted.size ? { cache: [...wanted].map(point) } : {}) });
  const state = (l: number): tf.Tensor3D => out.cache![point(l)] as tf.Tensor3D;
  try {
    const embeds = l2normalize(out.embeds);
    const patches = new Map<PatchKey, tf.Tensor3D>();
    for (const k of keys) {
      if (patches.has(k)) continue;
      if (k.startsWith('tokens@')) {
        const l = Number(k.slice(7));
        // At the last index the encoder already computed ln_post·proj on every token.
        patches.set(
          k,
          l === layers ? tf.tidy(() => l2normalize(tf.slice(out.tokens, [0, 1, 0], [-1, -1, -1]))) : headPatches(model, state(l)),
        );
      } else {
        patches.set(k, attentionPathPatches(model, state(layers - 1), k as 'value' | 'selfself'));
      }
    }
    return { embeds, patches, states: new Map(states.map((l) => [l, tf.clone(state(l))])) };
  } finally {
    disposeOutput(out);
  }
}
