/** End to end: image files → loadImages → tiny CLIP image encoder, against the golden image_embeds. */
import { expect } from 'chai';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadImages } from '../../src/image/loader';
import { disposeOutput } from '../../src/clip/model';
import { loadRef, RefModel } from '../clip/goldens';
import { sharedPath } from '../helpers/paths';

describe('reference tiny: image files → image_embeds, cosine ≥ 0.9999 with the goldens', () => {
  let ref: RefModel;
  before(() => {
    ref = loadRef(sharedPath('reference', 'tiny'), 'openai.safetensors');
  });
  after(() => ref.model.dispose());

  it('every image (in golden image_files order); numTensors unchanged afterwards', async () => {
    const dir = sharedPath('reference', 'tiny');
    const { readSafetensors } = await import('../../src/weights/safetensors');
    const files: string[] = JSON.parse(readSafetensors(path.join(dir, 'golden.safetensors')).metadata.image_files);
    const golden = ref.golden.get('image_embeds')!;
    const n0 = tf.memory().numTensors;
    const { pixels } = await loadImages(
      files.map((f) => path.join(dir, 'images', f)),
      { resolution: ref.model.config.vision.resolution },
    );
    const out = await ref.model.encodeImages(pixels);
    const emb = out.embeds.dataSync();
    pixels.dispose();
    disposeOutput(out);
    expect(tf.memory().numTensors).to.equal(n0);
    const E = golden.shape[1];
    files.forEach((f, i) => {
      let dot = 0,
        na = 0,
        nb = 0;
      for (let j = 0; j < E; j++) {
        const a = emb[i * E + j],
          b = golden.data[i * E + j];
        dot += a * b;
        na += a * a;
        nb += b * b;
      }
      const cos = dot / Math.sqrt(na * nb);
      expect(cos, `${f}: cosine ${cos}`).to.be.at.least(0.9999);
    });
  });
});
