/**
 * Issue 15 regressions for images: inputs inside the pixel limits that used to exhaust memory or time, FIFOs
 * that hung, and decoder warnings on stdout. Each ends in a typed error under the 10 s mocha timeout.
 */
import gifPlugin from '@jimp/js-gif';
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { ImageDecodeError, isTypedError, LimitError } from '../../src/errors';
import { decodeBytes, decodeImage } from '../../src/image/decode';
import { decodeJpeg, MAX_JPEG_PASSES } from '../../src/image/jpeg';
import { fixturePath } from '../helpers/paths';
import { chunk, noise } from './make';

const elapsed = async <T>(fn: () => Promise<T> | T): Promise<number> => {
  const t = Date.now();
  try {
    await fn();
  } catch {
    /* timed only */
  }
  return Date.now() - t;
};

describe('image: bounded work for hostile files (issue 15)', function () {
  this.timeout(10_000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-img-attacks-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a 1 × 90,000,000 PNG (inside maxImagePixels) → LimitError naming maxImageSide from the header, < 100 ms', async () => {
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(1, 0);
    ihdr.writeUInt32BE(90_000_000, 4);
    ihdr[8] = 8;
    ihdr[9] = 0;
    // 64 Ki rows of real data are enough: the header must be refused before any row is inflated.
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', zlib.deflateSync(Buffer.alloc(2 * 65_536))),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    const f = path.join(tmp, 'tall.png');
    fs.writeFileSync(f, png);
    const ms = await elapsed(async () => {
      let err: unknown;
      try {
        await decodeImage(f);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(LimitError);
      expect((err as Error).message).to.match(/1×90000000, a side longer than maxImageSide=65535/);
    });
    expect(ms).to.be.below(100);
  });

  it(`a progressive JPEG with 8,000 extra scans (≈ 100 KB) → LimitError after ${MAX_JPEG_PASSES} passes, < 2 s; the original decodes`, () => {
    const b = fs.readFileSync(fixturePath('images', 'jpeg', 'progressive-420.jpg'));
    const sos = b.indexOf(Buffer.from([0xff, 0xda]));
    let end = sos + 2 + b.readUInt16BE(sos + 2);
    while (!(b[end] === 0xff && b[end + 1] !== 0 && !(b[end + 1] >= 0xd0 && b[end + 1] <= 0xd7))) end++;
    const scan = b.subarray(sos, end); // the first (DC) scan with its entropy data
    const bomb = Buffer.concat([b.subarray(0, end), ...Array.from({ length: 8000 }, () => scan), b.subarray(end)]);
    expect(decodeJpeg(b, 'ok.jpg').width).to.equal(77);
    const t = Date.now();
    expect(() => decodeJpeg(bomb, 'scans.jpg')).to.throw(
      LimitError,
      /scans\.jpg: JPEG scans would decode the image more than 64 times over/,
    );
    expect(Date.now() - t).to.be.below(2000);
  });

  it('a FIFO or a device as an image path → ImageDecodeError at once (no hang)', async () => {
    const fifo = path.join(tmp, 'pipe.png');
    execFileSync('mkfifo', [fifo]);
    for (const [p, re] of [
      [fifo, /FIFO/],
      ['/dev/zero', /device/],
      [tmp, /folder/],
    ] as const) {
      let err: unknown;
      const ms = await elapsed(async () => {
        try {
          await decodeImage(p);
        } catch (e) {
          err = e;
          throw e;
        }
      });
      expect(err, p).to.be.instanceOf(ImageDecodeError);
      expect((err as Error).message, p).to.match(re);
      expect(ms, p).to.be.below(1000);
    }
  });

  it('truncated GIFs never write to stdout; each cut decodes or is a typed error', async () => {
    const w = 64,
      h = 64;
    const rgba = Buffer.from(noise(w * h * 4, 7));
    for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
    const gif = Buffer.from(await gifPlugin().encode({ width: w, height: h, data: rgba } as never));
    const write = process.stdout.write.bind(process.stdout);
    const log = console.log;
    let printed = '';
    process.stdout.write = ((s: string) => {
      printed += s;
      return true;
    }) as typeof process.stdout.write;
    let truncatedErrors = 0;
    try {
      for (let cut = 40; cut < gif.length; cut += Math.ceil(gif.length / 40)) {
        try {
          decodeBytes(gif.subarray(0, cut), 'cut.gif');
        } catch (e) {
          expect(isTypedError(e), String(e)).to.equal(true);
          if (/truncated/.test((e as Error).message)) truncatedErrors++;
        }
      }
    } finally {
      process.stdout.write = write;
      console.log = log;
    }
    expect(printed).to.equal('');
    expect(truncatedErrors).to.be.greaterThan(0);
  });
});
