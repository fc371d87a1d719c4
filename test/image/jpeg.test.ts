import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import { ImageDecodeError } from '../../src/errors';
import { decodeJpeg } from '../../src/image/jpeg';
import { absErr, IMG_FIXTURES, referenceImage, tinyGolden } from './fixtures';

describe('image/jpeg: libjpeg-turbo-exact decoding', () => {
  it('decodes the reference JPEG exactly as Pillow/libjpeg-turbo (jpeg_decoded_rgb, max abs error 0)', () => {
    const g = tinyGolden();
    const d = decodeJpeg(fs.readFileSync(referenceImage(g.jpegFile)), g.jpegFile);
    expect([d.width, d.height, d.channels]).to.deep.equal([120, 88, 3]);
    expect(absErr(d.data, g.jpegDecoded).max).to.equal(0);
  });

  const dir = path.join(IMG_FIXTURES, 'jpeg');
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.jpg'))) {
    it(`${f} (cjpeg) equals djpeg's output exactly (max abs error 0)`, () => {
      const d = decodeJpeg(fs.readFileSync(path.join(dir, f)), f);
      const ref = fs.readFileSync(path.join(dir, f.replace(/\.jpg$/, '.raw')));
      expect([d.width, d.height]).to.deep.equal([77, 53]);
      expect(d.data.length).to.equal(ref.length);
      expect(absErr(d.data, ref).max).to.equal(0);
    });
  }

  it('a JPEG cut in the middle of its scan is an ImageDecodeError naming the file ("truncated")', () => {
    const b = fs.readFileSync(path.join(dir, 'progressive-420.jpg'));
    for (const cut of [0.3, 0.6, 0.95]) {
      const t = b.subarray(0, Math.floor(b.length * cut));
      expect(() => decodeJpeg(t, 'cut.jpg')).to.throw(ImageDecodeError, /cut\.jpg: .*truncated/);
    }
  });

  it('corrupt entropy data decodes or fails with ImageDecodeError, never anything else', () => {
    const b = fs.readFileSync(path.join(dir, 'baseline-420.jpg'));
    let seed = 7;
    for (let trial = 0; trial < 40; trial++) {
      const c = Buffer.from(b);
      for (let k = 0; k < 8; k++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        c[600 + (seed % (c.length - 602))] = seed >>> 24;
      }
      try {
        const d = decodeJpeg(c, 'corrupt.jpg');
        expect(d.data.length).to.equal(77 * 53 * 3);
      } catch (e) {
        expect(e).to.be.instanceOf(ImageDecodeError);
      }
    }
  });
});
