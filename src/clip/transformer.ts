/**
 * A stack of residual blocks with the one hook mechanism both towers share: hidden hooks at every layer
 * boundary (read / replace) and per-block attention-mask overrides.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors';
import type { TowerConfig } from '../config/clip';
import { ResidualBlock, WeightStore } from './layers';
import type { EncoderName, Hooks } from './types';

export interface RunContext {
  hooks?: Hooks;
  /** Row 0 of this chunk in the caller's batch. */
  batchStart: number;
  /** The block's default additive mask [T,T] (text: causal), or null. */
  defaultMask: tf.Tensor2D | null;
  /** Keep every hidden state (after its hook). */
  collect: boolean;
}

export class Transformer {
  constructor(readonly encoder: EncoderName, readonly blocks: ResidualBlock[]) {}

  /** The one tower builder: `tower.layers` blocks named `prefix`0, `prefix`1, … */
  static load(ws: WeightStore, encoder: EncoderName, prefix: string, tower: TowerConfig): Transformer {
    return new Transformer(encoder, Array.from({ length: tower.layers }, (_, i) => ResidualBlock.load(ws, `${prefix}${i}`, tower)));
  }

  get layers(): number { return this.blocks.length; }

  private hidden(h: tf.Tensor3D, layer: number, ctx: RunContext): tf.Tensor3D {
    const hook = ctx.hooks?.hidden?.[layer];
    if (!hook) return h;
    const out = hook(h, { encoder: this.encoder, layer, batchStart: ctx.batchStart });
    if (out === undefined || out === null) return h;
    const where = `hooks.hidden[${layer}] (${this.encoder})`;
    if (!(out instanceof tf.Tensor)) throw new InputError(where, 'returned something that is not a tf.Tensor');
    if (out.rank !== 3 || out.shape.some((d, i) => d !== h.shape[i])) {
      throw new InputError(where, `returned shape [${out.shape}], expected [${h.shape}]`);
    }
    return out.dtype === 'float32' ? out : tf.cast(out, 'float32');
  }

  private mask(block: number, h: tf.Tensor3D, ctx: RunContext): tf.Tensor2D | tf.Tensor3D | null {
    const hook = ctx.hooks?.attentionMask?.[block];
    if (!hook) return ctx.defaultMask;
    const [n, T] = h.shape;
    const m = hook({ encoder: this.encoder, block, batchStart: ctx.batchStart, batch: n, tokens: T, defaultMask: ctx.defaultMask });
    if (m === undefined) return ctx.defaultMask;
    if (m === null) return null;
    const where = `hooks.attentionMask[${block}] (${this.encoder})`;
    if (!(m instanceof tf.Tensor)) throw new InputError(where, 'returned something that is not a tf.Tensor or null');
    const ok = (m.rank === 2 && m.shape[0] === T && m.shape[1] === T)
      || (m.rank === 3 && m.shape[0] === n && m.shape[1] === T && m.shape[2] === T);
    if (!ok) throw new InputError(where, `returned shape [${m.shape}], expected [${T},${T}] or [${n},${T},${T}]`);
    return m.dtype === 'float32' ? m : tf.cast(m, 'float32') as tf.Tensor2D;
  }

  /**
   * Run blocks `from`..`to`−1 on h (= hidden state `from`), applying hooks at boundaries from+1..to
   * (and at `from` itself when `hookFirst`). Returns hidden state `to`, plus the states seen when collecting.
   * Call inside tf.tidy.
   */
  run(h: tf.Tensor3D, ctx: RunContext, from = 0, to = this.layers, hookFirst = true): { last: tf.Tensor3D; hidden: tf.Tensor3D[] } {
    const hidden: tf.Tensor3D[] = [];
    let x = hookFirst ? this.hidden(h, from, ctx) : h;
    if (ctx.collect) hidden.push(x);
    for (let i = from; i < to; i++) {
      x = this.hidden(this.blocks[i].apply(x, this.mask(i, x, ctx)), i + 1, ctx);
      if (ctx.collect) hidden.push(x);
    }
    return { last: x, hidden };
  }
}
