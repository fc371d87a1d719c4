/**
 * The building blocks of both CLIP towers, each holding its weights as tensors prepared once at load, linear
 * weights in the model's layout (src/tensor/linear.ts). `apply` methods are synchronous and must run inside a tf.tidy.
 */
import * as tf from '@tensorflow/tfjs';
import { linear, linearColumns, WeightLayout } from '../tensor/linear';
import { RawTensor } from '../weights/types';
import type { Activation, TowerConfig } from '../config/clip';
import type { Tap } from './hooks';

/** Creates kept tensors from canonical weights, in the model's weight layout, and remembers them for dispose(). */
export class WeightStore {
  readonly owned: tf.Tensor[] = [];
  constructor(
    private readonly weights: Map<string, RawTensor>,
    readonly layout: WeightLayout,
  ) {}

  // tf.keep: lazily derived tensors may be created inside a caller's tidy and must outlive it.
  private keep<T extends tf.Tensor>(t: T): T {
    this.owned.push(tf.keep(t));
    return t;
  }

  /** A new store over the same weights and layout, whose tensors are freed on their own (`tf.dispose(store.owned)`). */
  fork(): WeightStore {
    return new WeightStore(this.weights, this.layout);
  }

  raw(name: string): RawTensor {
    const t = this.weights.get(name);
    if (!t) throw new Error(`internal: weight '${name}' not prepared`);
    return t;
  }
  tensor(name: string): tf.Tensor {
    const t = this.raw(name);
    return this.keep(tf.tensor(t.data, t.shape, 'float32'));
  }
  vec(name: string): tf.Tensor1D {
    return this.tensor(name) as tf.Tensor1D;
  }
  /** A PyTorch [out, in] linear weight, in the store's layout. */
  linearWeight(name: string): tf.Tensor2D {
    const t = this.raw(name);
    const w = (): tf.Tensor2D => tf.tensor2d(t.data as Float32Array, t.shape as [number, number]);
    return this.keep(this.layout === 'out-in' ? w() : tf.tidy(() => tf.transpose(w())));
  }
  /** Any tensor derived at load time (kept and disposed with the model). */
  derived<T extends tf.Tensor>(f: () => T): T {
    return this.keep(tf.tidy(f));
  }
}

export class LayerNorm {
  constructor(
    readonly gamma: tf.Tensor1D,
    readonly beta: tf.Tensor1D,
    readonly eps: number,
  ) {}
  static load(ws: WeightStore, prefix: string, eps: number): LayerNorm {
    return new LayerNorm(ws.vec(`${prefix}.weight`), ws.vec(`${prefix}.bias`), eps);
  }
  get tensors(): tf.Tensor[] {
    return [this.gamma, this.beta];
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

/**
 * The towers' output head: LayerNorm, then a projection [W,E], on every token: [n,T,W] → [n,T,E]. `at`: the
 * head's hook points (src/clip/hooks.ts `HEAD_POINTS`), run on the LayerNorm output and on the projection.
 */
export function normProject(
  ln: LayerNorm,
  proj: tf.Tensor2D,
  h: tf.Tensor3D,
  at?: (part: 'ln' | 'proj', x: tf.Tensor3D) => tf.Tensor3D,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, T, W] = h.shape;
    const normed = at ? at('ln', ln.apply(h)) : ln.apply(h);
    const y = tf.reshape(tf.matMul(tf.reshape(normed, [n * T, W]), proj), [n, T, proj.shape[1]]) as tf.Tensor3D;
    return at ? at('proj', y) : y;
  });
}

