/**
 * The building blocks of both CLIP towers, each holding its weights as tensors prepared once at load
 * (linear weights transposed to [in, out]). `apply` methods are synchronous and must run inside a tf.tidy.
 */
import * as tf from '@tensorflow/tfjs';
import { linear } from '../tensor/linear';
import { RawTensor } from '../weights/types';
import type { ClipConfig } from '../weights/config';

/** Creates kept tensors from canonical weights and remembers them for dispose(). */
export class WeightStore {
  readonly owned: tf.Tensor[] = [];
  constructor(private readonly weights: Map<string, RawTensor>) {}

  // tf.keep: lazily derived tensors may be created inside a caller's tidy and must outlive it.
  private keep<T extends tf.Tensor>(t: T): T { this.owned.push(tf.keep(t)); return t; }

  raw(name: string): RawTensor {
    const t = this.weights.get(name);
    if (!t) throw new Error(`internal: weight '${name}' not prepared`);
    return t;
  }
  tensor(name: string): tf.Tensor {
    const t = this.raw(name);
    return this.keep(tf.tensor(t.data, t.shape, 'float32'));
  }
  vec(name: string): tf.Tensor1D { return this.tensor(name) as tf.Tensor1D; }
  /** A PyTorch [out, in] linear weight, as [in, out]. */
  linearWeight(name: string): tf.Tensor2D {
    const t = this.raw(name);
    return this.keep(tf.tidy(() => tf.transpose(tf.tensor2d(t.data as Float32Array, t.shape as [number, number]))));
  }
  /** Any tensor derived at load time (kept and disposed with the model). */
  derived<T extends tf.Tensor>(f: () => T): T { return this.keep(tf.tidy(f)); }
}

export class LayerNorm {
  constructor(readonly gamma: tf.Tensor1D, readonly beta: tf.Tensor1D, readonly eps: number) {}
  static load(ws: WeightStore, prefix: string, eps: number): LayerNorm {
    return new LayerNorm(ws.vec(`${prefix}.weight`), ws.vec(`${prefix}.bias`), eps);
  }
  /** Normalises over the last axis (biased variance, as torch). */
  apply<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      return tf.add(tf.mul(y, this.gamma), this.beta) as T;
    });
  }
}

/** The towers' output head: LayerNorm, then a projection [W,E], on every token: [n,T,W] → [n,T,E]. */
export function normProject(ln: LayerNorm, proj: tf.Tensor2D, h: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, T, W] = h.shape;
    const y = tf.matMul(tf.reshape(ln.apply(h), [n * T, W]), proj);
    return tf.reshape(y, [n, T, proj.shape[1]]) as tf.Tensor3D;
  });
}

export class Linear {
  constructor(readonly w: tf.Tensor2D /* [in, out] */, readonly b?: tf.Tensor1D) {}
  static load(ws: WeightStore, prefix: string): Linear {
    return new Linear(ws.linearWeight(`${prefix}.weight`), ws.vec(`${prefix}.bias`));
  }
  apply<R extends tf.Rank>(x: tf.Tensor<R>): tf.Tensor<R> { return linear(x, this.w, this.b); }
}

/**
 * Multi-head self-attention (torch nn.MultiheadAttention, batch-first). q, k, v run as one [W, 3W] matmul;
 * `wq`, `wk`, `wv` ([in, out]) and `bq`, `bk`, `bv` are views made on first access, for callers that
 * need the separate projections.
 */
export class Attention {
  readonly width: number;
  readonly headDim: number;
  private split?: { w: tf.Tensor2D[]; b: tf.Tensor1D[] };

  constructor(
    private readonly ws: WeightStore,
    readonly wqkv: tf.Tensor2D /* [W, 3W] */, readonly bqkv: tf.Tensor1D /* [3W] */,
    readonly wo: tf.Tensor2D /* [W, W] */, readonly bo: tf.Tensor1D,
    readonly heads: number,
  ) {
    this.width = wo.shape[0];
    this.headDim = this.width / heads;
  }

  static load(ws: WeightStore, prefix: string, heads: number): Attention {
    return new Attention(ws, ws.linearWeight(`${prefix}.in_proj_weight`), ws.vec(`${prefix}.in_proj_bias`),
      ws.linearWeight(`${prefix}.out_proj.weight`), ws.vec(`${prefix}.out_proj.bias`), heads);
  }

