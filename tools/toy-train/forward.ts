/**
 * A differentiable CLIP forward pass over OpenAI-named tf.Variables, for training the toy model. The inference
 * model (src/clip) holds its weights in derived, layout-specific constants (conv1 as a transposed matrix, linear
 * weights in the backend's preferred layout), so gradients cannot reach the canonical tensors through it; this
 * file computes the same function (openai/CLIP: pre-LN blocks, QuickGELU, CLS / EOT pooling) straight from the
 * canonical names. test/tools/toy-train.test.ts checks it against ClipModel's logits.
 */
import * as tf from '@tensorflow/tfjs';
import type { ClipConfig, TowerConfig } from '../../src/config/clip';
import { TEXT_BLOCK_PREFIX, VISION_BLOCK_PREFIX } from '../../src/weights/names';
import { ROWS_NAME, TokenTable } from './tokens';

/**
 * Canonical (OpenAI state_dict) name → trainable tensor; the token embedding is held as the world vocabulary's
 * rows, `token_embedding.rows` [K,W] (tokens.ts).
 */
export type Params = ReadonlyMap<string, tf.Tensor>;

function get(p: Params, name: string): tf.Tensor {
  const t = p.get(name);
  if (!t) throw new Error(`toy-train: parameter '${name}' is missing`);
  return t;
}

function layerNorm(x: tf.Tensor, p: Params, prefix: string, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  const y = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(y, get(p, `${prefix}.weight`)), get(p, `${prefix}.bias`));
}

/** x [N,in] @ W[out,in]ᵀ + b (torch Linear layout). */
function linear(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.add(tf.matMul(x, w as tf.Tensor2D, false, true), b) as tf.Tensor2D;
}

function block(x: tf.Tensor3D, p: Params, prefix: string, t: TowerConfig, mask: tf.Tensor | null): tf.Tensor3D {
  const [n, T, W] = x.shape;
  const H = t.heads,
    D = W / H;
  const h1 = tf.reshape(layerNorm(x, p, `${prefix}.ln_1`, t.layerNormEps), [n * T, W]) as tf.Tensor2D;
  const qkv = linear(h1, get(p, `${prefix}.attn.in_proj_weight`), get(p, `${prefix}.attn.in_proj_bias`));
  const heads = (k: number) => tf.transpose(tf.reshape(tf.slice(qkv, [0, k * W], [-1, W]), [n, T, H, D]), [0, 2, 1, 3]);
  const q = tf.mul(heads(0), 1 / Math.sqrt(D)),
    k = heads(1),
    v = heads(2);
  let scores = tf.matMul(q as tf.Tensor4D, k as tf.Tensor4D, false, true);
  if (mask) scores = tf.add(scores, mask);
  const o = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores, -1), v), [0, 2, 1, 3]), [n * T, W]) as tf.Tensor2D;
  const a = linear(o, get(p, `${prefix}.attn.out_proj.weight`), get(p, `${prefix}.attn.out_proj.bias`));
  const r = tf.add(x, tf.reshape(a, [n, T, W])) as tf.Tensor3D;
  const h2 = tf.reshape(layerNorm(r, p, `${prefix}.ln_2`, t.layerNormEps), [n * T, W]) as tf.Tensor2D;
  const f = linear(h2, get(p, `${prefix}.mlp.c_fc.weight`), get(p, `${prefix}.mlp.c_fc.bias`));
  const g =
    t.act === 'quick_gelu' ? tf.mul(f, tf.sigmoid(tf.mul(f, 1.702))) : tf.mul(tf.mul(f, 0.5), tf.add(1, tf.erf(tf.mul(f, Math.SQRT1_2))));
  const m = linear(g as tf.Tensor2D, get(p, `${prefix}.mlp.c_proj.weight`), get(p, `${prefix}.mlp.c_proj.bias`));
  return tf.add(r, tf.reshape(m, [n, T, W])) as tf.Tensor3D;
}