/** A linear layer y = x·Wᵀ + b (PyTorch's convention), its weight held in the model's layout. */
export class Linear {
  readonly inDim: number;
  readonly outDim: number;
  constructor(
    readonly w: tf.Tensor2D /* `layout` */,
    readonly b: tf.Tensor1D | undefined,
    readonly layout: WeightLayout,
  ) {
    [this.inDim, this.outDim] = layout === 'in-out' ? w.shape : [w.shape[1], w.shape[0]];
  }
  static load(ws: WeightStore, prefix: string): Linear {
    return new Linear(ws.linearWeight(`${prefix}.weight`), ws.vec(`${prefix}.bias`), ws.layout);
  }
  /** x [..., in] → [..., out]. */
  apply<R extends tf.Rank>(x: tf.Tensor<R>): tf.Tensor<R> {
    return linear(x, this.w, this.b, this.layout);
  }
  /** xᵀ [in, N] → yᵀ [out, N] (no transposes in the `out-in` layout). */
  applyColumns(xT: tf.Tensor2D): tf.Tensor2D {
    return linearColumns(xT, this.w, this.b, this.layout);
  }
  /** Output features [from, from + size) as their own layer (a copy). */
  sliceOutputs(ws: WeightStore, from: number, size: number): Linear {
    const w = ws.derived(() =>
      this.layout === 'in-out' ? tf.slice(this.w, [0, from], [this.inDim, size]) : tf.slice(this.w, [from, 0], [size, this.inDim]),
    );
    return new Linear(w, this.b && ws.derived(() => tf.slice(this.b!, [from], [size])), this.layout);
  }
  /** The weight as [in, out], for callers that multiply by it themselves (a kept copy in the `out-in` layout). */
  inOut(ws: WeightStore): tf.Tensor2D {
    return this.layout === 'in-out' ? this.w : ws.derived(() => tf.transpose(this.w));
  }
  get tensors(): tf.Tensor[] {
    return this.b ? [this.w, this.b] : [this.w];
  }
}

/**
 * Multi-head self-attention (torch nn.MultiheadAttention, batch-first). q, k, v run as one [W → 3W] linear
 * layer; `q`, `k`, `v` are that layer's thirds as their own layers, and `wq`…`bo` its weights as [in, out]
 * matrices and bias vectors, all made on first access, for callers that need the separate projections.
 */
export class Attention {
  readonly width: number;
  readonly headDim: number;
  private parts?: Linear[];
  private inOut?: tf.Tensor2D[];

  constructor(
    private readonly ws: WeightStore,
    readonly qkv: Linear,
    readonly out: Linear,
    readonly heads: number,
  ) {
    this.width = out.outDim;
    this.headDim = this.width / heads;
  }

  static load(ws: WeightStore, prefix: string, heads: number): Attention {
    const qkv = new Linear(ws.linearWeight(`${prefix}.in_proj_weight`), ws.vec(`${prefix}.in_proj_bias`), ws.layout);
    return new Attention(ws, qkv, Linear.load(ws, `${prefix}.out_proj`), heads);
  }

  /** The q, k and v projections as separate layers. */
  get projections(): Linear[] {
    if (!this.parts) this.parts = [0, 1, 2].map((i) => this.qkv.sliceOutputs(this.ws, i * this.width, this.width));
    return this.parts;
  }
  get q(): Linear {
    return this.projections[0];
  }
  get k(): Linear {
    return this.projections[1];
  }
  get v(): Linear {
    return this.projections[2];
  }
  private matrices(): tf.Tensor2D[] {
    if (!this.inOut) this.inOut = [...this.projections, this.out].map((l) => l.inOut(this.ws));
    return this.inOut;
  }
  get wq(): tf.Tensor2D {
    return this.matrices()[0];
  }
  get wk(): tf.Tensor2D {
    return this.matrices()[1];
  }
  get wv(): tf.Tensor2D {
    return this.matrices()[2];
  }
  get wo(): tf.Tensor2D {
    return this.matrices()[3];
  }
  get bq(): tf.Tensor1D {
    return this.q.b!;
  }
  get bk(): tf.Tensor1D {
    return this.k.b!;
  }
  get bv(): tf.Tensor1D {
    return this.v.b!;
  }
  get bo(): tf.Tensor1D {
    return this.out.b!;
  }