  private parts(): { w: tf.Tensor2D[]; b: tf.Tensor1D[] } {
    if (!this.split) {
      const W = this.width;
      this.split = {
        w: [0, 1, 2].map((i) => this.ws.derived(() => tf.slice(this.wqkv, [0, i * W], [W, W]))),
        b: [0, 1, 2].map((i) => this.ws.derived(() => tf.slice(this.bqkv, [i * W], [W]))),
      };
    }
    return this.split;
  }
  get wq(): tf.Tensor2D { return this.parts().w[0]; }
  get wk(): tf.Tensor2D { return this.parts().w[1]; }
  get wv(): tf.Tensor2D { return this.parts().w[2]; }
  get bq(): tf.Tensor1D { return this.parts().b[0]; }
  get bk(): tf.Tensor1D { return this.parts().b[1]; }
  get bv(): tf.Tensor1D { return this.parts().b[2]; }

  /** [n,T,H,D] ← [n,T,W] → [n,H,T,D] */
  private toHeads(x: tf.Tensor3D): tf.Tensor4D {
    const [n, T] = x.shape;
    return tf.transpose(tf.reshape(x, [n, T, this.heads, this.headDim]), [0, 2, 1, 3]);
  }

  /**
   * x [n,T,W] → [n,T,W]. `mask`: additive, [T,T] or [n,T,T] (0 = attend, large negative = blocked), or null.
   */
  apply(x: tf.Tensor3D, mask: tf.Tensor2D | tf.Tensor3D | null): tf.Tensor3D {
    return tf.tidy(() => {
      const [n, T, W] = x.shape;
      const [q, k, v] = tf.split(linear(x, this.wqkv, this.bqkv), 3, -1) as tf.Tensor3D[];
      const qh = tf.mul(this.toHeads(q), 1 / Math.sqrt(this.headDim));
      let scores = tf.matMul(qh, this.toHeads(k), false, true); // [n,H,T,T]
      if (mask) scores = tf.add(scores, mask.rank === 3 ? tf.expandDims(mask, 1) : mask);
      const ctx = tf.matMul(tf.softmax(scores), this.toHeads(v)); // [n,H,T,D]
      const merged = tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [n, T, W]) as tf.Tensor3D;
      return linear(merged, this.wo, this.bo);
    });
  }
}

export type Activation = ClipConfig['act'];

export class Mlp {
  constructor(readonly fc: Linear, readonly proj: Linear, readonly act: Activation) {}
  static load(ws: WeightStore, prefix: string, act: Activation): Mlp {
    return new Mlp(Linear.load(ws, `${prefix}.c_fc`), Linear.load(ws, `${prefix}.c_proj`), act);
  }
  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const h = this.fc.apply(x);
      const a = this.act === 'quick_gelu'
        ? tf.mul(h, tf.sigmoid(tf.mul(h, 1.702)))
        : tf.mul(tf.mul(h, 0.5), tf.add(1, tf.erf(tf.mul(h, Math.SQRT1_2))));
      return this.proj.apply(a as tf.Tensor3D);
    });
  }
}

/** Pre-LN residual block: x + attn(ln_1(x)), then + mlp(ln_2(·)). */
export class ResidualBlock {
  constructor(readonly ln1: LayerNorm, readonly attn: Attention, readonly ln2: LayerNorm, readonly mlp: Mlp) {}
  static load(ws: WeightStore, prefix: string, heads: number, act: Activation, eps: number): ResidualBlock {
    return new ResidualBlock(LayerNorm.load(ws, `${prefix}.ln_1`, eps), Attention.load(ws, `${prefix}.attn`, heads),
      LayerNorm.load(ws, `${prefix}.ln_2`, eps), Mlp.load(ws, `${prefix}.mlp`, act));
  }
  get heads(): number { return this.attn.heads; }
  get headDim(): number { return this.attn.headDim; }
  get wq(): tf.Tensor2D { return this.attn.wq; }
  get wk(): tf.Tensor2D { return this.attn.wk; }
  get wv(): tf.Tensor2D { return this.attn.wv; }
  get wo(): tf.Tensor2D { return this.attn.wo; }
  get bq(): tf.Tensor1D { return this.attn.bq; }
  get bk(): tf.Tensor1D { return this.attn.bk; }
  get bv(): tf.Tensor1D { return this.attn.bv; }
  get bo(): tf.Tensor1D { return this.attn.bo; }

  apply(x: tf.Tensor3D, mask: tf.Tensor2D | tf.Tensor3D | null): tf.Tensor3D {
    return tf.tidy(() => {
      const h = tf.add(x, this.attn.apply(this.ln1.apply(x), mask)) as tf.Tensor3D;
      return tf.add(h, this.mlp.apply(this.ln2.apply(h))) as tf.Tensor3D;
    });
  }
}
