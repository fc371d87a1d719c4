import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { AbeScorer, prepareCaptions, refine } from '../../src/abe';
import { createClip, ClipModel } from '../../src/clip/model';
import { canonicalize } from '../../src/weights/names';
import { readSafetensors, SafetensorsFile } from '../../src/weights/safetensors';
import { initBackend } from '../../src/backend';
import { PARITY_BACKENDS } from '../helpers/backends';
import { expectClose } from '../helpers/close';
import { sharedPath } from '../helpers/paths';
import { AbeGolden } from '../abe/golden';

for (const backend of PARITY_BACKENDS)
  describe(`reference: ABE-CLIP goldens m1–m10 on the tiny model (reference/abe) on ${backend}`, function () {
    this.timeout(300000);
    let model: ClipModel;
    let g: AbeGolden;
    let pixels: tf.Tensor4D;
    let prev: string;
    before(async () => {
      await tf.ready();
      prev = tf.getBackend();
      await initBackend({ backend }); // before the model: its default weight layout follows the backend
      const { tensors } = readSafetensors(sharedPath('reference', 'tiny', 'openai.safetensors'));
      const c = canonicalize(tensors, { source: 'tiny' });
      model = createClip(c.config, c.weights);
      g = new AbeGolden(sharedPath('reference', 'abe', 'golden.safetensors'));
      const f = SafetensorsFile.open(sharedPath('reference', 'tiny', 'golden.safetensors'));
      const px = f.read('pixel_values');
      f.close();
      pixels = tf.tensor4d(px.data as Float32Array, px.shape as [number, number, number, number]);
    });
    after(async () => {
      pixels.dispose();
      model.dispose();
      g.close();
      await tf.setBackend(prev);
    });

    for (const mode of ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10']) {
      it(`${mode}: clip/abe within 5e-4, g_I/v/p/o/l_p/l_o/delta within 2e-5, R exact (groups placed by word matching)`, async () => {
        const o = g.options(mode);
        const scorer = new AbeScorer(model, o);
        const feats = await scorer.imageFeatures(pixels);
        const key = o.patchFeatures === 'tokens' ? `tokens@${o.patchLayer}` : o.patchFeatures!;
        const V = new Float32Array(8 * 16 * 64);
        feats.forEach((f, i) => V.set(f.patches[key], i * 16 * 64));
        expectClose(V, g.data(g.has(`${mode}/v`) ? `${mode}/v` : g.patchesName(mode)), 2e-5, 'v', false);
        const gI = new Float32Array(8 * 64);
        feats.forEach((f, i) => gI.set(f.embed, i * 64));
        expectClose(gI, g.data('g_I'), 2e-5, 'g_I', false);
        const caps = g.captionInputs();
        const po = await refine(model, prepareCaptions(caps, 77), scorer.options, 1, new Map());
        expectClose(po.p, g.data(`${mode}/p`), 2e-5, 'p', false);
        expectClose(po.o, g.data(`${mode}/o`), 2e-5, 'o', false);
        const res = await scorer.scoreMatrix(feats, caps, { parts: true });
        expect(res.parts!.groups.map((x) => x.positions)).to.deep.equal(g.groups.map((x) => x.positions));
        g.expectScores(mode, res);
        // The same through explicit ids and positions (no tokenizer, no parser).
        const res2 = await scorer.scoreMatrix(feats, g.captionInputs(true));
        expectClose(res2.abe, g.data(`${mode}/abe`), 5e-4, 'abe (explicit positions)', false);
      });
    }

    it("leaves tf.memory().numTensors unchanged across repeated feature + scoring calls (after the model's lazy caches)", async () => {
      const run = async (mode: string) => {
        const scorer = new AbeScorer(model, g.options(mode));
        await scorer.scoreMatrix(pixels, g.captionInputs(), { parts: true });
        await scorer.scorePairs(pixels, g.captions, [
          [0, 0],
          [7, 4],
        ]);
      };
      for (const m of ['m6', 'm10']) await run(m); // warm-up: the model derives q/k/v views and masks once
      const before = tf.memory().numTensors;
      for (const m of ['m1', 'm6', 'm9', 'm10']) await run(m);
      expect(tf.memory().numTensors).to.equal(before);
    });
  });
