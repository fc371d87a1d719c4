/**
 * Reference tier: the full-size reference checkpoints convert and the converted folders reproduce their goldens.
 * Needs ../shared/reference (fails, does not skip, without it).
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { convertCheckpoint } from '../../src/clip/convert';
import { loadClip } from '../../src/clip/load';
import { readConverted } from '../../src/weights/converted';
import { floatToHalf, halfToFloat } from '../../src/weights/dtype';
import { readSafetensors } from '../../src/weights/safetensors';
import { expectClose } from '../helpers/close';
import { sharedPath } from '../helpers/paths';

const TOL = 1e-4; // the reference README's float32 rule, relative to max(1, max|ref|)

const CASES: { name: string; file: string; config?: string; dtype: 'f16' | 'f32'; params: number; maxAbsDiff: number }[] = [
  // b32geo is stored F16: writing it as F16 is lossless, so the verification must agree exactly.
  { name: 'b32geo', file: 'hf.safetensors', config: 'hf_config.json', dtype: 'f16', params: 12807937, maxAbsDiff: 0 },
  { name: 'tiny', file: 'openai.safetensors', dtype: 'f32', params: 7244929, maxAbsDiff: 0 },
  { name: 'micro', file: 'model.jit.pt', config: 'config.json', dtype: 'f16', params: 595201, maxAbsDiff: 0 },
];

describe('reference: checkpoints convert and match their goldens', function () {
  this.timeout(600000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-ref-weights-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const c of CASES) {
    const what =
      c.name === 'micro'
        ? 'tensors = openai.safetensors rounded to F16, exactly'
        : `goldens (image/text embeds, logits) within ${TOL} · max(1, |ref|)`;
    it(`${c.name}/${c.file} → ${c.dtype} folder → ${what}`, async () => {
      const src = sharedPath('reference', c.name, c.file);
      const out = path.join(dir, c.name);
      const r = await convertCheckpoint(src, {
        out,
        dtype: c.dtype,
        config: c.config ? sharedPath('reference', c.name, c.config) : undefined,
      });
      expect(r.params).to.equal(c.params);
      expect(r.maxAbsDiff).to.equal(c.maxAbsDiff);
      if (c.name === 'micro') {
        // The archive's weights are F16-rounded; the goldens are of the F32 model: compare tensors, not outputs.
        const ref = readSafetensors(sharedPath('reference', 'micro', 'openai.safetensors')).tensors;
        const { weights } = readConverted(out);
        for (const [k, t] of ref) {
          const want = Array.from(t.data, (x) => halfToFloat(floatToHalf(x)));
          expect(Array.from(weights.get(k)!.data), k).to.deep.equal(want);
        }
        return;
      }
      const g = readSafetensors(sharedPath('reference', c.name, 'golden.safetensors')).tensors;
      const before = tf.memory().numTensors;
      const model = await loadClip(out);
      const pv = g.get('pixel_values')!;
      const px = tf.tensor4d(pv.data, pv.shape as [number, number, number, number]);
      const ii = g.get('input_ids')!;
      const ids = tf.tensor2d(ii.data, ii.shape as [number, number], 'int32');
      const img = await model.encodeImages(px);
      const txt = await model.encodeTexts(ids);
      const { logitsPerImage, logitsPerText } = await model.logits(px, ids);
      expectClose(img.embeds.dataSync(), g.get('image_embeds')!.data, TOL, 'image_embeds');
      expectClose(txt.embeds.dataSync(), g.get('text_embeds')!.data, TOL, 'text_embeds');
      expectClose(logitsPerImage.dataSync(), g.get('logits_per_image')!.data, TOL, 'logits_per_image');
      tf.dispose([px, ids, img.embeds, img.tokens, txt.embeds, txt.tokens, logitsPerImage, logitsPerText]);
      model.dispose();
      expect(tf.memory().numTensors).to.equal(before);
    });
  }
});
