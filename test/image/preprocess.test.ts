import { expect } from 'chai';
import { OptionsError } from '../../src/errors';
import { decodeImage } from '../../src/image/decode';
import { cropOffsets, fromRGBA, preprocess, resizedSize } from '../../src/image/preprocess';
import { absErr, referenceImage, tinyGolden } from './fixtures';

const R = 64;
const PER = 3 * R * R;

describe('image/preprocess: CLIP _transform parity on the vendored tiny goldens', () => {
  const g = tinyGolden();

  g.imageFiles.forEach((file, i) => {
    it(`${file}: pixel_values max abs ≤ 0.016, mean abs ≤ 0.002 vs golden`, async () => {
      const img = await decodeImage(referenceImage(file));
      const out = preprocess(img, { resolution: R });
      const e = absErr(out, g.pixelValues, i * PER, PER);
      expect(e.max, `max ${e.max}`).to.be.at.most(0.016);
      expect(e.mean, `mean ${e.mean}`).to.be.at.most(0.002);
    });
  });

  it('resized sizes and crop offsets equal the golden image_info (incl. round-half-even cases)', () => {
    for (const info of g.imageInfo) {
      const [w, h] = info.size_wh;
      expect(resizedSize(w, h, R), info.file).to.deep.equal(info.resized_wh);
      expect(cropOffsets(info.resized_wh[0], info.resized_wh[1], R), info.file).to.deep.equal([info.crop_top, info.crop_left]);
    }
  });

  it("fromRGBA on the RGBA image's raw pixels gives the same tensor as the decoded file (golden, max abs ≤ 0.016)", async () => {
    const i = g.imageInfo.findIndex((x) => x.mode === 'RGBA');
    const img = await decodeImage(referenceImage(g.imageFiles[i]));
    expect(img.mode).to.equal('RGBA');
    const out = fromRGBA(img.data, img.width, img.height, { resolution: R });
    expect(absErr(out, g.pixelValues, i * PER, PER).max).to.be.at.most(0.016);
  });

  it('mean/std options replace the CLIP constants; bad options are OptionsError', async () => {
    const img = await decodeImage(referenceImage(g.imageFiles[0]));
    const ref = preprocess(img, { resolution: R });
    const unit = preprocess(img, { resolution: R, mean: [0, 0, 0], std: [1, 1, 1] });
    // ToTensor alone is a multiple of 1/255 in [0,1]; the golden relation x = (v − mean)/std must hold.
    const v = unit[0] * 255;
    expect(Math.abs(v - Math.round(v))).to.be.below(1e-4);
    expect(Math.abs((unit[0] - 0.48145466) / 0.26862954 - ref[0])).to.be.below(1e-5);
    expect(() => preprocess(img, { resolution: 0 })).to.throw(OptionsError);
    expect(() => preprocess(img, { resolution: 64, std: [1, 0, 1] })).to.throw(OptionsError);
    expect(() => preprocess(img, { resolution: 64, foo: 1 } as never)).to.throw(OptionsError, /foo/);
  });
});
