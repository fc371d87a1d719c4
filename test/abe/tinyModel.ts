/** A small CLIP with seeded random weights (real BPE vocabulary), built in memory for scorer tests. */
import { createClip, ClipModel } from '../../src/clip/model';
import type { ClipConfig } from '../../src/weights/config';
import { canonicalShapes } from '../../src/weights/names';
import type { TensorMap } from '../../src/weights/types';
import { rng } from '../../src/random';

export { rng };


export const TINY_CONFIG: ClipConfig = {
  embedDim: 16, imageResolution: 32, visionLayers: 2, visionWidth: 32, visionHeads: 2, visionPatchSize: 8,
  contextLength: 16, vocabSize: 49408, textWidth: 32, textHeads: 2, textLayers: 2, act: 'quick_gelu', layerNormEps: 1e-5,
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

export function randomPixels(n: number, seed: number, R = TINY_CONFIG.imageResolution): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * 3 * R * R }, () => (r() - 0.5) * 3);
}
