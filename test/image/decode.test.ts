import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import bmpPlugin from '@jimp/js-bmp';
import gifPlugin from '@jimp/js-gif';
import tiffPlugin from '@jimp/js-tiff';
import { ImageDecodeError, LimitError } from '../../src/errors';
import { decodeBytes, decodeImage } from '../../src/image/decode';
import { readHeader } from '../../src/image/header';
import { preprocess } from '../../src/image/preprocess';
import { getLimits, setLimits } from '../../src/limits';
import { IMG_FIXTURES } from './fixtures';
import { chunk, makePng, noise, rgbPng } from './make';

let tmp = '';
const write = (name: string, b: Uint8Array) => {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, b);
  return p;
};
const jpegFixture = () => fs.readFileSync(path.join(IMG_FIXTURES, 'jpeg', 'baseline-420.jpg'));

describe('image/decode: formats and modes as Pillow opens them', () => {
  it('PNG grey 8-bit → mode L, one channel, same samples', () => {
    const rows = [Uint8Array.from([0, 100, 255]), Uint8Array.from([7, 8, 9])];
    const d = decodeBytes(makePng(3, 2, 8, 0, rows), 'g.png');
    expect(d.mode).to.equal('L');
    expect(Array.from(d.data)).to.deep.equal([0, 100, 255, 7, 8, 9]);
  });

  it('PNG 16-bit RGB keeps the high byte of each sample (Pillow rawmode RGB;16B), not v·255/65535', () => {
    const row = Uint8Array.from([0x80, 0xff, 0x00, 0xff, 0xff, 0xff]);
    const d = decodeBytes(makePng(1, 1, 16, 2, [row]), 'rgb16.png');
    expect(d.mode).to.equal('RGB');
    expect(Array.from(d.data)).to.deep.equal([0x80, 0x00, 0xff]);
  });

  it('PNG palette → mode P (expanded to RGB; resized with NEAREST); transparent entries keep their colour', () => {
    const plte = Buffer.from([10, 20, 30, 200, 100, 50]);
    const trns = Buffer.from([0]);
    const d = decodeBytes(makePng(2, 1, 8, 3, [Uint8Array.from([0, 1])], [chunk('PLTE', plte), chunk('tRNS', trns)]), 'p.png');
    expect(d.mode).to.equal('P');
    expect(Array.from(d.data)).to.deep.equal([10, 20, 30, 200, 100, 50]);
  });

  it('PNG RGB with a tRNS colour key keeps that colour (Pillow mode RGB ignores transparency)', () => {
    const trns = Buffer.from([0, 1, 0, 2, 0, 3]);
    const d = decodeBytes(makePng(2, 1, 8, 2, [Uint8Array.from([1, 2, 3, 9, 9, 9])], [chunk('tRNS', trns)]), 't.png');
    expect(d.mode).to.equal('RGB');
    expect(Array.from(d.data)).to.deep.equal([1, 2, 3, 9, 9, 9]);
  });

  it('PNG grey+alpha → mode LA (alpha kept for the premultiplied resize)', () => {
    const d = decodeBytes(makePng(1, 1, 8, 4, [Uint8Array.from([77, 128])]), 'la.png');
    expect(d.mode).to.equal('LA');
    expect(Array.from(d.data)).to.deep.equal([77, 128]);
  });

  it('GIF (first frame) → mode P with the palette colours; BMP 24-bit → RGB; TIFF RGBA → RGBA, same pixels', async () => {
    const w = 4,
      h = 3;
    const rgba = Buffer.alloc(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      rgba[i * 4] = i % 2 ? 255 : 0;
      rgba[i * 4 + 1] = 40;
      rgba[i * 4 + 2] = i < 6 ? 90 : 180;
      rgba[i * 4 + 3] = 255;
    }
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, j) => rgba[Math.floor(j / 3) * 4 + (j % 3)]);
    const gifBuf = await gifPlugin().encode({ width: w, height: h, data: Buffer.from(rgba) } as never);
    const g = decodeBytes(new Uint8Array(gifBuf), 'a.gif');
    expect([g.mode, g.width, g.height]).to.deep.equal(['P', w, h]);
    // jimp's GIF encoder quantises colours: the palette colours are what the file holds (within a few levels).
    g.data.forEach((v, j) => expect(Math.abs(v - rgb[j]), `sample ${j}`).to.be.at.most(3));
    const bmpBuf = bmpPlugin().encode({ width: w, height: h, data: Buffer.from(rgba) } as never);
    const b = decodeBytes(new Uint8Array(bmpBuf), 'a.bmp');
    expect([b.mode, b.width, b.height]).to.deep.equal(['RGB', w, h]);
    expect(Array.from(b.data)).to.deep.equal(Array.from(rgb));
    const tifBuf = tiffPlugin().encode({ width: w, height: h, data: Buffer.from(rgba) } as never);
    const t = decodeBytes(new Uint8Array(tifBuf), 'a.tif');
    expect([t.mode, t.width, t.height]).to.deep.equal(['RGBA', w, h]);
    expect(Array.from(t.data)).to.deep.equal(Array.from(rgba));
  });

  it('EXIF orientation is ignored by default and applied with applyExif (6 = rotate 90° clockwise)', () => {
    const j = jpegFixture();
    // APP1 "Exif\0\0" + little-endian TIFF with one IFD entry: Orientation (0x0112) = 6.
    const tiffBlock = Buffer.from([0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]);
    const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiffBlock]);
    const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 255]), payload]);
    const withExif = Buffer.concat([j.subarray(0, 2), app1, j.subarray(2)]);
    const plain = decodeBytes(withExif, 'e.jpg');
    expect([plain.width, plain.height]).to.deep.equal([77, 53]);
    expect(Buffer.from(plain.data).equals(Buffer.from(decodeBytes(j, 'j.jpg').data))).to.equal(true);
    const rot = decodeBytes(withExif, 'e.jpg', { applyExif: true });
    expect([rot.width, rot.height]).to.deep.equal([53, 77]);
    // Top-left after a clockwise turn is the original bottom-left pixel.
    const bl = 52 * 77 * 3;
    expect(Array.from(rot.data.subarray(0, 3))).to.deep.equal(Array.from(plain.data.subarray(bl, bl + 3)));
  });
});

