import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { align, alignRows, distinctTextRows } from '../../src/abe/align';
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

describe('abe/align: distinct text rows (each repeated p_k / o_k compared with the patches once)', () => {
  const g = new AbeGolden();
  after(() => g.close());

  it('distinctTextRows maps equal rows (within and across p and o) to one row, and keeps their values', () => {
    const E = 3;
    const p = Float32Array.from([1, 2, 3, 4, 5, 6, 1, 2, 3]);
    const o = Float32Array.from([4, 5, 6, 7, 8, 9, 7, 8, 9]);
    const d = distinctTextRows(p, o, 3, E);
    expect(Array.from(d.phrase)).to.deep.equal([0, 1, 0]);
    expect(Array.from(d.object)).to.deep.equal([1, 2, 2]);
    expect(Array.from(d.rows)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // −0 and 0 differ in bits: kept apart (exact equality only).
    expect(distinctTextRows(Float32Array.from([0]), Float32Array.from([-0]), 1, 1).rows.length).to.equal(2);
  });

  for (const mode of ['m2', 'm3']) {
    // locate by object (top-3) and by phrase (top-2)
    it(`${mode}: alignRows on deduplicated rows of repeated groups equals align on the repeated groups (exact)`, () => {
      const before = tf.memory().numTensors;
      const m = g.mode(mode);
      const V = g.tensor(g.patchesName(mode)) as tf.Tensor3D;
      const p = g.data(`${mode}/p`) as Float32Array,
        o = g.data(`${mode}/o`) as Float32Array;
      const E = V.shape[2],
        Q = p.length / E;
      const twice = (a: Float32Array): Float32Array => {
        const r = new Float32Array(2 * a.length);
        r.set(a);
        r.set(a, a.length);
        return r;
      };
      const P2 = tf.tensor2d(twice(p), [2 * Q, E]),
        O2 = tf.tensor2d(twice(o), [2 * Q, E]);
      const full = align(V, P2, O2, m.locate, m.topK);
      const d = distinctTextRows(twice(p), twice(o), 2 * Q, E);
      expect(d.rows.length / E).to.be.at.most(2 * Q);
      const rows = {
        texts: tf.tensor2d(d.rows, [d.rows.length / E, E]),
        phrase: tf.tensor1d(d.phrase, 'int32'),
        object: tf.tensor1d(d.object, 'int32'),
      };
      const dd = alignRows(V, rows, m.locate, m.topK);
      for (const k of ['lp', 'lo', 'delta', 'R'] as const)
        expect(Array.from(dd[k].dataSync()), k).to.deep.equal(Array.from(full[k].dataSync()));
      tf.dispose([V, P2, O2, rows.texts, rows.phrase, rows.object, full.lp, full.lo, full.delta, full.R, dd.lp, dd.lo, dd.delta, dd.R]);
      expect(tf.memory().numTensors).to.equal(before);
    });
  }
});
