/** Image preprocessing parity on every reference image (tiny R=64 and b32geo R=224) from ../shared. */
import { expect } from 'chai';
import * as path from 'path';
import { decodeImage } from '../../src/image/decode';
import { preprocess } from '../../src/image/preprocess';
import { readSafetensors } from '../../src/weights/safetensors';
import { sharedPath } from '../helpers/paths';

for (const model of ['tiny', 'b32geo']) {
  describe(`reference ${model}: pixel_values of every image, max abs ≤ 0.016 and mean abs ≤ 0.002`, () => {
    const dir = sharedPath('reference', model);
    const { tensors, metadata } = readSafetensors(path.join(dir, 'golden.safetensors'));
    const files: string[] = JSON.parse(metadata.image_files);
    const R: number = JSON.parse(metadata.config).image_resolution;
    const golden = tensors.get('pixel_values')!.data;
    const per = 3 * R * R;
    it('golden holds 8 images', () => expect(files).to.have.length(8));
    files.forEach((file, i) => {
      it(file, async () => {
        const out = preprocess(await decodeImage(path.join(dir, 'images', file)), { resolution: R });
        let max = 0,
          sum = 0;
        for (let j = 0; j < per; j++) {
          const e = Math.abs(out[j] - golden[i * per + j]);
          max = Math.max(max, e);
          sum += e;
        }
        expect(max, `max abs ${max}`).to.be.at.most(0.016);
        expect(sum / per, `mean abs ${sum / per}`).to.be.at.most(0.002);
      });
    });
  });
}