describe('image/decode: bad input gives typed errors or correct tensors', () => {
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-img-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const expectDecodeError = async (input: string | Uint8Array, re: RegExp, label?: string) => {
    try {
      await decodeImage(input, {}, label);
    } catch (e) {
      expect(e).to.be.instanceOf(ImageDecodeError);
      expect((e as Error).message).to.match(re);
      return;
    }
    expect.fail('no error');
  };

  it('zero-byte file: ImageDecodeError naming the file', async () => {
    const p = write('empty.png', new Uint8Array(0));
    await expectDecodeError(p, new RegExp(`${p.replace(/[.]/g, '\\.')}: empty file`));
  });

  it('non-image (text) and unsupported formats (WebP, AVIF) name the problem', async () => {
    await expectDecodeError(write('notes.txt', Buffer.from('hello, this is not an image')), /not a recognised image/);
    const webp = Buffer.concat([Buffer.from('RIFF\x10\0\0\0WEBPVP8 ', 'latin1'), Buffer.alloc(16)]);
    await expectDecodeError(webp, /<buffer #3>: unsupported image format WebP/, '<buffer #3>');
    await expectDecodeError(Buffer.concat([Buffer.from([0, 0, 0, 0x1c]), Buffer.from('ftypavif', 'latin1'), Buffer.alloc(8)]), /AVIF/);
  });

  it('missing file: ImageDecodeError "cannot open"', async () => {
    await expectDecodeError(path.join(tmp, 'nope.png'), /cannot open: ENOENT/);
  });

  it('truncated PNG and JPEG files: ImageDecodeError', async () => {
    const png = rgbPng(40, 30, noise(40 * 30 * 3));
    for (const cut of [20, 40, png.length - 30]) await expectDecodeError(png.subarray(0, cut), /PNG/);
    const j = jpegFixture();
    for (const cut of [10, 200, j.length - 300]) await expectDecodeError(j.subarray(0, cut), /JPEG|truncated/);
  });

  it('corrupt PNG (damaged IDAT, bad CRC) and corrupt JPEG headers: ImageDecodeError', async () => {
    const png = Buffer.from(rgbPng(40, 30, noise(40 * 30 * 3)));
    png[png.length - 40] ^= 0xff;
    await expectDecodeError(png, /PNG/);
    const j = Buffer.from(jpegFixture());
    const sof = j.indexOf(Buffer.from([0xff, 0xc0]));
    j[sof + 4] = 12; // sample precision 12 bits
    await expectDecodeError(j, /precision/);
  });

  it('1×1 image → the constant tensor of its one pixel (correct values)', () => {
    const d = decodeBytes(rgbPng(1, 1, Uint8Array.from([255, 0, 128])), 'one.png');
    const out = preprocess(d, { resolution: 8 });
    const expected = [(1 - 0.48145466) / 0.26862954, (0 - 0.4578275) / 0.26130258, (128 / 255 - 0.40821073) / 0.27577711];
    for (let c = 0; c < 3; c++) for (let i = 0; i < 64; i++) expect(out[c * 64 + i]).to.be.closeTo(expected[c], 1e-6);
  });

  it('1×5000 image → a correct [3,R,R] tensor (each row constant: one source column), memory bounded', () => {
    const col = noise(5000 * 3, 5);
    const d = decodeBytes(rgbPng(1, 5000, col), 'thin.png');
    const R = 64;
    const out = preprocess(d, { resolution: R });
    expect(out.length).to.equal(3 * R * R);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < R; y++) {
        const row = out.subarray(c * R * R + y * R, c * R * R + (y + 1) * R);
        expect(Number.isFinite(row[0])).to.equal(true);
        for (const v of row) expect(v).to.equal(row[0]);
      }
    }
  });

  it('PNG declaring 50000×50000 (tiny file): LimitError from the header, nothing large allocated', async () => {
    const bomb = makePng(50000, 50000, 8, 2, [new Uint8Array(150000)]);
    expect(bomb.length).to.be.below(2000);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 5; i++) {
      try {
        await decodeImage(write('bomb.png', bomb));
        expect.fail('no error');
      } catch (e) {
        expect(e).to.be.instanceOf(LimitError);
        expect((e as Error).message).to.match(/bomb\.png: image is 50000×50000 = 2500000000 pixels, more than maxImagePixels=90000000/);
      }
    }
    expect(process.memoryUsage().rss - before).to.be.below(64 * 1024 * 1024);
  });

  it('JPEG declaring 50000×50000 (tiny file): LimitError from the header', async () => {
    const j = Buffer.from(jpegFixture());
    const sof = j.indexOf(Buffer.from([0xff, 0xc0]));
    j.writeUInt16BE(50000, sof + 5);
    j.writeUInt16BE(50000, sof + 7);
    try {
      await decodeImage(j, {}, '<buffer #0>');
      expect.fail('no error');
    } catch (e) {
      expect(e).to.be.instanceOf(LimitError);
      expect((e as Error).message).to.match(/^<buffer #0>: image is 50000×50000/);
    }
  });

  it('maxImageFileBytes: a file one byte over is refused from its size alone (LimitError, default 512 MiB); at the limit it decodes', async () => {
    expect(getLimits().maxImageFileBytes).to.equal(512 * 1024 * 1024);
    const png = rgbPng(20, 10, noise(600));
    const p = write('sized.png', png);
    const prev = setLimits({ maxImageFileBytes: png.length - 1 });
    try {
      await decodeImage(p);
      expect.fail('no error');
    } catch (e) {
      expect(e).to.be.instanceOf(LimitError);
      expect((e as Error).message).to.equal(
        `${p}: image file is ${png.length} bytes, more than maxImageFileBytes=${png.length - 1} (raise it with setLimits)`,
      );
    } finally {
      setLimits(prev);
    }
    setLimits({ maxImageFileBytes: png.length });
    try {
      expect((await decodeImage(p)).width).to.equal(20);
    } finally {
      setLimits(prev);
    }
  });

  it('the pixel limit is configurable (setLimits maxImagePixels) and checked on the header alone', () => {
    const prev = setLimits({ maxImagePixels: 1000 });
    try {
      expect(() => readHeader(rgbPng(40, 30, noise(3600)), 'x.png')).to.throw(LimitError, /1200 pixels, more than maxImagePixels=1000/);
      expect(readHeader(rgbPng(20, 30, noise(1800)), 'x.png')).to.include({ format: 'png', width: 20, height: 30 });
    } finally {
      setLimits(prev);
    }
  });
});
