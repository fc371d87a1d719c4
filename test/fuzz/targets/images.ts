/**
 * Image decoding under mutation: PNG/JPEG/GIF/BMP/TIFF seeds (built with jimp's encoders and our PNG writer,
 * plus the vendored JPEG fixtures: baseline, progressive, restart intervals, grey), mutated with generic byte
 * edits aimed at each format's length and dimension fields; and `loadImages` with random options on mixed
 * good and broken inputs (a tensor-making call).
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import bmpPlugin from '@jimp/js-bmp';
import gifPlugin from '@jimp/js-gif';
import pngPlugin from '@jimp/js-png';
import tiffPlugin from '@jimp/js-tiff';
import { Jimp } from 'jimp';
import { decodeBytes } from '../../../src/image/decode';
import { loadImages } from '../../../src/image/loader';
import { preprocess } from '../../../src/image/preprocess';
import { fixturePath } from '../../helpers/paths';
import { chunk, makePng, noise } from '../../image/make';
import type { Target } from '../harness';
import { INTERESTING_VALUES, mutateBytes, Rng, showValue } from '../mutate';

interface Seed {
  format: string;
  bytes: Uint8Array;
  hot: number[];
}

function rgba(w: number, h: number, seed: number): Buffer {
  const n = noise(w * h * 4, seed);
  for (let i = 3; i < n.length; i += 4) n[i] = i % 7 === 0 ? 0 : 255;
  return Buffer.from(n);
}

function pngHot(b: Uint8Array): number[] {
  const hot = [16, 20, 24, 25, 26, 27, 28];
  for (let o = 8; o + 8 <= b.length;) {
    const len = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    hot.push(o, o + 3, o + 4);
    o += 12 + len;
  }
  return hot;
}

function jpegHot(b: Uint8Array): number[] {
  const hot: number[] = [];
  for (let o = 2; o + 4 <= b.length;) {
    if (b[o] !== 0xff) break;
    const m = b[o + 1];
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7)) {
      o += 2;
      continue;
    }
    const len = (b[o + 2] << 8) | b[o + 3];
    hot.push(o + 1, o + 2, o + 3);
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      for (let k = 4; k < Math.min(len + 2, 20); k++) hot.push(o + k); // precision, H, W, components, sampling, tables
    } else if (m === 0xc4 || m === 0xdb || m === 0xdd || m === 0xda) {
      for (let k = 4; k < Math.min(len + 2, 24); k++) hot.push(o + k);
    }
    if (m === 0xda) break;
    o += 2 + len;
  }
  return hot;
}

async function buildSeeds(): Promise<Seed[]> {
  const seeds: Seed[] = [];
  const add = (format: string, bytes: Uint8Array, hot: number[]) => seeds.push({ format, bytes: new Uint8Array(bytes), hot });
  const w = 9,
    h = 7;
  const img = rgba(w, h, 3);
  add('png', await pngPlugin().encode({ width: w, height: h, data: img } as never), []);
  add('png', makePng(5, 3, 1, 0, [Uint8Array.of(0xa0), Uint8Array.of(0x50), Uint8Array.of(0xff)]), []);
  add(
    'png',
    makePng(
      3,
      2,
      8,
      3,
      [Uint8Array.of(0, 1, 2), Uint8Array.of(2, 1, 0)],
      [chunk('PLTE', Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255)), chunk('tRNS', Uint8Array.of(255, 0))],
    ),
    [],
  );
  add('png', makePng(2, 2, 16, 6, [noise(16, 5), noise(16, 6)]), []);
  add('png', makePng(4, 3, 8, 0, [noise(4, 1), noise(4, 2), noise(4, 3)], [chunk('tRNS', Uint8Array.of(0, 7))]), []);
  add('jpeg', await new Jimp({ width: 17, height: 11, data: rgba(17, 11, 4) }).getBuffer('image/jpeg', { quality: 80 }), []);
  add('gif', await gifPlugin().encode({ width: w, height: h, data: img } as never), [6, 7, 8, 9, 10, 11, 12]);
  add('bmp', bmpPlugin().encode({ width: w, height: h, data: img } as never), [2, 10, 14, 18, 22, 26, 28, 30, 34, 46, 50]);
  add('tiff', tiffPlugin().encode({ width: w, height: h, data: img } as never), [2, 4, 5, 6, 7, 8, 9]);
  const jpegDir = fixturePath('images', 'jpeg');
  if (fs.existsSync(jpegDir)) {
    for (const f of fs
      .readdirSync(jpegDir)
      .filter((x) => x.endsWith('.jpg'))
      .sort())
      add('jpeg', fs.readFileSync(`${jpegDir}/${f}`), []);
  }
  for (const s of seeds) {
    if (s.format === 'png') s.hot = pngHot(s.bytes);
    if (s.format === 'jpeg') s.hot = jpegHot(s.bytes);
    if (s.format === 'tiff') {
      const ifd = s.bytes[0] === 0x49 ? new DataView(s.bytes.buffer).getUint32(4, true) : new DataView(s.bytes.buffer).getUint32(4, false);
      for (let k = 0; k < 14 * 12 && ifd + k < s.bytes.length; k += 2) s.hot.push(ifd + k);
    }
  }
  return seeds;
}

const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** Recompute every PNG chunk CRC (so mutations reach the decoder past the checksum check). */
function fixPngCrcs(b: Uint8Array): void {
  for (let o = 8; o + 12 <= b.length;) {
    const len = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    if (o + 12 + len > b.length) return;
    let c = -1;
    for (let i = o + 4; i < o + 8 + len; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
    c = (c ^ -1) >>> 0;
    b[o + 8 + len] = c >>> 24;
    b[o + 9 + len] = (c >>> 16) & 0xff;
    b[o + 10 + len] = (c >>> 8) & 0xff;
    b[o + 11 + len] = c & 0xff;
    o += 12 + len;
  }
}

/** A PNG whose IDAT is a small zlib bomb for its declared size (interlaced or not). */
function pngBomb(r: Rng): Uint8Array {
  const w = 1 + r.int(900),
    h = 1 + r.int(900);
  const b = makePng(w, h, 8, 2, [new Uint8Array(0)]);
  const bomb = zlib.deflateSync(Buffer.alloc(1 + r.int(4_000_000)));
  const ihdr = b.subarray(0, 33);
  if (r.chance(0.5)) ihdr[28] = 1;
  const out = Buffer.concat([ihdr, chunk('IDAT', bomb), chunk('IEND', Buffer.alloc(0))]);
  fixPngCrcs(out);
  return out;
}

function mutateImage(r: Rng, seeds: Seed[]): Uint8Array {
  if (r.chance(0.02)) return pngBomb(r);
  const s = r.pick(seeds);
  const sameFormat = seeds.filter((x) => x.format === s.format);
  const b = mutateBytes(r, s.bytes, r.pick(r.chance(0.7) ? sameFormat : seeds).bytes, s.hot);
  if (s.format === 'png' && r.chance(0.7)) fixPngCrcs(b);
  return b;
}

export function checkDecoded(img: { width: number; height: number; channels: number; data: Uint8Array; mode: string }): string | null {
  if (!(Number.isInteger(img.width) && img.width >= 1 && Number.isInteger(img.height) && img.height >= 1))
    return `size ${img.width}×${img.height}`;
  if (img.data.length !== img.width * img.height * img.channels)
    return `${img.data.length} bytes for ${img.width}×${img.height}×${img.channels}`;
  return null;
}

export const imageDecode: Target<Uint8Array, Seed[]> = {
  name: 'image-decode',
  setup: buildSeeds,
  generate: (r, seeds) => mutateImage(r, seeds),
  run(bytes) {
    const img = decodeBytes(bytes, '<fuzz>', { applyExif: bytes.length % 2 === 0 });
    const px = preprocess(img, { resolution: 8 });
    return { img, px };
  },
  check(res) {
    const { img, px } = res as { img: Parameters<typeof checkDecoded>[0]; px: Float32Array };
    if (px.length !== 3 * 8 * 8) return `preprocess gave ${px.length} values`;
    for (const v of px) if (!Number.isFinite(v)) return 'preprocess gave a non-finite value';
    return checkDecoded(img);
  },
  describe: (b) => `${b.length} bytes: ${Buffer.from(b.subarray(0, 64)).toString('hex')}`,
};

interface LoadCase {
  inputs: (Uint8Array | string | unknown)[];
  options: Record<string, unknown>;
}

export const imageLoad: Target<LoadCase, Seed[]> = {
  name: 'image-load',
  weight: 0.5,
  setup: buildSeeds,
  generate(r, seeds) {
    const n = r.int(4);
    const inputs: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const k = r.int(10);
      inputs.push(
        k < 4
          ? r.pick(seeds).bytes
          : k < 8
            ? mutateImage(r, seeds)
            : k === 8
              ? r.pick(['/nonexistent/x.png', '/', '', '/dev/null'])
              : r.pick(INTERESTING_VALUES),
      );
    }
    const options: Record<string, unknown> = { resolution: r.chance(0.85) ? 1 + r.int(24) : r.pick(INTERESTING_VALUES) };
    if (r.chance(0.5)) options.onError = r.chance(0.8) ? r.pick(['throw', 'skip']) : r.pick(INTERESTING_VALUES);
    if (r.chance(0.3)) options.concurrency = r.chance(0.7) ? 1 + r.int(4) : r.pick(INTERESTING_VALUES);
    if (r.chance(0.2)) options.mean = r.chance(0.5) ? [r(), r(), r()] : r.pick(INTERESTING_VALUES);
    if (r.chance(0.2)) options.std = r.chance(0.5) ? [r() + 0.1, r() + 0.1, r() + 0.1] : r.pick(INTERESTING_VALUES);
    if (r.chance(0.1)) options.applyExif = r.pick(INTERESTING_VALUES);
    if (r.chance(0.05)) options[r.pick(['resize', 'x', '__proto__'])] = 1;
    if (r.chance(0.03)) return { inputs: r.pick(INTERESTING_VALUES) as never, options };
    return { inputs, options };
  },
  async run(c) {
    const out = await loadImages(c.inputs as never, c.options as never);
    const shape = out.pixels.shape.slice();
    const finite = (await out.pixels.data()).every((v) => Number.isFinite(v));
    out.pixels.dispose();
    return { shape, ok: out.ok, errors: out.errors.length, n: (c.inputs as unknown[]).length, R: c.options.resolution, finite };
  },
  check(res) {
    const o = res as { shape: number[]; ok: number[]; errors: number; n: number; R: number; finite: boolean };
    if (o.shape.join() !== [o.ok.length, 3, o.R, o.R].join()) return `pixels [${o.shape}] for ${o.ok.length} images at R=${o.R}`;
    if (o.ok.length + o.errors !== o.n) return `${o.ok.length} ok + ${o.errors} errors ≠ ${o.n} inputs`;
    if (!o.finite) return 'non-finite pixel values';
    return null;
  },
  describe: (c) => showValue(c),
};
