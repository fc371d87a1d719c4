import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { ImageDecodeError, OptionsError } from '../../src/errors';
import { loadImages } from '../../src/image/loader';
import { absErr, referenceImage, tinyGolden } from './fixtures';

describe('image/loader: loadImages', () => {
  const g = tinyGolden();
  const paths = g.imageFiles.map(referenceImage);
  const PER = 3 * 64 * 64;

  it('all 8 reference images → [8,3,64,64] in input order matching the golden (max abs ≤ 0.016); one tensor, freed by dispose', async () => {
    const n0 = tf.memory().numTensors;
    const { pixels, ok, errors } = await loadImages(paths, { resolution: 64, concurrency: 3 });
    expect(pixels.shape).to.deep.equal([8, 3, 64, 64]);
    expect(ok).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(errors).to.deep.equal([]);
    expect(tf.memory().numTensors).to.equal(n0 + 1);
    const data = pixels.dataSync();
    expect(absErr(data, g.pixelValues).max).to.be.at.most(0.016);
    pixels.dispose();
    expect(tf.memory().numTensors).to.equal(n0);
  });

  it("onError 'skip' leaves bad inputs out and reports index, source and typed error; order kept", async () => {
    const inputs = [paths[3], Buffer.from('garbage'), paths[7], '/nonexistent/x.png', paths[0]];
    const { pixels, ok, errors } = await loadImages(inputs, { resolution: 64, onError: 'skip' });
    expect(ok).to.deep.equal([0, 2, 4]);
    expect(errors.map((e) => [e.index, e.source])).to.deep.equal([
      [1, '<buffer #1>'],
      [3, '/nonexistent/x.png'],
    ]);
    errors.forEach((e) => expect(e.error).to.be.instanceOf(ImageDecodeError));
    const d = pixels.dataSync();
    for (const [row, i] of [
      [0, 3],
      [1, 7],
      [2, 0],
    ])
      expect(absErr(d.subarray(row * PER, (row + 1) * PER), g.pixelValues, i * PER, PER).max).to.be.at.most(0.016);
    pixels.dispose();
  });

  it("onError 'throw' (default) rejects with the typed error naming the input; no tensor leaks", async () => {
    const n0 = tf.memory().numTensors;
    try {
      await loadImages([paths[0], Buffer.alloc(0)], { resolution: 64 });
      expect.fail('no error');
    } catch (e) {
      expect(e).to.be.instanceOf(ImageDecodeError);
      expect((e as Error).message).to.match(/^<buffer #1>: empty file/);
    }
    expect(tf.memory().numTensors).to.equal(n0);
  });

  it('empty input → [0,3,R,R]; bad options → OptionsError', async () => {
    const { pixels } = await loadImages([], { resolution: 32 });
    expect(pixels.shape).to.deep.equal([0, 3, 32, 32]);
    pixels.dispose();
    for (const bad of [
      { resolution: 32, onError: 'ignore' },
      { resolution: 32, concurrency: 0 },
      { resolution: -1 },
      { resolution: 32, size: 3 },
    ]) {
      try {
        await loadImages(paths, bad as never);
        expect.fail(JSON.stringify(bad));
      } catch (e) {
        expect(e, JSON.stringify(bad)).to.be.instanceOf(OptionsError);
      }
    }
  });
});
