/**
 * The scorer on every parity backend (wasm, the default here, and those named in ABE_TEST_BACKENDS) must give
 * the cpu backend's numbers: tfjs-backend-wasm has kernels that are silently wrong (gather with batchDims, fused
 * matMul with transposes), which cpu-only tests miss.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { AbeScorer } from '../../src/abe';
import type { AbeOptions } from '../../src/abe';
import { initBackend } from '../../src/backend';
import { PARITY_BACKENDS } from '../helpers/backends';
import { randomClip, randomPixels, TINY_CONFIG } from './tinyModel';

const R = TINY_CONFIG.vision.resolution;
const N = 5;
const CAPTIONS = ['a red cube and a blue sphere', 'a blue cube and a red sphere', 'the car is green', 'two dogs in the snow'];
const CONFIGS: Partial<AbeOptions>[] = [
  { patchFeatures: 'tokens', locate: 'object', topK: 2 },
  { patchFeatures: 'value', locate: 'phrase', topK: 3, fuse: 'additive', refine: 'contextual', refineLayer: 1 },
  { patchFeatures: 'selfself', regionFeatures: 'crop', maxRegions: 2 },
];

async function scoreAll(backend: string): Promise<{ matrix: Float32Array[]; pairs: Float32Array[] }> {
  await initBackend({ backend });
  const model = randomClip(3);
  const pixels = tf.tensor4d(randomPixels(N, 5), [N, 3, R, R]);
  const matrix: Float32Array[] = [],
    pairs: Float32Array[] = [];
  try {
    for (const c of CONFIGS) {
      const scorer = new AbeScorer(model, { ...c, scoreChunk: 2 });
      const feats = await scorer.imageFeatures(pixels);
      const res = await scorer.scoreMatrix(feats, CAPTIONS);
      matrix.push(res.clip, res.abe);
      const pr = await scorer.scorePairs(feats, CAPTIONS, [
        [0, 1],
        [4, 0],
        [2, 3],
        [3, 1],
        [1, 2],
      ]);
      pairs.push(pr.abe);
    }
  } finally {
    pixels.dispose();
    model.dispose();
  }
  return { matrix, pairs };
}

describe('abe/scorer on each parity backend equals cpu (max abs ≤ 1e-4 on scores)', function () {
  this.timeout(120000);
  let prev: string;
  let cpu: Awaited<ReturnType<typeof scoreAll>>;
  before(async () => {
    await tf.ready();
    prev = tf.getBackend();
    cpu = await scoreAll('cpu');
  });
  after(async () => {
    await tf.setBackend(prev);
  });

  for (const backend of PARITY_BACKENDS.filter((b) => b !== 'cpu'))
    it(`${backend}: scoreMatrix and scorePairs agree with cpu for tokens / value / selfself, both locates, regions`, async () => {
      const other = await scoreAll(backend);
      const all = [...cpu.matrix.map((a, i) => [a, other.matrix[i]]), ...cpu.pairs.map((a, i) => [a, other.pairs[i]])];
      for (const [a, b] of all) {
        expect(b.length).to.equal(a.length);
        for (let k = 0; k < a.length; k++) expect(b[k], `score ${k}`).to.be.closeTo(a[k], 1e-4 * Math.max(1, Math.abs(a[k])));
      }
    });
});
