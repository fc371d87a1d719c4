/**
 * tfjs-backend-webgpu through Dawn (src/backends/webgpu.ts): the kernels our model and scorer use, each against
 * the cpu backend on the same inputs (the independent computation), plus leaks (tensor count and GPU bytes)
 * after every public call. Runs only when ABE_TEST_BACKENDS names webgpu (CI: .ci/extra.d/30-webgpu.sh, forced
 * onto a software adapter); named but not loadable, the `before` hook fails — never a skip.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { AbeScorer } from '../../src/abe';
import { disposeOutput } from '../../src/clip/model';
import { initBackend } from '../../src/backend';
import { OptionsError } from '../../src/errors';
import { gpuBytesInUse, webgpuDevice } from '../../src/backends/webgpu';
import { PARITY_BACKENDS } from '../helpers/backends';
import { expectClose } from '../helpers/close';
import { randomClip, randomPixels, rng, TINY_CONFIG } from '../abe/tinyModel';

type Inputs = Record<string, { data: Float32Array | Int32Array; shape: number[] }>;
type Op = (t: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[];

function randn(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => offset + scale * (r() + r() + r() - 1.5));
}
const f32 = (shape: number[], seed: number, scale = 1, offset = 0) => ({
  data: randn(
    shape.reduce((a, b) => a * b, 1),
    seed,
    scale,
    offset,
  ),
  shape,
});
const i32 = (shape: number[], values: number[]) => ({ data: Int32Array.from(values), shape });

/** Run `op` on `backend` from host inputs; returns every output's values and shape. */
async function runOn(backend: string, inputs: Inputs, op: Op): Promise<{ data: Float32Array | Int32Array; shape: number[] }[]> {
  await tf.setBackend(backend);
  const ts: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.data, v.shape, v.data instanceof Int32Array ? 'int32' : 'float32');
  try {
    const out = tf.tidy(op.bind(null, ts));
    const outs = Array.isArray(out) ? out : [out];
    const res = [];
    for (const o of outs) res.push({ data: (await o.data()) as Float32Array | Int32Array, shape: o.shape });
    tf.dispose(outs);
    return res;
  } finally {
    tf.dispose(Object.values(ts));
  }
}

/** webgpu vs cpu: same shapes; floats within tol·max(1,max|cpu|), integers exact. */
async function expectSameAsCpu(inputs: Inputs, op: Op, tol: number): Promise<void> {
  const want = await runOn('cpu', inputs, op);
  const got = await runOn('webgpu', inputs, op);
  expect(got.length).to.equal(want.length);
  got.forEach((g, i) => {
    expect(g.shape, `output ${i} shape`).to.deep.equal(want[i].shape);
    if (want[i].data instanceof Int32Array) expect(Array.from(g.data), `output ${i}`).to.deep.equal(Array.from(want[i].data));
    else expectClose(g.data, want[i].data, tol, `output ${i}`);
  });
}

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

