/** A small CLIP with seeded random weights (real BPE vocabulary), built in memory for scorer tests. */
import { createClip, ClipModel } from '../../src/clip/model';
import type { ClipConfig } from '../../src/config/clip';
import { canonicalShapes } from '../../src/weights/names';
import type { TensorMap } from '../../src/weights/types';
import { rng } from '../../src/random';

export { rng };

const TOWER = { layers: 2, width: 32, heads: 2, mlpWidth: 128, act: 'quick_gelu' as const, layerNormEps: 1e-5 };
export const TINY_CONFIG: ClipConfig = {
  embedDim: 16,
  vision: { ...TOWER, resolution: 32, patchSize: 8 },
  text: { ...TOWER, contextLength: 16, vocabSize: 49408 },
};

export function randomClip(seed = 1): ClipModel {
  const r = rng(seed);
  const weights: TensorMap = new Map();
  for (const [name, shape] of canonicalShapes(TINY_CONFIG)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const isNormGain = /ln_\w+\.weight$|ln_\d\.weight$/.test(name);
    for (let i = 0; i < n; i++) data[i] = isNormGain ? 1 + 0.1 * (r() - 0.5) : (r() - 0.5) * 0.4;
    if (name === 'logit_scale') data[0] = Math.log(1 / 0.07);
    weights.set(name, { dtype: 'float32', shape, data });
  }
  return createClip(TINY_CONFIG, weights);
}

export function randomPixels(n: number, seed: number, R = TINY_CONFIG.vision.resolution): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * 3 * R * R }, () => (r() - 0.5) * 3);
}
