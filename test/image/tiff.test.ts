import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as zlib from 'zlib';
import tiffPlugin from '@jimp/js-tiff';
import { ImageDecodeError } from '../../src/errors';
import { decodeBytes } from '../../src/image/decode';
import { readHeader } from '../../src/image/header';
import { MAX_TIFF_IFDS } from '../../src/image/tiff';
import { editEntry, findEntry, lzw, makeTiff, TiffPage } from './make-tiff';
import { noise } from './make';
import { HANG_CASES } from './tiff-hang-cases';

const page = (width: number, height: number, spp: 1 | 3 | 4, seed = 1, extra: Partial<TiffPage> = {}): TiffPage => ({
  width,
  height,
  spp,
  samples: noise(width * height * spp, seed),
  ...extra,
});

/** Expect an ImageDecodeError naming the file and matching `re`, raised in under `ms` milliseconds. */
function refused(b: Uint8Array, re: RegExp, ms = 50): void {
  const t0 = performance.now();
  let err: unknown;
  try {
    decodeBytes(b, 'bad.tif');
  } catch (e) {
    err = e;
  }
  const took = performance.now() - t0;
  expect(err, 'should throw').to.be.instanceOf(ImageDecodeError);
  expect((err as Error).message)
    .to.match(/^bad\.tif: /)
    .and.to.match(re);
  expect(took).to.be.below(ms);
}

describe('image/tiff: valid TIFFs decode to the exact samples', () => {
  it('8-bit grey (L), RGB, RGBA × none/LZW/Deflate/PackBits × II/MM × one strip/7-row strips/16×16 tiles', () => {
    const modes = { 1: 'L', 3: 'RGB', 4: 'RGBA' } as const;
    for (const spp of [1, 3, 4] as const) {
      for (const compression of [1, 5, 8, 32773] as const) {
        for (const le of [true, false]) {
          for (const layout of [{}, { rowsPerStrip: 7 }, { tile: 16 }]) {
            const p = page(37, 23, spp, spp + compression, { compression, ...layout });
            p.samples.fill(5, 50, 300); // runs, so PackBits and LZW have something to compress
            const what = JSON.stringify({ spp, compression, le, layout });
            const d = decodeBytes(makeTiff([p], { le }), 'ok.tif');
            expect(d.mode, what).to.equal(modes[spp]);
            expect([d.width, d.height], what).to.deep.equal([37, 23]);
            expect(Buffer.from(d.data).equals(Buffer.from(p.samples)), what).to.equal(true);
          }
        }
      }
    }
  });

  it('a last strip padded to RowsPerStrip rows (as some writers do) is accepted: LZW and PackBits decode exactly', () => {
    for (const compression of [5, 32773] as const) {
      const p = page(8, 8, 1, 4, { rowsPerStrip: 4, compression });
      const d = decodeBytes(editEntry(makeTiff([p]), 257, { value: 7 }), 'pad.tif');
      expect([d.width, d.height]).to.deep.equal([8, 7]);
      expect(Buffer.from(d.data).equals(Buffer.from(p.samples.subarray(0, 56))), String(compression)).to.equal(true);
    }
  });

  it("jimp's own encoder (big-endian RGBA, one uncompressed strip) → RGBA, same pixels", () => {
    const rgba = noise(9 * 7 * 4, 3);
    const d = decodeBytes(new Uint8Array(tiffPlugin().encode({ width: 9, height: 7, data: Buffer.from(rgba) } as never)), 'j.tif');
    expect(d.mode).to.equal('RGBA');
    expect(Buffer.from(d.data).equals(Buffer.from(rgba))).to.equal(true);
  });

  it('LZW through code widths 9–12 and clear codes (200×90 RGB noise, 54 KB)', () => {
    const p = page(200, 90, 3, 11, { compression: 5 });
    const d = decodeBytes(makeTiff([p]), 'lzw.tif');
    expect(Buffer.from(d.data).equals(Buffer.from(p.samples))).to.equal(true);
  });

  it('multi-page: header and pixels are those of the first page; the others are not decoded', () => {
    const first = page(5, 4, 3, 7),
      second = page(9, 9, 1, 8),
      third = page(2, 3, 4, 9, { compression: 99 as never });
    const b = makeTiff([first, second, third]);
    expect(readHeader(b, 'm.tif')).to.include({ format: 'tiff', width: 5, height: 4 });
    const d = decodeBytes(b, 'm.tif');
    expect([d.width, d.height, d.mode]).to.deep.equal([5, 4, 'RGB']);
    expect(Buffer.from(d.data).equals(Buffer.from(first.samples))).to.equal(true);
  });

  it(`${MAX_TIFF_IFDS} pages are accepted, ${MAX_TIFF_IFDS + 1} refused`, () => {
    const pages = (n: number) => Array.from({ length: n }, () => page(1, 1, 1));
    expect(decodeBytes(makeTiff(pages(MAX_TIFF_IFDS)), 'p.tif').width).to.equal(1);
    refused(makeTiff(pages(MAX_TIFF_IFDS + 1)), new RegExp(`more than ${MAX_TIFF_IFDS} IFDs`));
  });

  it('the tile path of utif2 prints nothing (it has a console.log left in)', () => {
    const log = console.log;
    let calls = 0;
    console.log = () => {
      calls++;
    };
    try {
      decodeBytes(makeTiff([page(40, 20, 3, 1, { tile: 16 })]), 't.tif');
    } finally {
      console.log = log;
    }
    expect(calls).to.equal(0);
  });
});

