/**
 * refine and patches against PyTorch in `npm test`: the ABE goldens (reference/abe, vendored in test/fixtures/abe)
 * on the reference tiny model, from its vendored slice (test/fixtures/tiny-abe: the token embedding cut to the rows
 * these inputs use) and the 8 images as PyTorch preprocessed them. Tolerances: reference/abe/README.md.
 * test/reference/abe.test.ts runs the same goldens on the full 29 MB model and every parity backend.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { AbeScorer, imagePass, prepareCaptions, refine } from '../../src/abe';
import type { ClipModel } from '../../src/clip/model';
import { expectClose } from '../helpers/close';
import { AbeGolden } from './golden';
import { tinyPixels, tinySliceModel } from './tiny-slice';

describe('abe: refine and patches meet the PyTorch ABE goldens on the tiny model (vendored slice, 8 images, 5 captions)', function () {
  this.timeout(240000);
  let model: ClipModel;
  let pixels: tf.Tensor4D;
  const g = new AbeGolden();
  before(() => {
    model = tinySliceModel();
    pixels = tinyPixels();
  });
  after(() => {
    pixels.dispose();
    model.dispose();
    g.close();
  });

  it('patches: tokens@1, tokens@2 (m8, m1), value (m9), selfself (m10) and g_I within 2e-5 of PyTorch, from one image pass; no tensors left', async () => {
    const before = tf.memory().numTensors;
    const out = await imagePass(model, pixels, ['tokens@1', 'tokens@2', 'value', 'selfself'], 8);
    expectClose(out.embeds.dataSync(), g.data('g_I'), 2e-5, 'g_I', false);
    for (const [key, mode] of [
      ['tokens@1', 'm8'],
      ['tokens@2', 'm1'],
      ['value', 'm9'],
      ['selfself', 'm10'],
    ]) {
      expect(out.patches.get(key)!.shape).to.deep.equal([8, 16, 64]);
      expectClose(out.patches.get(key)!.dataSync(), g.data(g.patchesName(mode)), 2e-5, `${key} (${mode})`, false);
    }
    tf.dispose([out.embeds, ...out.patches.values()]);
    expect(tf.memory().numTensors).to.equal(before);
  });

  for (const [mode, what] of [
    ['m1', 'isolated'],
    ['m6', 'contextual, γ 0.5 at text hidden index 1'],
    ['m7', 'none (γ 0)'],
  ]) {
    it(`refine ${what} (${mode}): p and o of all 10 groups within 2e-5 of PyTorch; groups placed by word matching`, async () => {
      const scorer = new AbeScorer(model, g.options(mode));
      const po = await refine(model, prepareCaptions(g.captionInputs(), 77), scorer.options, 1, new Map());
      expectClose(po.p, g.data(`${mode}/p`), 2e-5, 'p', false);
      expectClose(po.o, g.data(`${mode}/o`), 2e-5, 'o', false);
    });
  }

  for (const mode of ['m6', 'm10']) {
    // contextual refine; selfself patches (the stages alone: above; align/fuse: align.test.ts)
    it(`${mode} end to end through AbeScorer: clip/abe within 5e-4, l_p/l_o/delta within 2e-5, R exact`, async () => {
      const before = tf.memory().numTensors;
      const scorer = new AbeScorer(model, g.options(mode));
      const res = await scorer.scoreMatrix(pixels, g.captionInputs(), { parts: true });
      g.expectScores(mode, res);
      expect(tf.memory().numTensors).to.equal(before);
    });
  }
});
