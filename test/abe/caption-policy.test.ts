/**
 * One caption policy per layer, and the layers agree. Library (tokenize, model.encodeTexts, AbeScorer
 * scoreMatrix / scorePairs): a caption longer than the context throws TokenizerError unless `truncate: true`.
 * Evaluation (ModelScorer, used by every command): truncates, and src/eval/captions counts it.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { AbeScorer } from '../../src/abe';
import type { ClipModel } from '../../src/clip/model';
import { OptionsError, TokenizerError } from '../../src/errors';
import { captionReport } from '../../src/eval/captions';
import { ModelScorer } from '../../src/eval/scoring';
import { checkCaption } from '../../src/text/caption-check';
import { tokenize } from '../../src/text/tokenize';
import { randomClip, randomPixels, TINY_CONFIG } from './tinyModel';

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(TokenizerError);
    expect((e as Error).message).to.match(re);
    return;
  }
  expect.fail('expected a TokenizerError');
}

describe('caption policy: library throws unless truncate, evaluation truncates and counts (tiny random model, context 16)', function () {
  this.timeout(120_000);
  const L = TINY_CONFIG.text.contextLength;
  // 20 one-token words: 22 tokens with SOT/EOT, over the 16-token context.
  const LONG = Array.from({ length: 20 }, (_, i) => (i % 2 ? 'red' : 'cube')).join(' ');
  let model: ClipModel;
  let pixels: tf.Tensor4D;
  before(async () => {
    await tf.setBackend('cpu');
    model = randomClip(3);
    const R = TINY_CONFIG.vision.resolution;
    pixels = tf.tensor4d(randomPixels(2, 5), [2, 3, R, R]);
  });
  after(() => {
    pixels.dispose();
    model.dispose();
  });

  it('checkCaption: 20 words need 22 tokens (> 16: truncated); "" and "!!! ???" have no word; "a cube" is fine', () => {
    expect(checkCaption(LONG, L)).to.deep.equal({ tokens: 22, truncated: true, empty: false });
    expect(checkCaption('', L)).to.include({ truncated: false, empty: true });
    expect(checkCaption('!!! ???', L)).to.include({ truncated: false, empty: true });
    expect(checkCaption('a cube', L)).to.deep.equal({ tokens: 4, truncated: false, empty: false });
  });

  it('every library entry point throws TokenizerError on the long caption by default, naming it and the length', async () => {
    expect(() => tokenize([LONG], { contextLength: L })).to.throw(TokenizerError, /needs 22 tokens/);
    await rejects(model.encodeTexts([LONG]), /needs 22 tokens/);
    const scorer = new AbeScorer(model);
    const before = tf.memory().numTensors;
    await rejects(
      scorer.scoreMatrix(pixels, ['a red cube', LONG]),
      /captions\[1\] "cube red cube.*needs 22 tokens with SOT\/EOT, more than the model's context length 16; pass truncate: true/,
    );
    await rejects(scorer.scorePairs(pixels, [LONG], [[0, 0]]), /needs 22 tokens/);
    expect(tf.memory().numTensors).to.equal(before);
    try {
      await scorer.scoreMatrix(pixels, ['a cube'], { truncate: 'yes' as never });
      expect.fail('no error');
    } catch (e) {
      expect(e).to.be.instanceOf(OptionsError);
      expect((e as Error).message).to.contain('truncate must be true or false');
    }
  });

  it('truncate: true gives the CLIP score of encodeTexts(truncate: true) (independent path, 1e-4), in scoreMatrix and scorePairs', async () => {
    const scorer = new AbeScorer(model, 'abe');
    const m = await scorer.scoreMatrix(pixels, [LONG], { truncate: true });
    const p = await scorer.scorePairs(
      pixels,
      [LONG],
      [
        [0, 0],
        [1, 0],
      ],
      { truncate: true },
    );
    const ref = await model.logits(pixels, [LONG], { truncate: true });
    const want = ref.logitsPerImage.dataSync();
    tf.dispose(Object.values(ref).filter((x): x is tf.Tensor => x instanceof tf.Tensor));
    for (let i = 0; i < 2; i++) {
      expect(m.clip[i]).to.be.closeTo(want[i], 1e-4);
      expect(p.clip[i]).to.be.closeTo(want[i], 1e-4);
      expect(p.abe[i]).to.be.closeTo(m.abe[i], 1e-4);
    }
  });

  it('the evaluation layer (ModelScorer) truncates the same way, and captionReport counts the caption', async () => {
    const ms = new ModelScorer(model, { configs: [{ name: 'clip' }, { name: 'abe' }] });
    const feats = await ms.abe.imageFeatures(pixels, [ms.options.clip, ms.options.abe]);
    const r = await ms.scoreFeatures(feats, [LONG, 'a red cube']);
    const lib = await new AbeScorer(model, 'abe').scoreMatrix(pixels, [LONG, 'a red cube'], { truncate: true });
    for (let k = 0; k < 4; k++) {
      expect(r.scores.clip[k]).to.be.closeTo(lib.clip[k], 1e-5);
      expect(r.scores.abe[k]).to.be.closeTo(lib.abe[k], 1e-5);
    }
    const rep = captionReport([LONG, 'a red cube', '', LONG], L);
    expect(rep).to.deep.equal({ contextLength: 16, checked: 3, truncated: [{ caption: LONG, tokens: 22 }], empty: [''] });
    ms.dispose();
  });
});
