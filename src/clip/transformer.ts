/**
 * A stack of residual blocks, run with the one hook mechanism both towers share: named hook points inside
 * every block (src/clip/hooks.ts) and per-block attention-mask overrides.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors';
import type { TowerConfig } from '../config/clip';
import type { HookRunner } from './hooks';
import { ResidualBlock, WeightStore } from './layers';
import type { EncoderName, Hooks } from './types';

export interface RunContext {
  /** Named hook points and captures of this call (src/clip/hooks.ts); absent: the plain path. */
  points?: HookRunner;
  /** Mask providers by block (the `attentionMask` hooks). */
  masks?: Hooks['attentionMask'];
  /** Row 0 of this chunk in the caller's batch. */
  batchStart: number;
  /** The block's default additive mask [T,T] (text: causal), or null. */
  defaultMask: tf.Tensor2D | null;
}

/** Where a stack's blocks live: all on the backend, or each uploaded just before it runs and freed after. */
export type BlockResidency = 'resident' | 'streamed';

export class Transformer {
  /** Number of blocks. */
  readonly layers: number;

  /**
   * `blocks`: the resident blocks; or, when streamed, a loader that uploads block i's weights (returning the block
   * and a function that frees them) and the number of blocks.
   */
  constructor(
    readonly encoder: EncoderName,
    private readonly resident: ResidualBlock[] | { layers: number; load(i: number): { block: ResidualBlock; free(): void } },
  ) {
    this.layers = Array.isArray(resident) ? resident.length : resident.layers;
  }

  /** The one tower builder: `tower.layers` blocks named `prefix`0, `prefix`1, … (streamed: loaded when run). */
  static load(
    ws: WeightStore,
    encoder: EncoderName,
    prefix: string,
    tower: TowerConfig,
    residency: BlockResidency = 'resident',
  ): Transformer {
    if (residency === 'streamed') {
      return new Transformer(encoder, {
        layers: tower.layers,
        load: (i) => {
          const own = ws.fork();
          try {
            return { block: ResidualBlock.load(own, `${prefix}${i}`, tower), free: () => tf.dispose(own.owned) };
          } catch (e) {
            tf.dispose(own.owned);
            throw e;
          }
        },
      });
    }
    return new Transformer(
      encoder,
      Array.from({ length: tower.layers }, (_, i) => ResidualBlock.load(ws, `${prefix}${i}`, tower)),
    );
  }

  /** The resident blocks (a streamed stack holds none between calls: InputError). */
  get blocks(): ResidualBlock[] {
    if (!Array.isArray(this.resident))
      throw new InputError(`${this.encoder} tower`, 'its blocks are streamed (loaded only while they run), not held');
    return this.resident;
  }

  private mask(block: number, h: tf.Tensor3D, ctx: RunContext): tf.Tensor2D | tf.Tensor3D | null {
    const hook = ctx.masks?.[block];
    if (!hook) return ctx.defaultMask;
    const [n, T] = h.shape;
    const m = hook({ encoder: this.encoder, block, batchStart: ctx.batchStart, batch: n, tokens: T, defaultMask: ctx.defaultMask });
    if (m === undefined) return ctx.defaultMask;
    if (m === null) return null;
    const where = `hooks.attentionMask[${block}] (${this.encoder})`;
    if (!(m instanceof tf.Tensor)) throw new InputError(where, 'returned something that is not a tf.Tensor or null');
    const ok =
      (m.rank === 2 && m.shape[0] === T && m.shape[1] === T) || (m.rank === 3 && m.shape[0] === n && m.shape[1] === T && m.shape[2] === T);
    if (!ok) throw new InputError(where, `returned shape [${m.shape}], expected [${T},${T}] or [${n},${T},${T}]`);
    return m.dtype === 'float32' ? m : (tf.cast(m, 'float32') as tf.Tensor2D);
  }

  /**
   * Run blocks `from`..`to`−1 on h (= hidden state `from`), with every hook point of those blocks (but
   * `blocks.{from}.resid.pre` itself unless `hookFirst`). Returns hidden state `to`. Call inside tf.tidy.
   */
  run(h: tf.Tensor3D, ctx: RunContext, from = 0, to = this.layers, hookFirst = true): tf.Tensor3D {
    let x = h;
    if (ctx.points) ctx.points.batchStart = ctx.batchStart;
    for (let i = from; i < to; i++) {
      const tap = ctx.points?.tap(i, i === from && !hookFirst ? 'resid.pre' : undefined);
      if (Array.isArray(this.resident)) {
        x = this.resident[i].apply(x, this.mask(i, x, ctx), tap);
        continue;
      }
      const { block, free } = this.resident.load(i);
      try {
        x = block.apply(x, this.mask(i, x, ctx), tap);
      } finally {
        free(); // the output does not reference the weights: the next block may reuse their memory
      }
    }
    return x;
  }
}