/** pixels [n,3,R,R] (normalised) → image embeddings [n,E] (not normalised). */
export function encodeImages(p: Params, c: ClipConfig, pixels: tf.Tensor4D): tf.Tensor2D {
  const v = c.vision,
    n = pixels.shape[0],
    P = v.patchSize,
    g = v.resolution / P,
    W = v.width;
  // [n,3,g,P,g,P] → [n·g², 3·P·P] in (channel, row, col) order, the order of conv1's flattened kernel.
  const a = tf.transpose(tf.reshape(pixels, [n * 3 * g, P, g, P]), [0, 2, 1, 3]);
  const b = tf.transpose(tf.reshape(a, [n, 3, g * g, P * P]), [0, 2, 1, 3]);
  const conv = tf.reshape(get(p, 'visual.conv1.weight'), [W, 3 * P * P]);
  const patches = tf.reshape(tf.matMul(tf.reshape(b, [n * g * g, 3 * P * P]) as tf.Tensor2D, conv as tf.Tensor2D, false, true), [
    n,
    g * g,
    W,
  ]);
  const cls = tf.tile(tf.reshape(get(p, 'visual.class_embedding'), [1, 1, W]), [n, 1, 1]);
  let x = tf.add(tf.concat([cls, patches], 1), get(p, 'visual.positional_embedding')) as tf.Tensor3D;
  x = layerNorm(x, p, 'visual.ln_pre', v.layerNormEps) as tf.Tensor3D;
  for (let i = 0; i < v.layers; i++) x = block(x, p, `${VISION_BLOCK_PREFIX}${i}`, v, null);
  const clsOut = tf.reshape(tf.slice(x, [0, 0, 0], [n, 1, W]), [n, W]);
  return tf.matMul(layerNorm(clsOut, p, 'visual.ln_post', v.layerNormEps) as tf.Tensor2D, get(p, 'visual.proj') as tf.Tensor2D);
}

/** The causal additive mask [L,L] (−1e9 above the diagonal, as src/clip/text.ts). */
export function causalMask(L: number): tf.Tensor2D {
  const data = new Float32Array(L * L);
  for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) data[i * L + j] = -1e9;
  return tf.tensor2d(data, [L, L]);
}

/**
 * ids [m,L] (L ≤ context; rows padded with 0 after EOT) → text embeddings [m,E], pooled at each row's EOT (its
 * largest id). With a causal mask, positions after EOT never reach it, so a short L gives the full-context result.
 */
export function encodeTexts(
  p: Params,
  c: ClipConfig,
  vocab: TokenTable,
  ids: Int32Array,
  m: number,
  L: number,
  mask: tf.Tensor2D,
): tf.Tensor2D {
  const t = c.text,
    W = t.width;
  const flat = new Int32Array(m);
  for (let r = 0; r < m; r++) {
    let best = 0;
    for (let j = 1; j < L; j++) if (ids[r * L + j] > ids[r * L + best]) best = j;
    flat[r] = r * L + best;
  }
  // One-hot rows @ the vocabulary's embedding rows: exact (a sum with one non-zero term), and its gradient is dense
  // over K rows only.
  const onehot = tf.oneHot(tf.tensor1d(vocab.compact(ids, L), 'int32'), vocab.size);
  const tok = tf.reshape(tf.matMul(onehot, get(p, ROWS_NAME) as tf.Tensor2D), [m, L, W]);
  let x = tf.add(tok, tf.slice(get(p, 'positional_embedding'), [0, 0], [L, W])) as tf.Tensor3D;
  for (let i = 0; i < t.layers; i++) x = block(x, p, `${TEXT_BLOCK_PREFIX}${i}`, t, mask);
  const eot = tf.gather(tf.reshape(x, [m * L, W]), tf.tensor1d(flat, 'int32'));
  return tf.matMul(layerNorm(eot, p, 'ln_final', t.layerNormEps) as tf.Tensor2D, get(p, 'text_projection') as tf.Tensor2D);
}

/** exp(logit_scale) · cos(image i, text j): [n,m]. */
export function logits(p: Params, img: tf.Tensor2D, txt: tf.Tensor2D): tf.Tensor2D {
  const a = tf.div(img, tf.norm(img, 'euclidean', 1, true));
  const b = tf.div(txt, tf.norm(txt, 'euclidean', 1, true));
  return tf.mul(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, false, true), tf.exp(get(p, 'logit_scale'))) as tf.Tensor2D;
}

/** CLIP's symmetric InfoNCE on square logits [n,n] (pair i is image i with text i): mean of both cross-entropies. */
export function infoNce(l: tf.Tensor2D): tf.Scalar {
  const n = l.shape[0];
  const eye = tf.eye(n);
  const rows = tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(l, 1), eye), 1)));
  const cols = tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(tf.transpose(l), 1), eye), 1)));
  return tf.mul(tf.add(rows, cols), 0.5) as tf.Scalar;
}
