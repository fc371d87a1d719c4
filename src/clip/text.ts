/** The text tower: token + positional embeddings, causal blocks, ln_final, text_projection, EOT pooling. */
import * as tf from '@tensorflow/tfjs';
import type { TextConfig } from '../config/clip';
import { TEXT_BLOCK_PREFIX } from '../weights/names';
import { LayerNorm, normProject, ResidualBlock, WeightStore } from './layers';
import { HookRunner } from './hooks';
import { BlockResidency, Transformer } from './transformer';
import type { Hooks } from './types';

/** Additive value that blocks attention; finite so that a fully blocked row gives a uniform row, not NaN. */
export const MASK_BLOCKED = -1e9;

export class TextTransformer {
  readonly contextLength: number;
  readonly vocabSize: number;
  readonly width: number;
  readonly tokenEmbedding: tf.Tensor2D; // [V, W]
  readonly positionalEmbedding: tf.Tensor2D; // [ctx, W]
  readonly transformer: Transformer;
  readonly lnFinal: LayerNorm;
  readonly projection: tf.Tensor2D; // [W, E]
  private fullMask: tf.Tensor2D | null = null;

  constructor(
    private readonly ws: WeightStore,
    c: TextConfig,
    residency: BlockResidency = 'resident',
  ) {
    this.contextLength = c.contextLength;
    this.vocabSize = c.vocabSize;
    this.width = c.width;
    this.tokenEmbedding = ws.tensor('token_embedding.weight') as tf.Tensor2D;
    this.positionalEmbedding = ws.tensor('positional_embedding') as tf.Tensor2D;
    this.transformer = Transformer.load(ws, 'text', TEXT_BLOCK_PREFIX, c, residency);
    this.lnFinal = LayerNorm.load(ws, 'ln_final', c.layerNormEps);
    this.projection = ws.tensor('text_projection') as tf.Tensor2D;
  }

  get blocks(): ResidualBlock[] {
    return this.transformer.blocks;
  }
  get layers(): number {
    return this.transformer.layers;
  }

  /**
   * The causal additive mask [L,L]. The full-context one is kept with the model (callers must not dispose it); a
   * shorter one is its top-left corner, a new tensor for the caller's tf.tidy, so the model holds one mask whatever
   * lengths it runs at.
   */
  causalMask(L: number): tf.Tensor2D {
    if (!this.fullMask) {
      const C = this.contextLength;
      const data = new Float32Array(C * C);
      for (let i = 0; i < C; i++) for (let j = i + 1; j < C; j++) data[i * C + j] = MASK_BLOCKED;
      this.fullMask = this.ws.derived(() => tf.tensor2d(data, [C, C]));
    }
    return L === this.contextLength ? this.fullMask : tf.slice(this.fullMask, [0, 0], [L, L]);
  }

  /** ids int32 [m,L] (L ≤ context) → hidden state 0 [m,L,W] = token + positional embedding; hook point `embed`. */
  embed(ids: tf.Tensor2D, points?: HookRunner): tf.Tensor3D {
    return tf.tidy(() => {
      const [m, L] = ids.shape;
      const tok = tf.reshape(tf.gather(this.tokenEmbedding, tf.reshape(ids, [-1])), [m, L, this.width]);
      const pos = L === this.contextLength ? this.positionalEmbedding : tf.slice(this.positionalEmbedding, [0, 0], [L, this.width]);
      const e = tf.add(tok, pos) as tf.Tensor3D;
      return points ? points.at('embed', e) : e;
    });
  }

  /** ln_final then @text_projection on every token: [m,L,W] → [m,L,E]; hook points `ln_final`, `proj`. */
  head(h: tf.Tensor3D, points?: HookRunner): tf.Tensor3D {
    return normProject(this.lnFinal, this.projection, h, points && ((part, x) => points.head(part, x)));
  }

  /**
   * Run the blocks from hidden index `layer` on an (edited) hidden state h [m,L,W] with the causal mask;
   * returns the last hidden state. Hooks at later boundaries apply; the hook at `layer` itself does not.
   */
  runFrom(h: tf.Tensor3D, layer: number, hooks?: Hooks, batchStart = 0): tf.Tensor3D {
    const points = hooks ? new HookRunner('text', this.layers, hooks, []) : undefined;
    return tf.tidy(() =>
      this.transformer.run(
        h,
        { points, masks: hooks?.attentionMask, batchStart, defaultMask: this.causalMask(h.shape[1]) },
        layer,
        this.layers,
        false,
      ),
    );
  }
}

/** Pooled position of each id row: the first position of its largest id (EOT), as the reference's argmax. */
export function eotPositions(ids: Int32Array, rows: number, L: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 1; j < L; j++) if (ids[r * L + j] > ids[r * L + best]) best = j;
    out.push(best);
  }
  return out;
}
