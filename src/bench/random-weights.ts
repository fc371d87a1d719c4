/**
 * Random canonical (OpenAI-named) weights for any geometry, generated in-process so the benchmark needs no
 * download. Scales follow CLIP's initialisation closely enough that activations stay finite and LayerNorms
 * see realistic magnitudes; the values mean nothing. Optionally backed by one SharedArrayBuffer, so an
 * EncoderPool's workers read them without a copy.
 */
import type { ClipConfig } from '../weights/config';
import { canonicalShapes } from '../weights/names';
import { numel, RawTensor, TensorMap } from '../weights/types';

export interface RandomWeightsOptions {
  /** PRNG seed (default 1). */
  seed?: number;
  /** Allocate every tensor in one SharedArrayBuffer (default false). */
  shared?: boolean;
}

/** Uniform half-width for a standard deviation: U(−a, a) has std a/√3. */
const HALF_WIDTH = Math.sqrt(3);

function stdFor(name: string, shape: number[]): { mean: number; std: number } {
  if (name === 'logit_scale') return { mean: Math.log(1 / 0.07), std: 0 };
  if (/(^|\.)ln_\w+\.weight$/.test(name)) return { mean: 1, std: 0.1 };
  if (name.endsWith('bias')) return { mean: 0, std: 0.02 };
  if (name.includes('embedding')) return { mean: 0, std: 0.02 };
  // Linear / projection weights: 1/√fan_in keeps the residual stream's scale.
  const fanIn = shape.length === 4 ? shape[1] * shape[2] * shape[3] : shape[shape.length - 1];
  return { mean: 0, std: 1 / Math.sqrt(fanIn) };
}

/** Random canonical weights for `config` (float32, shapes from canonicalShapes). */
export function randomClipWeights(config: ClipConfig, opts: RandomWeightsOptions = {}): TensorMap {
  const shapes = canonicalShapes(config);
  let total = 0;
  for (const s of shapes.values()) total += numel(s);
  const buf = opts.shared ? new SharedArrayBuffer(total * 4) : new ArrayBuffer(total * 4);
  const all = new Float32Array(buf);
  // xorshift32: fast and deterministic; quality is irrelevant for benchmark weights.
  let x = (opts.seed ?? 1) >>> 0 || 1;
  const out: TensorMap = new Map();
  let off = 0;
  for (const [name, shape] of shapes) {
    const n = numel(shape);
    const data = all.subarray(off, off + n);
    off += n;
    const { mean, std } = stdFor(name, shape);
    const a = (2 * HALF_WIDTH * std) / 4294967296;
    const lo = mean - HALF_WIDTH * std;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      data[i] = lo + (x >>> 0) * a;
    }
    const t: RawTensor = { dtype: 'float32', shape: [...shape], data };
    out.set(name, t);
  }
  return out;
}

/** Bytes of the float32 data of a TensorMap. */
export function weightsBytes(weights: TensorMap): number {
  let n = 0;
  for (const t of weights.values()) n += t.data.length * 4;
  return n;
}
