/**
 * AdamW as the toy model was trained with (torch.optim.AdamW semantics: decoupled weight decay p ← p − lr·wd·p,
 * bias-corrected moments), weight decay on matrices and embeddings only, and CLIP's clamp of the logit scale.
 */
import * as tf from '@tensorflow/tfjs';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}
export const TOY_ADAMW: AdamWOptions = { beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0.1 };
/** CLIP clamps exp(logit_scale) to at most 100 after every step. */
export const MAX_LOG_SCALE = Math.log(100);

/**
 * Whether a canonical parameter gets weight decay: matrices and embeddings (rank ≥ 2: linear and conv weights,
 * token and positional embeddings, projections); not gains, biases, other 1-D parameters (class embedding) or the
 * logit scale (rank 0).
 */
export function decays(name: string, shape: readonly number[]): boolean {
  return name !== 'logit_scale' && shape.length >= 2;
}

export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  /** Steps taken by this optimizer (its moments start at zero). */
  t = 0;
  /** Π (1 − lr·wd) over the steps: the factor a decayed parameter with zero gradients has been multiplied by. */
  decayProduct = 1;

  constructor(
    readonly params: ReadonlyMap<string, tf.Variable>,
    readonly o: AdamWOptions = TOY_ADAMW,
  ) {
    for (const [name, p] of params) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /** One update with learning rate `lr` from gradients by name (every parameter must have one). */
  step(grads: Record<string, tf.Tensor>, lr: number): void {
    this.t++;
    const { beta1: b1, beta2: b2, eps, weightDecay } = this.o;
    const c1 = 1 - b1 ** this.t,
      c2 = 1 - b2 ** this.t;
    this.decayProduct *= 1 - lr * weightDecay;
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g = grads[name];
        if (!g) throw new Error(`AdamW: no gradient for '${name}'`);
        const m = this.m.get(name)!,
          v = this.v.get(name)!;
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
        const decayed = decays(name, p.shape) ? tf.mul(p, 1 - lr * weightDecay) : p;
        let next = tf.sub(decayed, tf.mul(update, lr));
        if (name === 'logit_scale') next = tf.minimum(next, MAX_LOG_SCALE);
        p.assign(next);
      }
    });
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/** Linear warm-up over `warmup` steps to `peak`, then cosine decay to 0 at step `total` (steps count from 1). */
export function learningRate(step: number, peak: number, warmup: number, total: number): number {
  if (step <= warmup) return (peak * step) / Math.max(1, warmup);
  const f = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return 0.5 * peak * (1 + Math.cos(Math.PI * f));
}