if (!installed('webgpu')) {
  describe('webgpu without its opt-in packages', () => {
    it('forcing it is an OptionsError whose reason names the install command (npm run webgpu:install)', async () => {
      let err: unknown;
      try {
        await initBackend({ backend: 'webgpu' });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(OptionsError);
      expect((err as Error).message).to.match(
        /forced 'webgpu'.*webgpu: package 'webgpu' is not installed \(it is opt-in: npm run webgpu:install\)/,
      );
      expect((err as Error).message).to.not.include('\n');
    });
  });
}

const NAMED = PARITY_BACKENDS.includes('webgpu');
if (!NAMED) {
  // eslint-disable-next-line no-console
  console.log(
    'test/backends/webgpu.test.ts: not registered — webgpu is not in ABE_TEST_BACKENDS (CI runs it from .ci/extra.d/30-webgpu.sh)',
  );
} else {
  describe('webgpu kernels against the cpu backend on the same inputs (max abs err ≤ 2e-5·max(1,max|cpu|), integers exact)', function () {
    this.timeout(600000);
    const TOL = 2e-5;
    let prev: string;
    before(async () => {
      await tf.ready();
      prev = tf.getBackend();
      const info = await initBackend({ backend: 'webgpu' });
      // eslint-disable-next-line no-console
      console.log(`      adapter: ${JSON.stringify(info.device)}`);
      // The backend adds its own summary and gpu flag to the adapter fields the glue reports.
      expect(info.device).to.deep.include(webgpuDevice() as object);
    });
    after(async () => {
      await tf.setBackend(prev);
    });

    it('matMul 2-D with every transpose combination, and 512×512·512×512', async () => {
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const a = f32(ta ? [96, 70] : [70, 96], 1),
          b = f32(tb ? [50, 96] : [96, 50], 2);
        await expectSameAsCpu({ a, b }, (t) => tf.matMul(t.a, t.b, ta, tb), TOL);
      }
      await expectSameAsCpu({ a: f32([512, 512], 3), b: f32([512, 512], 4) }, (t) => tf.matMul(t.a, t.b), TOL);
    });

    it('batched matMul (attention shapes [B·H,T,D]) with every transpose combination and a broadcast batch', async () => {
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const a = f32(ta ? [6, 32, 50] : [6, 50, 32], 5),
          b = f32(tb ? [6, 50, 32] : [6, 32, 50], 6);
        await expectSameAsCpu({ a, b }, (t) => tf.matMul(t.a, t.b, ta, tb), TOL);
      }
      await expectSameAsCpu({ a: f32([1, 50, 32], 7), b: f32([6, 32, 40], 8) }, (t) => tf.matMul(t.a, t.b), TOL);
    });

    it('fused matMul with a bias: 2-D, transposed operands, batch > 1, and with a gelu-free linear activation', async () => {
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const a = f32(ta ? [64, 30] : [30, 64], 9),
          b = f32(tb ? [40, 64] : [64, 40], 10),
          bias = f32([40], 11);
        await expectSameAsCpu(
          { a, b, bias },
          (t) => tf.fused.matMul({ a: t.a, b: t.b, bias: t.bias, transposeA: ta, transposeB: tb }),
          TOL,
        );
      }
      const a = f32([3, 30, 64], 12),
        b = f32([3, 64, 40], 13),
        bias = f32([40], 14);
      await expectSameAsCpu({ a, b, bias }, (t) => tf.fused.matMul({ a: t.a, b: t.b, bias: t.bias }), TOL);
      await expectSameAsCpu(
        { a, b: f32([3, 40, 64], 15), bias },
        (t) => tf.fused.matMul({ a: t.a, b: t.b, bias: t.bias, transposeB: true, activation: 'relu' }),
        TOL,
      );
    });

    it('gather: rows of an embedding table, axis 1, batchDims 1, and the flat 1-D gather align.ts uses', async () => {
      const table = f32([1000, 48], 16);
      const ids = i32(
        [2, 77],
        Array.from({ length: 154 }, (_, i) => (i * 389) % 1000),
      );
      await expectSameAsCpu({ table, ids }, (t) => tf.gather(t.table, t.ids), 0);
      const x = f32([4, 10, 6], 17);
      const idx = i32(
        [4, 5],
        Array.from({ length: 20 }, (_, i) => (i * 7) % 10),
      );
      await expectSameAsCpu({ x, idx }, (t) => tf.gather(t.x, t.idx, 1, 1), 0);
      await expectSameAsCpu({ x, idx: i32([5], [9, 0, 3, 3, 7]) }, (t) => tf.gather(t.x, t.idx, 1), 0);
      await expectSameAsCpu(
        {
          x,
          idx: i32(
            [30],
            Array.from({ length: 30 }, (_, i) => (i * 13) % 240),
          ),
        },
        (t) => tf.gather(tf.reshape(t.x, [-1]), t.idx),
        0,
      );
    });

    it('topk (sorted): values and indices over the last axis of a [U,n,P] similarity tensor', async () => {
      // Distinct values (a permutation scaled), so the indices are unambiguous.
      const n = 3 * 4 * 50;
      const perm = Float32Array.from({ length: n }, (_, i) => ((i * 137) % n) / n - 0.5);
      await expectSameAsCpu(
        { s: { data: perm, shape: [3, 4, 50] } },
        (t) => {
          const r = tf.topk(t.s, 5, true);
          return [r.values, r.indices];
        },
        0,
      );
    });

    it("int32 tensors made on the GPU (top-k indices, casts): rank-3/4 transposes (the glue's workaround), gather, slice, concat", async () => {
      const n = 3 * 40 * 50;
      const s = { data: Float32Array.from({ length: n }, (_, i) => ((i * 211) % n) / n - 0.5), shape: [3, 40, 50] };
      await expectSameAsCpu(
        { s },
        (t) => {
          const idx = tf.topk(t.s, 5, true).indices; // [3,40,5] int32, on the GPU
          const big = tf.cast(tf.mul(t.s, 4000), 'int32'); // [3,40,50] int32
          return [
            tf.transpose(idx, [1, 0, 2]),
            tf.transpose(big, [2, 0, 1]),
            tf.transpose(tf.reshape(big, [3, 4, 10, 50]), [0, 2, 1, 3]),
            tf.transpose(tf.reshape(idx, [120, 5])),
            tf.gather(big, tf.tensor1d([2, 0, 2], 'int32')),
            tf.gather(idx, tf.tensor1d([4, 0, 3, 3, 1], 'int32'), 2),
            tf.gather(tf.reshape(t.s, [-1]), tf.reshape(idx, [-1])),
            tf.slice(big, [1, 3, 7], [2, 30, 40]),
            tf.concat([idx, idx], 2),
          ];
        },
        0,
      );
    });

    it('softmax over the last axis with large logits and causal -1e9/-Infinity masks', async () => {
      await expectSameAsCpu({ x: f32([2, 4, 77, 77], 18, 8) }, (t) => tf.softmax(t.x), TOL);
      const mask = { data: Float32Array.from({ length: 77 * 77 }, (_, i) => (i % 77 > Math.floor(i / 77) ? -1e9 : 0)), shape: [77, 77] };
      await expectSameAsCpu({ x: f32([2, 77, 77], 19, 4), mask }, (t) => tf.softmax(tf.add(t.x, t.mask)), TOL);
      const inf = { data: mask.data.map((v) => (v ? -Infinity : 0)), shape: [77, 77] };
      await expectSameAsCpu({ x: f32([2, 77, 77], 20, 4), inf }, (t) => tf.softmax(tf.add(t.x, t.inf)), TOL);
    });

    it('layerNorm pieces: moments over the last axis (keepDims) on offset data, rsqrt, erf gelu and quick gelu', async () => {
      const x = f32([2, 50, 768], 21, 3, 40);
      await expectSameAsCpu(
        { x },
        (t) => {
          const m = tf.moments(t.x, -1, true);
          return [m.mean, m.variance, tf.rsqrt(tf.add(m.variance, 1e-5))];
        },
        TOL,
      );
      const h = f32([4, 300], 22, 4);
      await expectSameAsCpu({ h }, (t) => tf.mul(tf.mul(t.h, 0.5), tf.add(1, tf.erf(tf.mul(t.h, Math.SQRT1_2)))), TOL);
      await expectSameAsCpu({ h }, (t) => tf.mul(t.h, tf.sigmoid(tf.mul(t.h, 1.702))), TOL);
    });

    it('einsum (unused by our code): matches cpu where registered', async () => {
      const a = f32([3, 20, 16], 23),
        b = f32([3, 16, 12], 24);
      await expectSameAsCpu({ a, b }, (t) => tf.einsum('bij,bjk->bik', t.a, t.b), TOL);
      await expectSameAsCpu({ a: f32([20, 16], 25), b: f32([12, 16], 26) }, (t) => tf.einsum('ij,kj->ik', t.a, t.b), TOL);
    });

    it('shape ops and reductions: rank-4 transposes, slice, concat, where, norm, mean, cast', async () => {
      const x = f32([2, 7, 4, 8], 27);
      await expectSameAsCpu({ x }, (t) => [tf.transpose(t.x, [0, 2, 1, 3]), tf.transpose(t.x, [2, 0, 3, 1])], 0);
      await expectSameAsCpu({ x }, (t) => [tf.slice(t.x, [0, 1, 0, 2], [2, 5, 4, 3]), tf.concat([t.x, t.x], 2)], 0);
      const c = f32([6, 9], 28);
      await expectSameAsCpu(
        { c },
        (t) => [
          tf.where(tf.greater(t.c, 0), t.c, tf.mul(t.c, 2)),
          tf.norm(t.c, 'euclidean', -1, true),
          tf.mean(t.c, 1),
          tf.cast(tf.greater(t.c, 0), 'int32'),
        ],
        TOL,
      );
    });

    it("dataSync of a computed tensor (the glue's synchronous read through Dawn) equals data(); numTensors and GPU bytes return to baseline", async () => {
      await tf.setBackend('webgpu');
      const t0 = tf.memory().numTensors,
        b0 = gpuBytesInUse();
      const a = tf.tensor2d(randn(64 * 48, 29), [64, 48]);
      const y1 = tf.matMul(a, a, false, true),
        y2 = tf.matMul(a, a, false, true);
      expect(gpuBytesInUse()).to.be.greaterThan(b0);
      const sync = y1.dataSync(),
        async = await y2.data();
      expect(Array.from(sync)).to.deep.equal(Array.from(async));
      tf.dispose([a, y1, y2]);
      expect(tf.memory().numTensors).to.equal(t0);
      expect(gpuBytesInUse()).to.equal(b0);
    });
  });

  describe('webgpu: no leaks after each public call (numTensors and GPU bytes back to baseline, after a warm-up)', function () {
    this.timeout(600000);
    let prev: string;
    before(async () => {
      await tf.ready();
      prev = tf.getBackend();
      await initBackend({ backend: 'webgpu' });
    });
    after(async () => {
      await tf.setBackend(prev);
    });

    it('encodeImages, encodeTexts and AbeScorer.scoreMatrix', async () => {
      const model = randomClip(4);
      const R = TINY_CONFIG.vision.resolution;
      const pixels = tf.tensor4d(randomPixels(3, 6), [3, 3, R, R]);
      const captions = ['a red cube and a blue sphere', 'the car is green'];
      const calls: [string, () => Promise<void>][] = [
        [
          'encodeImages',
          async () => {
            disposeOutput(await model.encodeImages(pixels, { hiddenStates: true }));
          },
        ],
        [
          'encodeTexts',
          async () => {
            disposeOutput(await model.encodeTexts(captions));
          },
        ],
        [
          'AbeScorer.scoreMatrix',
          async () => {
            await new AbeScorer(model, { patchFeatures: 'tokens', topK: 2 }).scoreMatrix(pixels, captions, { parts: true });
          },
        ],
      ];
      try {
        for (const [, call] of calls) await call(); // warm-up: the model's lazy caches (masks, positions)
        for (const [name, call] of calls) {
          const t0 = tf.memory().numTensors,
            b0 = gpuBytesInUse();
          await call();
          expect(tf.memory().numTensors, `${name}: numTensors`).to.equal(t0);
          expect(gpuBytesInUse(), `${name}: GPU bytes`).to.equal(b0);
        }
      } finally {
        pixels.dispose();
        model.dispose();
      }
    });
  });
}
