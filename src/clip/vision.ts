/** The ViT image tower: patch embedding (conv1 as one matmul), class token, positions, ln_pre, blocks, ln_post, proj. */
import * as tf from '@tensorflow/tfjs';
import type { VisionConfig } from '../config/clip';
import { VISION_BLOCK_PREFIX } from '../weights/names';
import { LayerNorm, normProject, ResidualBlock, WeightStore } from './layers';
import { HookRunner } from './hooks';
import { BlockResidency, Transformer } from './transformer';
import type { Hooks } from './types';

export class VisionTransformer {
  readonly resolution: number;
  readonly patch: number;
  readonly grid: number;
  /** 1 + grid² */
  readonly tokens: number;
  readonly width: number;
  /** conv1 as a [3·p·p, W] matrix over (channel, row, col) patch vectors. */
  readonly patchWeight: tf.Tensor2D;
  readonly classEmbedding: tf.Tensor1D;
  readonly positionalEmbedding: tf.Tensor2D; // [T, W]
  readonly lnPre: LayerNorm;
  readonly transformer: Transformer;
  readonly lnPost: LayerNorm;
  readonly proj: tf.Tensor2D; // [W, E]

  constructor(ws: WeightStore, c: VisionConfig, residency: BlockResidency = 'resident') {
    this.resolution = c.resolution;
    this.patch = c.patchSize;
    this.grid = c.resolution / c.patchSize;
    this.tokens = 1 + this.grid * this.grid;
    this.width = c.width;
    const conv = ws.raw('visual.conv1.weight');
    this.patchWeight = ws.derived(() => tf.transpose(tf.tensor2d(conv.data as Float32Array, [this.width, 3 * this.patch * this.patch])));
    this.classEmbedding = ws.vec('visual.class_embedding');
    this.positionalEmbedding = ws.tensor('visual.positional_embedding') as tf.Tensor2D;
    this.lnPre = LayerNorm.load(ws, 'visual.ln_pre', c.layerNormEps);
    this.transformer = Transformer.load(ws, 'image', VISION_BLOCK_PREFIX, c, residency);
    this.lnPost = LayerNorm.load(ws, 'visual.ln_post', c.layerNormEps);
    this.proj = ws.tensor('visual.proj') as tf.Tensor2D;
  }

  get blocks(): ResidualBlock[] {
    return this.transformer.blocks;
  }
  get layers(): number {
    return this.transformer.layers;
  }

  /** pixels [n,3,R,R] → hidden state 0 [n,T,W] (ln_pre output; CLS first, patches row-major); hook points `embed`, `ln_pre`. */
  embed(pixels: tf.Tensor4D, points?: HookRunner): tf.Tensor3D {
    return tf.tidy(() => {
      const n = pixels.shape[0],
        g = this.grid,
        p = this.patch,
        W = this.width;
      // [n,3,g,p,g,p] → [n,g,g,3,p,p] in two rank-4 transposes (kept to rank 4 for every backend).
      const a = tf.transpose(tf.reshape(pixels, [n * 3 * g, p, g, p]), [0, 2, 1, 3]); // [n·3·g, g, p, p]
      const b = tf.transpose(tf.reshape(a, [n, 3, g * g, p * p]), [0, 2, 1, 3]); // [n, g², 3, p²]
      const patches = tf.matMul(tf.reshape(b, [n * g * g, 3 * p * p]), this.patchWeight); // [n·g², W]
      const cls = tf.broadcastTo(tf.reshape(this.classEmbedding, [1, 1, W]), [n, 1, W]);
      const x = tf.concat([cls, tf.reshape(patches, [n, g * g, W])], 1);
      const e = tf.add(x, this.positionalEmbedding) as tf.Tensor3D;
      return points ? points.at('ln_pre', this.lnPre.apply(points.at('embed', e))) : this.lnPre.apply(e);
    });
  }

  /** ln_post then @proj on every token of any hidden state: [n,T,W] → [n,T,E]; hook points `ln_post`, `proj`. */
  head(h: tf.Tensor3D, points?: HookRunner): tf.Tensor3D {
    return normProject(this.lnPost, this.proj, h, points && ((part, x) => points.head(part, x)));
  }