  /**
   * x [n,T,W] → [n,T,W]. `mask`: additive, [T,T] or [n,T,T] (0 = attend, large negative = blocked), or null.
   * Heads are cut from whichever form the layout's matmuls produce, so `out-in` never transposes the rows.
   * `tap`: the block's hook points (attn.q/k/v/scores/probs/z, src/clip/hooks.ts); v and z are shown as
   * [n,H,T,D] and turned back only when hooked.
   */
  apply(x: tf.Tensor3D, mask: tf.Tensor2D | tf.Tensor3D | null, tap?: Tap): tf.Tensor3D {
    return tf.tidy(() => {
      const [n, T, W] = x.shape;
      const H = this.heads,
        D = this.headDim;
      const rows = tf.reshape(x, [n * T, W]);
      const columns = this.qkv.layout === 'out-in';
      // q, k [n,H,T,D] and vᵀ [n,H,D,T]: wasm runs batched matmuls in a plain loop kernel, whose inner loop reads
      // the right operand contiguously only when it is passed transposed (measured ≈ 13 % faster).
      let q: tf.Tensor, k: tf.Tensor, vT: tf.Tensor;
      if (columns) {
        const [qc, kc, vc] = tf.split(tf.reshape(this.qkv.applyColumns(tf.transpose(rows as tf.Tensor2D)), [3 * H, D, n, T]), 3, 0);
        [q, k, vT] = [tf.transpose(qc, [2, 0, 3, 1]), tf.transpose(kc, [2, 0, 3, 1]), tf.transpose(vc, [2, 0, 1, 3])];
      } else {
        const [qr, kr, vr] = tf.split(tf.reshape(this.qkv.apply(rows), [n, T, 3 * H, D]), 3, 2);
        [q, k, vT] = [tf.transpose(qr, [0, 2, 1, 3]), tf.transpose(kr, [0, 2, 1, 3]), tf.transpose(vr, [0, 2, 3, 1])];
      }
      if (tap) {
        q = tap.at('attn.q', q);
        k = tap.at('attn.k', k);
        if (tap.wants('attn.v')) vT = tf.transpose(tap.at('attn.v', tf.transpose(vT, [0, 1, 3, 2])), [0, 1, 3, 2]);
      }
      const probs = tf.tidy(() => {
        // [n,H,T,T]; its temporaries go before the next matmul
        const raw = tf.matMul(tf.mul(q, 1 / Math.sqrt(D)), k, false, true);
        const scores = mask ? tf.add(raw, mask.rank === 3 ? tf.expandDims(mask, 1) : mask) : raw;
        return tap ? tap.at('attn.probs', tf.softmax(tap.at('attn.scores', scores))) : tf.softmax(scores);
      });
      let ctx = tf.matMul(probs, vT, false, true); // [n,H,T,D]
      if (tap) ctx = tap.at('attn.z', ctx);
      const y = columns
        ? tf.transpose(this.out.applyColumns(tf.reshape(tf.transpose(ctx, [1, 3, 0, 2]), [W, n * T])))
        : this.out.apply(tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [n * T, W]));
      return tf.reshape(y, [n, T, W]) as tf.Tensor3D;
    });
  }

  get tensors(): tf.Tensor[] {
    return [...this.qkv.tensors, ...this.out.tensors];
  }
}

