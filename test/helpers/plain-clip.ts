/**
 * An independent CLIP forward pass in plain JavaScript numbers (no tfjs), written from the reference's
 * definitions (openai/CLIP `clip/model.py`): the yardstick for hook-point tests. It reads canonical
 * (OpenAI-named) host weights and is checked against the PyTorch goldens in test/clip/hooks.test.ts before
 * anything else is compared with it. Slow and simple on purpose: rows of numbers, loops.
 */
import type { ClipConfig, TowerConfig } from '../../src/config/clip';
import type { TensorMap } from '../../src/weights/types';

type Rows = number[][]; // [tokens][width]

function get(w: TensorMap, name: string): Float32Array {
  const t = w.get(name);
  if (!t) throw new Error(`plain-clip: no weight '${name}'`);
  return t.data as Float32Array;
}

function layerNorm(x: Rows, g: Float32Array, b: Float32Array, eps: number): Rows {
  return x.map((r) => {
    const mean = r.reduce((a, v) => a + v, 0) / r.length;
    const v = r.reduce((a, u) => a + (u - mean) ** 2, 0) / r.length;
    const s = 1 / Math.sqrt(v + eps);
    return r.map((u, i) => (u - mean) * s * g[i] + b[i]);
  });
}

/** y = x Wᵀ + b for a PyTorch [out, in] weight, output rows [from, from+size). */
function linear(x: Rows, w: Float32Array, b: Float32Array | null, inDim: number, from = 0, size = w.length / inDim): Rows {
  return x.map((r) => {
    const y = new Array<number>(size);
    for (let o = 0; o < size; o++) {
      let s = b ? b[from + o] : 0;
      const base = (from + o) * inDim;
      for (let i = 0; i < inDim; i++) s += r[i] * w[base + i];
      y[o] = s;
    }
    return y;
  });
}

const add = (a: Rows, b: Rows): Rows => a.map((r, i) => r.map((v, j) => v + b[i][j]));

export interface BlockTrace {
  /** probs[h][i][j]: attention of token i on token j in head h. */
  probs: number[][][];
  out: Rows;
}

/** One pre-LN residual block; `zeroHead` removes a head's output before out_proj (its z rows set to 0). */
export function plainBlock(w: TensorMap, prefix: string, t: TowerConfig, x: Rows, causal: boolean, zeroHead = -1): BlockTrace {
  const W = t.width,
    H = t.heads,
    D = W / H;
  const h1 = layerNorm(x, get(w, `${prefix}.ln_1.weight`), get(w, `${prefix}.ln_1.bias`), t.layerNormEps);
  const inW = get(w, `${prefix}.attn.in_proj_weight`),
    inB = get(w, `${prefix}.attn.in_proj_bias`);
  const q = linear(h1, inW, inB, W, 0, W),
    k = linear(h1, inW, inB, W, W, W),
    v = linear(h1, inW, inB, W, 2 * W, W);
  const T = x.length;
  const z: Rows = Array.from({ length: T }, () => new Array<number>(W).fill(0));
  const probs: number[][][] = [];
  for (let h = 0; h < H; h++) {
    const ph: number[][] = [];
    for (let i = 0; i < T; i++) {
      const s = new Array<number>(T);
      for (let j = 0; j < T; j++) {
        let d = 0;
        for (let c = 0; c < D; c++) d += q[i][h * D + c] * k[j][h * D + c];
        s[j] = causal && j > i ? -Infinity : d / Math.sqrt(D);
      }
      const m = Math.max(...s);
      const e = s.map((u) => Math.exp(u - m));
      const sum = e.reduce((a, u) => a + u, 0);
      const p = e.map((u) => u / sum);
      ph.push(p);
      if (h === zeroHead) continue;
      for (let c = 0; c < D; c++) {
        let acc = 0;
        for (let j = 0; j < T; j++) acc += p[j] * v[j][h * D + c];
        z[i][h * D + c] = acc;
      }
    }
    probs.push(ph);
  }
  const attn = linear(z, get(w, `${prefix}.attn.out_proj.weight`), get(w, `${prefix}.attn.out_proj.bias`), W);
  const mid = add(x, attn);
  const h2 = layerNorm(mid, get(w, `${prefix}.ln_2.weight`), get(w, `${prefix}.ln_2.bias`), t.layerNormEps);
  const fc = linear(h2, get(w, `${prefix}.mlp.c_fc.weight`), get(w, `${prefix}.mlp.c_fc.bias`), W);
  const act = fc.map((r) => r.map((u) => (t.act === 'quick_gelu' ? u / (1 + Math.exp(-1.702 * u)) : 0.5 * u * (1 + erf(u / Math.SQRT2)))));
  const mlp = linear(act, get(w, `${prefix}.mlp.c_proj.weight`), get(w, `${prefix}.mlp.c_proj.bias`), t.mlpWidth);
  return { probs, out: add(mid, mlp) };
}

/** Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7), for exact-GELU towers. */
function erf(x: number): number {
  const s = Math.sign(x),
    a = Math.abs(x),
    t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

/** Hidden state 0 of the vision tower for one image ([3·R·R] channels first): conv1 patches, CLS, positions, ln_pre. */
export function plainVisionInput(w: TensorMap, c: ClipConfig, px: Float32Array): Rows {
  const { resolution: R, patchSize: p, width: W } = c.vision;
  const g = R / p,
    conv = get(w, 'visual.conv1.weight'),
    cls = get(w, 'visual.class_embedding'),
    pos = get(w, 'visual.positional_embedding');
  const rows: Rows = [Array.from(cls)];
  for (let gy = 0; gy < g; gy++)
    for (let gx = 0; gx < g; gx++) {
      const r = new Array<number>(W).fill(0);
      for (let o = 0; o < W; o++) {
        let s = 0;
        for (let ch = 0; ch < 3; ch++)
          for (let y = 0; y < p; y++)
            for (let x = 0; x < p; x++) {
              s += conv[((o * 3 + ch) * p + y) * p + x] * px[(ch * R + gy * p + y) * R + gx * p + x];
            }
        r[o] = s;
      }
      rows.push(r);
    }
  const withPos = rows.map((r, i) => r.map((v, j) => v + pos[i * W + j]));
  return layerNorm(withPos, get(w, 'visual.ln_pre.weight'), get(w, 'visual.ln_pre.bias'), c.vision.layerNormEps);
}

/** Hidden state 0 of the text tower for one row of ids: token + positional embeddings. */
export function plainTextInput(w: TensorMap, c: ClipConfig, ids: ArrayLike<number>): Rows {
  const W = c.text.width,
    tok = get(w, 'token_embedding.weight'),
    pos = get(w, 'positional_embedding');
  return Array.from(ids, (id, i) => Array.from({ length: W }, (_, j) => tok[id * W + j] + pos[i * W + j]));
}

function project(x: number[], g: Float32Array, b: Float32Array, eps: number, proj: Float32Array, E: number): number[] {
  const [n] = layerNorm([x], g, b, eps);
  return Array.from({ length: E }, (_, e) => n.reduce((s, v, i) => s + v * proj[i * E + e], 0));
}

/** Image embedding (CLS after ln_post @ proj) and each block's attention probabilities. */
export function plainImage(w: TensorMap, c: ClipConfig, px: Float32Array): { embed: number[]; probs: number[][][][] } {
  let x = plainVisionInput(w, c, px);
  const probs: number[][][][] = [];
  for (let i = 0; i < c.vision.layers; i++) {
    const b = plainBlock(w, `visual.transformer.resblocks.${i}`, c.vision, x, false);
    probs.push(b.probs);
    x = b.out;
  }
  return {
    embed: project(
      x[0],
      get(w, 'visual.ln_post.weight'),
      get(w, 'visual.ln_post.bias'),
      c.vision.layerNormEps,
      get(w, 'visual.proj'),
      c.embedDim,
    ),
    probs,
  };
}

/** Text embedding (EOT = first largest id, after ln_final @ text_projection); `ablate` zeroes one head of one block. */
export function plainText(w: TensorMap, c: ClipConfig, ids: ArrayLike<number>, ablate?: { block: number; head: number }): number[] {
  let x = plainTextInput(w, c, ids);
  for (let i = 0; i < c.text.layers; i++) {
    x = plainBlock(w, `transformer.resblocks.${i}`, c.text, x, true, ablate?.block === i ? ablate.head : -1).out;
  }
  let eot = 0;
  for (let j = 1; j < ids.length; j++) if (ids[j] > ids[eot]) eot = j;
  return project(x[eot], get(w, 'ln_final.weight'), get(w, 'ln_final.bias'), c.text.layerNormEps, get(w, 'text_projection'), c.embedDim);
}

/** The output head on every row of a hidden state: { ln: LayerNorm rows [T][W], proj: ln @ projection [T][E] }. */
export function plainHead(w: TensorMap, c: ClipConfig, encoder: 'image' | 'text', x: Rows): { ln: Rows; proj: Rows } {
  const [lnName, projName, eps] =
    encoder === 'image' ? ['visual.ln_post', 'visual.proj', c.vision.layerNormEps] : ['ln_final', 'text_projection', c.text.layerNormEps];
  const ln = layerNorm(x, get(w, `${lnName}.weight`), get(w, `${lnName}.bias`), eps);
  const P = get(w, projName),
    E = c.embedDim;
  return { ln, proj: ln.map((r) => Array.from({ length: E }, (_, e) => r.reduce((s, v, i) => s + v * P[i * E + e], 0))) };
}