  /**
   * Run the blocks from hidden index `layer` (0..layers) on an (edited) hidden state h [n,T,W]; returns the
   * last hidden state. Hooks at later boundaries apply; the hook at `layer` itself does not.
   */
  runFrom(h: tf.Tensor3D, layer: number, hooks?: Hooks, batchStart = 0): tf.Tensor3D {
    const points = hooks ? new HookRunner('image', this.layers, hooks, []) : undefined;
    return tf.tidy(() =>
      this.transformer.run(h, { points, masks: hooks?.attentionMask, batchStart, defaultMask: null }, layer, this.layers, false),
    );
  }
}

/**
 * Token-subset passes (used by ABE's `regionFeatures: 'tokens'`): subset r runs the tower on the CLS token and the
 * patch tokens `subsets[r]` (0..P−1, row-major) of image `image[r]` of `pixels`, each with its own position
 * embedding, and returns the pooled CLS embedding ln_post(h_CLS) @ proj, [subsets, E] (not normalised).
 * Subsets are packed first-fit-decreasing into rows of max(1 + P, longest) tokens with a block-diagonal attention
 * mask, so a pass costs the tokens the subsets hold rather than every subset padded to the longest; a subset's
 * result does not depend on what shares its row. With `start` (hidden state `layer` of the full images, [n,1+P,W]),
 * the subsets' tokens are taken from it and only blocks layer.. run on them. Call inside tf.tidy, or dispose the
 * result.
 */
export function encodeTokenSubsets(
  v: VisionTransformer,
  pixels: tf.Tensor4D,
  image: ArrayLike<number>,
  subsets: readonly ArrayLike<number>[],
  start?: { hidden: tf.Tensor3D; layer: number },
): tf.Tensor2D {
  if (!subsets.length) return tf.zeros([0, v.proj.shape[1]]);
  return tf.tidy(() => {
    const T = v.tokens,
      W = v.width;
    const len = Array.from(subsets, (s) => 1 + s.length);
    const cap = Math.max(T, ...len);
    const fill: number[] = [];
    const rowOf = new Int32Array(len.length),
      startOf = new Int32Array(len.length);
    for (const r of len.map((_, i) => i).sort((a, b) => len[b] - len[a])) {
      let k = fill.findIndex((f) => f + len[r] <= cap);
      if (k < 0) k = fill.push(0) - 1;
      rowOf[r] = k;
      startOf[r] = fill[k];
      fill[k] += len[r];
    }
    const rows = fill.length,
      K = Math.max(...fill);
    const h0 = tf.reshape(start ? start.hidden : v.embed(pixels), [pixels.shape[0] * T, W]);
    const idx = new Int32Array(rows * K);
    const mask = new Float32Array(rows * K * K).fill(-1e9);
    const cls = new Int32Array(len.length);
    len.forEach((n, r) => {
      const s = subsets[r],
        base = image[r] * T,
        at = rowOf[r] * K + startOf[r];
      cls[r] = at;
      idx[at] = base;
      for (let k = 1; k < n; k++) idx[at + k] = base + 1 + s[k - 1];
      for (let q = 0; q < n; q++) mask.fill(0, (at + q) * K + startOf[r], (at + q) * K + startOf[r] + n);
    });
    // Unused places at a row's end attend to themselves only; nothing attends to them.
    fill.forEach((f, k) => {
      for (let q = f; q < K; q++) mask[(k * K + q) * K + q] = 0;
    });
    const h = tf.reshape(tf.gather(h0, tf.tensor1d(idx, 'int32')), [rows, K, W]) as tf.Tensor3D;
    const m = tf.tensor3d(mask, [rows, K, K]);
    // A per-row [rows,K,K] mask where the blocks expect [T,T]: the attention adds either shape (as a mask hook may return).
    const last = v.transformer.run(h, { batchStart: 0, defaultMask: m as unknown as tf.Tensor2D }, start?.layer ?? 0);
    const pooled = tf.gather(tf.reshape(last, [rows * K, W]), tf.tensor1d(cls, 'int32'));
    return tf.reshape(v.head(tf.reshape(pooled, [len.length, 1, W]) as tf.Tensor3D), [len.length, -1]) as tf.Tensor2D;
  });
}
