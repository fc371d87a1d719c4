import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { align } from '../../src/abe/align';
import { disposeFusion, fuse, fusionTensors, membership } from '../../src/abe/fuse';
import { expectClose } from '../helpers/close';
import { AbeGolden } from './golden';

describe('abe/align + fuse from the stored golden features (tiny model, modes m1–m10)', () => {
  const g = new AbeGolden();
  after(() => g.close());
  const table = {
    caption: Int32Array.from(g.groups.map((x) => x.caption)),
    hasAttr: Uint8Array.from(g.groups.map((x) => (x.attrs.length ? 1 : 0))),
    captions: g.captions.length,
  };

  for (const mode of g.modes) {
    it(`${mode}: sim_p, sim_o, l_p, l_o, delta within 2e-5, R exact, clip/abe within 5e-4`, () => {
      const before = tf.memory().numTensors;
      const m = g.mode(mode);
      const V = g.tensor(g.patchesName(mode)) as tf.Tensor3D;
      const P = g.tensor(`${mode}/p`) as tf.Tensor2D;
      const O = g.tensor(`${mode}/o`) as tf.Tensor2D;
      const out = align(V, P, O, m.locate, m.topK, true);
      expectClose(out.simP!.dataSync(), g.data(`${mode}/sim_p`), 2e-5, 'sim_p', false);
      expectClose(out.simO!.dataSync(), g.data(`${mode}/sim_o`), 2e-5, 'sim_o', false);
      expectClose(out.lp.dataSync(), g.data(`${mode}/l_p`), 2e-5, 'l_p', false);
      expectClose(out.lo.dataSync(), g.data(`${mode}/l_o`), 2e-5, 'l_o', false);
      expectClose(out.delta.dataSync(), g.data(`${mode}/delta`), 2e-5, 'delta', false);
      expect(Array.from(out.R.dataSync())).to.deep.equal(Array.from(g.data(`${mode}/R`)));
      const gI = g.tensor('g_I') as tf.Tensor2D;
      const gT = g.tensor('g_T') as tf.Tensor2D;
      const clip = tf.tidy(() => tf.matMul(gI, gT, false, true).mul(g.scale)) as tf.Tensor2D;
      expectClose(clip.dataSync(), g.data(`${mode}/clip`), 5e-4, 'clip', false);
      const ft = fusionTensors(membership(table), g.groups.length, g.captions.length);
      const abe = fuse(clip, out.lp, out.delta, ft, m.fuse, m.lambda, g.scale);
      expectClose(abe.dataSync(), g.data(`${mode}/abe`), 5e-4, 'abe', false);
      disposeFusion(ft);
      tf.dispose([V, P, O, out.lp, out.lo, out.delta, out.R, out.simP!, out.simO!, gI, gT, clip, abe]);
      expect(tf.memory().numTensors).to.equal(before);
    });
  }
});
