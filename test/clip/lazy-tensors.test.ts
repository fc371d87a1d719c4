/**
 * The tensors a first scoring call leaves alive are the model's own one-time derived weights, made on first
 * use and kept with the model (src/clip/layers.ts WeightStore.derived): the text causal mask [L,L] of each text
 * (TextTransformer.causalMask): the full-context one only, whatever lengths the tower runs at. ABE's text passes
 * run up to the longest EOT of their chunk (several lengths, recorded here from the tower's inputs), and a shorter
 * mask is a corner of the kept one, freed with the pass. (The value-path patch
 * features no longer slice q/k/v weights: they are hook users since the hook points inside blocks.) Later calls
 * add none; model.dispose() frees them with the rest of the model.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { AbeScorer } from '../../src/abe';
import { randomClip, randomPixels, TINY_CONFIG } from '../abe/tinyModel';

describe('model-owned one-time tensors of the first scoring call (tiny random model)', function () {
  this.timeout(120_000);
  before(() => tf.setBackend('cpu'));

  it('scoring keeps one causal mask (+1) whatever text lengths the tower ran at, nothing else; model.dispose() frees all', async () => {
    const start = tf.memory().numTensors;
    const model = randomClip(2);
    const lengths = new Set<number>();
    const encodeTexts = model.encodeTexts.bind(model);
    model.encodeTexts = (ids, o) => {
      lengths.add(ids.shape[1]);
      return encodeTexts(ids, o);
    };
    const R = TINY_CONFIG.vision.resolution;
    const px = tf.tensor4d(randomPixels(2, 9), [2, 3, R, R]);
    const afterLoad = tf.memory().numTensors;
    const scorer = new AbeScorer(model, 'abe+regions');
    // The caption (9 tokens with SOT/EOT) runs at 9, its templated phrases ("a photo of a red cube") at 8.
    await scorer.scoreMatrix(px, ['a red cube and a blue sphere']);
    expect([...lengths].sort()).to.deep.equal([8, 9]);
    expect(tf.memory().numTensors - afterLoad).to.equal(1);
    // New images, new captions, another configuration: nothing more is kept.
    const px2 = tf.tensor4d(randomPixels(3, 11), [3, 3, R, R]);
    await scorer.scoreMatrix(px2, ['a green cone', 'two yellow cubes']);
    await scorer.scorePairs(
      px2,
      ['a green cone'],
      [
        [0, 0],
        [2, 0],
      ],
      { fuse: 'additive' },
    );
    await new AbeScorer(model, 'abe').scoreMatrix(px, ['a blue sphere']);
    expect(lengths.size).to.be.above(2);
    expect(tf.memory().numTensors - afterLoad).to.equal(1 + 1); // + px2 itself
    tf.dispose([px, px2]);
    model.dispose();
    expect(tf.memory().numTensors).to.equal(start);
  });
});
