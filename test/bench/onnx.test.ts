import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { QUICK_CONFIG } from '../../src/bench/geometry';
import { benchIds, benchPixels } from '../../src/bench/encoders';
import { loadOrt, OrtEncoder } from '../../src/bench/onnx/peer';
import { Builder, concatMsg } from '../../src/bench/onnx/proto';
import { randomClipWeights } from '../../src/bench/random-weights';
import { createClip } from '../../src/clip/model';
import { maxAbs, maxAbsDiff } from '../helpers/close';

const bytes = (b: Builder): number[] => [...concatMsg(b.done())];

describe('bench/onnx proto (bytes worked out by hand from the protobuf encoding rules)', () => {
  it("varints: 300 → ac 02, −1 → ten bytes of two's complement, after the key (field 1, wire 0 → 08)", () => {
    expect(bytes(new Builder().int(1, 300))).to.deep.equal([0x08, 0xac, 0x02]);
    expect(bytes(new Builder().int(1, -1))).to.deep.equal([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });
  it('float field 2 → key 15 then little-endian IEEE 754 (1.5 = 00 00 c0 3f); string field 4 → key 22, length, utf8', () => {
    expect(bytes(new Builder().float(2, 1.5))).to.deep.equal([0x15, 0x00, 0x00, 0xc0, 0x3f]);
    expect(bytes(new Builder().string(4, 'Add'))).to.deep.equal([0x22, 0x03, 0x41, 0x64, 0x64]);
  });
  it('a nested message is its length then its bytes (field 7 → key 3a)', () => {
    expect(bytes(new Builder().msg(7, new Builder().int(1, 5).done()))).to.deep.equal([0x3a, 0x02, 0x08, 0x05]);
  });
});

// The peer computes the same function as our encoders, else the bench's ratio would compare different work.
describe('bench/onnx CLIP graphs in onnxruntime vs createClip on cpu (quick geometry, embeds max abs diff ≤ 1e-4)', function () {
  this.timeout(120_000);
  const C = { ...QUICK_CONFIG, vocabSize: 1000, contextLength: 16 };
  let prev: string;
  before(async () => {
    prev = tf.getBackend();
    await initBackend({ backend: 'cpu' });
  });
  after(async () => {
    if (prev) await tf.setBackend(prev);
  });

  it('onnxruntime-node (a dev dependency) loads', () => {
    const r = loadOrt();
    expect(r.error, r.error).to.equal(undefined);
    expect(r.version).to.match(/^\d+\.\d+/);
  });

  for (const tower of ['image', 'text'] as const) {
    it(`${tower} tower, batch 3: pooled embeds agree`, async () => {
      const { ort } = loadOrt();
      const w = randomClipWeights(C, { seed: 5 });
      const peer = await OrtEncoder.create(ort!, tower, C, w, 3, 1);
      const model = createClip(C, w);
      const input = tower === 'image' ? benchPixels(3, C.vision.resolution) : benchIds(3, C);
      try {
        const o = tower === 'image' ? await model.encodeImages(input as tf.Tensor4D) : await model.encodeTexts(input as tf.Tensor2D);
        const ours = await o.embeds.data();
        tf.dispose([o.embeds, o.tokens]);
        const theirs = await peer.run(input.dataSync() as Float32Array | Int32Array);
        expect(maxAbs(ours)).to.be.greaterThan(0.1);
        expect(maxAbsDiff(theirs, ours)).to.be.at.most(1e-4);
      } finally {
        input.dispose();
        model.dispose();
        await peer.release();
      }
    });
  }
});