export class Mlp {
  constructor(
    readonly fc: Linear,
    readonly proj: Linear,
    readonly act: Activation,
  ) {}
  static load(ws: WeightStore, prefix: string, act: Activation): Mlp {
    return new Mlp(Linear.load(ws, `${prefix}.c_fc`), Linear.load(ws, `${prefix}.c_proj`), act);
  }
  private activate<T extends tf.Tensor>(h: T): T {
    return tf.tidy(
      () =>
        (this.act === 'quick_gelu'
          ? tf.mul(h, tf.sigmoid(tf.mul(h, 1.702)))
          : tf.mul(tf.mul(h, 0.5), tf.add(1, tf.erf(tf.mul(h, Math.SQRT1_2))))) as T,
    );
  }
  /**
   * x [n,T,W] → [n,T,W]; in the `out-in` layout the hidden activation stays in column form. The hidden
   * activation (4W per token) is the widest tensor of a block: at most two are alive at once (wasm keeps its
   * heap's high-water mark, so a transient peak is paid for the life of the process). `tap`: the block's
   * `mlp.hidden` point, shown as [n,T,M] whatever the layout.
   */
  apply(x: tf.Tensor3D, tap?: Tap): tf.Tensor3D {
    return tf.tidy(() => {
      const [n, T, W] = x.shape;
      const rows = tf.reshape(x, [n * T, W]) as tf.Tensor2D;
      const columns = this.fc.layout === 'out-in';
      const h = columns ? this.fc.applyColumns(tf.transpose(rows)) : this.fc.apply(rows);
      let a = this.activate(h);
      h.dispose();
      if (tap?.wants('mlp.hidden')) {
        const M = a.shape[columns ? 0 : 1];
        const shown = tf.reshape(columns ? tf.transpose(a) : a, [n, T, M]);
        const edited = tap.at('mlp.hidden', shown);
        if (edited !== shown) {
          a.dispose();
          a = (columns ? tf.transpose(tf.reshape(edited, [n * T, M])) : tf.reshape(edited, [n * T, M])) as tf.Tensor2D;
        }
      }
      const y = columns ? tf.transpose(this.proj.applyColumns(a)) : this.proj.apply(a);
      a.dispose();
      return tf.reshape(y, [n, T, W]) as tf.Tensor3D;
    });
  }
  get tensors(): tf.Tensor[] {
    return [...this.fc.tensors, ...this.proj.tensors];
  }
}

/** Pre-LN residual block: x + attn(ln_1(x)), then + mlp(ln_2(·)). */
export class ResidualBlock {
  constructor(
    readonly ln1: LayerNorm,
    readonly attn: Attention,
    readonly ln2: LayerNorm,
    readonly mlp: Mlp,
  ) {}
  static load(ws: WeightStore, prefix: string, t: Pick<TowerConfig, 'heads' | 'act' | 'layerNormEps'>): ResidualBlock {
    const eps = t.layerNormEps;
    return new ResidualBlock(
      LayerNorm.load(ws, `${prefix}.ln_1`, eps),
      Attention.load(ws, `${prefix}.attn`, t.heads),
      LayerNorm.load(ws, `${prefix}.ln_2`, eps),
      Mlp.load(ws, `${prefix}.mlp`, t.act),
    );
  }
  get heads(): number {
    return this.attn.heads;
  }
  get headDim(): number {
    return this.attn.headDim;
  }
  // The per-projection weights ([in,out] wq…wo, biases bq…bo) are the attention's: `block.attn.wq`.

  /** x [n,T,W] → [n,T,W]. `tap`: this block's hook points (src/clip/hooks.ts), or none for the plain path. */
  apply(x: tf.Tensor3D, mask: tf.Tensor2D | tf.Tensor3D | null, tap?: Tap): tf.Tensor3D {
    return tf.tidy(() => {
      if (!tap) {
        const h = tf.add(x, this.attn.apply(this.ln1.apply(x), mask)) as tf.Tensor3D;
        return tf.add(h, this.mlp.apply(this.ln2.apply(h))) as tf.Tensor3D;
      }
      const r = tap.at('resid.pre', x);
      const a = tap.at('attn.out', this.attn.apply(tap.at('ln1', this.ln1.apply(r)), mask, tap));
      const h = tap.at('resid.mid', tf.add(r, a) as tf.Tensor3D);
      const m = tap.at('mlp.out', this.mlp.apply(tap.at('ln2', this.ln2.apply(h)), tap));
      return tap.at('resid.post', tf.add(h, m) as tf.Tensor3D);
    });
  }

  /** Every weight tensor the block was loaded with (not the lazily made per-projection copies). */
  get tensors(): tf.Tensor[] {
    return [...this.ln1.tensors, ...this.attn.tensors, ...this.ln2.tensors, ...this.mlp.tensors];
  }
}