describe('image/tiff: malformed structure → ImageDecodeError before utif2 runs', () => {
  it('inputs on which utif2 alone hangs or overflows its stack: refused (or decoded) in < 100 ms each (child process, 60 s guard)', function () {
    this.timeout(90_000);
    const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'tiff-hang-cases.ts')], {
      cwd: path.join(__dirname, '../..'),
      timeout: 60_000,
      encoding: 'utf8',
    });
    expect(r.error, 'child process timed out: a TIFF decode hangs').to.equal(undefined);
    expect(r.status, r.stderr).to.equal(0);
    const results = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      name: string;
      error?: string;
      message?: string;
      decoded?: string;
      ms: number;
    }[];
    expect(results.map((x) => x.name)).to.deep.equal(HANG_CASES.map((c) => c.name));
    HANG_CASES.forEach((c, i) => {
      const res = results[i];
      if (c.decodes) expect(res.decoded, `${c.name}: ${res.message}`).to.equal('3×2 L');
      else
        expect([res.error, res.message], c.name).to.satisfy(([e, m]: string[]) => e === 'ImageDecodeError' && m.startsWith('hang.tif: '));
      expect(res.ms, c.name).to.be.below(100);
    });
    expect(results[0].message).to.match(/IFD chain loops back to offset/);
    expect(results[4].message).to.match(/LZW code 511 beyond the 258 table entries/);
  });

  it('an entry claiming 20,000,000 values (1 KB file) → refused in < 50 ms, naming the tag', () => {
    const b = Buffer.from(tiffPlugin().encode({ width: 9, height: 7, data: Buffer.alloc(9 * 7 * 4, 200) } as never));
    refused(
      editEntry(b, 282, { count: 20_000_000 }),
      /TIFF tag 282 claims 20000000 values \(160000000 bytes\) at offset \d+, past the end of the file/,
    );
    refused(
      editEntry(makeTiff([page(4, 4, 1, 1, { rowsPerStrip: 1 })]), 273, { count: 0x40000000 }),
      /TIFF tag 273 claims 1073741824 values/,
    );
  });

  it('in-file entries whose values add up beyond 16 MiB are refused (utif2 copies them value by value)', () => {
    const big = 3 * 1024 * 1024; // SHORTs: 6 MiB each, all three over the same bytes at the end of the file
    const small = makeTiff([
      page(2, 2, 1, 1, { fields: [60001, 60002, 60003].map((tag) => ({ tag, type: 3 as const, values: [0, 0, 0] })) }),
    ]);
    const b2 = Buffer.concat([small, Buffer.alloc(2 * big)]);
    for (const tag of [60001, 60002, 60003]) editEntry(b2, tag, { count: big, value: small.length });
    refused(b2, /TIFF IFD values exceed 16777216 bytes \(at tag 60003\)/);
  });

  it('first IFD offset outside the file, IFD table cut off', () => {
    const b = makeTiff([page(3, 2, 1)]);
    const far = Buffer.from(b);
    far.writeUInt32LE(b.length + 10, 4);
    refused(far, /first TIFF IFD offset \d+ lies outside the file/);
    const { ifd } = findEntry(b, 256);
    refused(b.subarray(0, ifd + 20), /first TIFF IFD at offset \d+ \(\d+ entries\) runs past the end of the file/);
  });

  it('strip offsets or byte counts past the end of the file; a truncated uncompressed strip', () => {
    const one = makeTiff([page(8, 8, 3)]);
    refused(
      editEntry(Buffer.from(one), 273, { value: one.length - 10 }),
      /TIFF strip 0 \(bytes \d+\.\.\d+\) lies past the end of the file/,
    );
    const many = makeTiff([page(8, 8, 1, 1, { rowsPerStrip: 2, compression: 8 })]);
    const { entry } = findEntry(many, 279);
    const counts = many.readUInt32LE(entry + 8);
    const b = Buffer.from(many);
    b.writeUInt32LE(0x7fffffff, counts + 8);
    refused(b, /TIFF strip 2 \(bytes \d+\.\.\d+\) lies past the end of the file/);
    const short = makeTiff([page(8, 8, 1, 1, { rowsPerStrip: 4 })]);
    const c = findEntry(short, 279).entry;
    const s2 = Buffer.from(short);
    s2.writeUInt32LE(short.readUInt32LE(short.readUInt32LE(c + 8)) - 1, short.readUInt32LE(c + 8));
    refused(s2, /truncated TIFF: strip 0 has 31 bytes, needs 32/);
  });

  it('tile offsets past the end of the file', () => {
    const b = makeTiff([page(20, 20, 1, 1, { tile: 16 })]);
    const { entry } = findEntry(b, 324);
    const offs = b.readUInt32LE(entry + 8);
    b.writeUInt32LE(b.length, offs + 4);
    refused(b, /TIFF tile 1 \(bytes \d+\.\.\d+\) lies past the end of the file/);
  });

  it('strips sharing their bytes (more data claimed than the file holds), wrong strip count', () => {
    const b = makeTiff([page(64, 64, 1, 1, { rowsPerStrip: 8, compression: 8 })]);
    const { entry } = findEntry(b, 279);
    const offs = b.readUInt32LE(findEntry(b, 273).entry + 8),
      cnts = b.readUInt32LE(entry + 8);
    for (let i = 0; i < 8; i++) {
      b.writeUInt32LE(8, offs + 4 * i);
      b.writeUInt32LE(b.length - 8, cnts + 4 * i);
    }
    refused(b, /TIFF strips claim \d+ bytes in total, more than the file's \d+/);
    refused(editEntry(makeTiff([page(8, 8, 1, 1, { rowsPerStrip: 2 })]), 278, { value: 1 }), /TIFF has 4 strips, needs 8/);
  });

  it('compressed strips that decode to more than the strip holds (8 MiB Deflate bomb, 1 MiB LZW, PackBits)', () => {
    const bomb = (data: Uint8Array, compression: number) =>
      makeTiff([
        {
          width: data.length,
          height: 1,
          samples: data,
          spp: 1,
          fields: [
            { tag: 259, type: 3, values: [compression] },
            { tag: 256, type: 4, values: [16] },
          ],
        },
      ]);
    refused(bomb(zlib.deflateSync(Buffer.alloc(8 << 20)), 8), /corrupt TIFF strip 0: Deflate data inflates to more than 16 bytes/);
    refused(bomb(lzw(new Uint8Array(1 << 20)), 5), /corrupt TIFF strip 0: LZW data decodes to more than 4128 bytes/);
    refused(
      bomb(
        Uint8Array.from({ length: 200 }, (_, i) => (i % 2 ? 0 : 0x81)),
        32773,
      ),
      /PackBits data decodes to more than 144 bytes/,
    );
  });

  it('unsupported compression, planar configuration, photometric interpretation, sample sizes: named', () => {
    const with_ = (tag: number, type: 3 | 4, values: number[]) => makeTiff([page(4, 4, 3, 1, { fields: [{ tag, type, values }] })]);
    refused(with_(259, 3, [7]), /unsupported TIFF compression 7/);
    refused(with_(284, 3, [2]), /unsupported TIFF PlanarConfiguration 2/);
    refused(with_(262, 3, [5]), /unsupported TIFF PhotometricInterpretation 5/);
    refused(with_(258, 3, [8, 16, 8]), /unsupported TIFF BitsPerSample 8,16,8/);
    refused(with_(258, 3, [64, 64, 64]), /unsupported TIFF BitsPerSample 64/);
    refused(with_(322, 3, [4096]), /TIFF has no TileLength tag/);
  });
});
