import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { createClip, disposeOutput, ClipModel } from '../../src/clip/model';
import { InputError, OptionsError } from '../../src/errors';
import { QUICK_CONFIG } from '../../src/bench';
import { randomClipWeights } from '../../src/bench/random-weights';
import { EncoderPool, shareWeights } from '../../src/parallel/pool';
import { maxAbsDiff } from '../helpers/close';
import { REPO } from '../helpers/paths';

// A small geometry with a tiny vocabulary keeps the model (and each worker's copy) a few MB.
const CONFIG = { ...QUICK_CONFIG, text: { ...QUICK_CONFIG.text, vocabSize: 1000, contextLength: 16 } };

describe('parallel/EncoderPool (wasm workers vs the single-thread model, max abs diff ≤ 1e-5)', function () {
  this.timeout(120_000);
  let prev: string;
  let model: ClipModel;
  let pool: EncoderPool;
  const weights = randomClipWeights(CONFIG, { seed: 3, shared: true });

  before(async () => {
    prev = tf.getBackend();
    await initBackend({ backend: 'wasm' });
    model = createClip(CONFIG, weights);
    pool = await EncoderPool.create(CONFIG, weights, { workers: 2, backend: 'wasm' });
  });
  after(async () => {
    await pool?.close();
    model?.dispose();
    if (prev) await tf.setBackend(prev);
  });

  it('encodeImages: 5 rows over 2 workers (uneven shares) equal the model, embeds and tokens', async () => {
    const R = CONFIG.vision.resolution;
    const px = tf.randomUniform([5, 3, R, R], -2, 2, 'float32', 11) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const ref = await model.encodeImages(px, { batchSize: 2 });
    const out = await pool.encodeImages(px, { batchSize: 2 });
    expect(out.embeds.shape).to.deep.equal(ref.embeds.shape);
    expect(out.tokens.shape).to.deep.equal(ref.tokens.shape);
    expect(maxAbsDiff(out.embeds.dataSync(), ref.embeds.dataSync())).to.be.at.most(1e-5);
    expect(maxAbsDiff(out.tokens.dataSync(), ref.tokens.dataSync())).to.be.at.most(1e-5);
    // A Float32Array input gives the same rows.
    const fromHost = await pool.encodeImages(px.dataSync() as Float32Array);
    expect(maxAbsDiff(fromHost.embeds.dataSync(), ref.embeds.dataSync())).to.be.at.most(1e-5);
    // tokens: false — embeds only, tokens [n,0,E].
    const lean = await pool.encodeImages(px, { batchSize: 2, tokens: false });
    expect(lean.tokens.shape).to.deep.equal([5, 0, CONFIG.embedDim]);
    expect(maxAbsDiff(lean.embeds.dataSync(), ref.embeds.dataSync())).to.be.at.most(1e-5);
    disposeOutput(ref);
    disposeOutput(out);
    disposeOutput(fromHost);
    disposeOutput(lean);
    expect(tf.memory().numTensors).to.equal(before);
    px.dispose();
  });

  it('encodeTexts: token rows equal the model (int32 tensor and number[][])', async () => {
    const ids = [
      [998, 5, 999, 0],
      [998, 7, 8, 999],
      [998, 999, 0, 0],
    ];
    const ref = await model.encodeTexts(ids);
    const out = await pool.encodeTexts(tf.tensor2d(ids, [3, 4], 'int32'));
    const out2 = await pool.encodeTexts(ids, { batchSize: 1 });
    expect(maxAbsDiff(out.embeds.dataSync(), ref.embeds.dataSync())).to.be.at.most(1e-5);
    expect(maxAbsDiff(out.tokens.dataSync(), ref.tokens.dataSync())).to.be.at.most(1e-5);
    expect(maxAbsDiff(out2.embeds.dataSync(), ref.embeds.dataSync())).to.be.at.most(1e-5);
    disposeOutput(ref);
    disposeOutput(out);
    disposeOutput(out2);
  });

  it('empty input gives empty outputs', async () => {
    const out = await pool.encodeImages(new Float32Array(0));
    expect(out.embeds.shape).to.deep.equal([0, CONFIG.embedDim]);
    disposeOutput(out);
  });

  it('bad input → InputError / OptionsError naming the argument', async () => {
    const err = async (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e) => e,
      );
    expect(await err(pool.encodeImages(new Float32Array(7))))
      .to.be.instanceOf(InputError)
      .with.property('source', 'pixels');
    expect(await err(pool.encodeImages(tf.zeros([1, 3, 8, 8]) as tf.Tensor4D))).to.be.instanceOf(InputError);
    expect(await err(pool.encodeImages(new Float32Array(0), { batchSize: 0 }))).to.be.instanceOf(OptionsError);
    expect(await err(pool.encodeTexts([[1, 2]], { tokens: 1 as never })))
      .to.be.instanceOf(OptionsError)
      .with.property('source', 'opts.tokens');
    expect(await err(pool.encodeTexts([[1, 2], [3]])))
      .to.be.instanceOf(InputError)
      .with.property('source', 'ids');
    expect(await err(EncoderPool.create(CONFIG, weights, { workers: 0 }))).to.be.instanceOf(OptionsError);
    expect(await err(EncoderPool.create(CONFIG, weights, { weightLayout: 'cols' as never })))
      .to.be.instanceOf(OptionsError)
      .with.property('source', 'weightLayout');
    expect(pool.weightLayout).to.equal('in-out');
  });

  it('a worker-side error (id outside the vocabulary) rejects with the typed error and the pool keeps working', async () => {
    const e = await pool.encodeTexts([[998, 5000, 999]]).then(
      () => null,
      (x) => x,
    );
    expect(e).to.be.instanceOf(InputError);
    const ok = await pool.encodeTexts([[998, 999]]);
    expect(ok.embeds.shape).to.deep.equal([1, CONFIG.embedDim]);
    disposeOutput(ok);
  });

  it('shareWeights puts every tensor in one SharedArrayBuffer and keeps values', () => {
    const plain = randomClipWeights(CONFIG, { seed: 5 });
    const s = shareWeights(plain);
    const buffers = new Set([...s.values()].map((t) => t.data.buffer));
    expect(buffers.size).to.equal(1);
    expect([...buffers][0]).to.be.instanceOf(SharedArrayBuffer);
    const name = 'visual.conv1.weight';
    expect(Array.from(s.get(name)!.data)).to.deep.equal(Array.from(plain.get(name)!.data));
    expect(shareWeights(s)).to.equal(s);
  });

  it('close() lets the workers exit; a closed pool refuses work with InputError', async () => {
    const p = await EncoderPool.create(CONFIG, weights, { workers: 1, backend: 'wasm' });
    await p.close();
    const e = await p.encodeImages(new Float32Array(0)).then(
      () => null,
      (x) => x,
    );
    expect(e).to.be.instanceOf(InputError);
    await p.close(); // twice is fine
  });

  {
    const closeIt = false; // the closing path is covered above, in this process
    it('a process that uses a pool and never closes it exits on its own (idle workers do not hold it)', () => {
      const script = `
        const { initBackend } = require('./src/backend');
        const { QUICK_CONFIG } = require('./src/bench');
        const { randomClipWeights } = require('./src/bench/random-weights');
        const { EncoderPool } = require('./src/parallel/pool');
        (async () => {
          await initBackend({ backend: 'wasm' });
          const c = { ...QUICK_CONFIG, text: { ...QUICK_CONFIG.text, vocabSize: 1000, contextLength: 16 } };
          const pool = await EncoderPool.create(c, randomClipWeights(c, { shared: true }), { workers: 1, backend: 'wasm' });
          const out = await pool.encodeImages(new Float32Array(2 * 3 * c.vision.resolution ** 2));
          console.log('rows', out.embeds.shape[0]);
          ${closeIt ? 'await pool.close(); console.log("closed");' : ''}
        })();`;
      const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
        cwd: REPO,
        timeout: 90_000,
        encoding: 'utf8',
      });
      expect(r.error, `child did not exit in time: ${r.error}`).to.equal(undefined);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.contain('rows 2');
      if (closeIt) expect(r.stdout).to.contain('closed');
    });
  }
});
