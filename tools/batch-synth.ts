/**
 * Synthetic toy-shapes-like images for the batch tests and measurements: N 64×64 PNGs with two coloured
 * shapes each, a pairs CSV (each image with its true caption and the attribute-swapped one), a captions file
 * and an image list. Deterministic in (n, seed).
 *
 *   npx ts-node --transpile-only tools/batch-synth.ts OUT_DIR N [SEED]
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

const COLORS: Record<string, [number, number, number]> = {
  red: [220, 30, 30],
  green: [30, 180, 40],
  blue: [40, 60, 220],
  yellow: [230, 220, 30],
  orange: [240, 140, 20],
  cyan: [30, 210, 220],
  white: [245, 245, 245],
  purple: [140, 40, 180],
};
const SHAPES = ['square', 'circle', 'triangle', 'star'];

const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(b: Buffer): number {
  let c = -1;
  for (const x of b) c = CRC[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
/** RGB8 → PNG bytes. */
export function encodePng(rgb: Uint8Array, w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) Buffer.from(rgb.buffer, rgb.byteOffset + y * w * 3, w * 3).copy(raw, y * (w * 3 + 1) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

function inside(shape: string, dx: number, dy: number, r: number): boolean {
  if (shape === 'square') return Math.abs(dx) <= r && Math.abs(dy) <= r;
  if (shape === 'circle') return dx * dx + dy * dy <= r * r;
  if (shape === 'triangle') return dy <= r && dy >= -r && Math.abs(dx) <= (dy + r) / 2;
  const a = Math.atan2(dy, dx),
    d = Math.hypot(dx, dy);
  return d <= r * (0.55 + 0.45 * Math.abs(Math.cos(2.5 * a)));
}

export interface Synthetic {
  dir: string;
  images: string[];
  pairsCsv: string;
  textsFile: string;
  listFile: string;
  captions: string[];
}

export function makeSynthetic(dir: string, n: number, seed = 1): Synthetic {
  const imgDir = path.join(dir, 'images');
  fs.mkdirSync(imgDir, { recursive: true });
  const r = rng(seed);
  const colorNames = Object.keys(COLORS);
  const images: string[] = [];
  const pairs: string[] = ['id,image,caption'];
  const captions = new Set<string>();
  for (let i = 0; i < n; i++) {
    const c1 = colorNames[Math.floor(r() * colorNames.length)];
    let c2 = colorNames[Math.floor(r() * colorNames.length)];
    if (c2 === c1) c2 = colorNames[(colorNames.indexOf(c1) + 1) % colorNames.length];
    const s1 = SHAPES[Math.floor(r() * SHAPES.length)];
    let s2 = SHAPES[Math.floor(r() * SHAPES.length)];
    if (s2 === s1) s2 = SHAPES[(SHAPES.indexOf(s1) + 1) % SHAPES.length];
    const W = 64,
      rgb = new Uint8Array(W * W * 3).fill(20);
    const objs = [
      { s: s1, c: COLORS[c1], x: 18 + r() * 6, y: 20 + r() * 24 },
      { s: s2, c: COLORS[c2], x: 42 + r() * 6, y: 20 + r() * 24 },
    ];
    for (const o of objs) {
      for (let y = 0; y < W; y++)
        for (let x = 0; x < W; x++) {
          if (inside(o.s, x - o.x, y - o.y, 10)) rgb.set(o.c, (y * W + x) * 3);
        }
    }
    const name = `img_${String(i).padStart(6, '0')}.png`;
    const sub = path.join(imgDir, String(Math.floor(i / 1000)).padStart(3, '0'));
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, name), encodePng(rgb, W, W));
    const rel = path.join('images', path.basename(sub), name);
    images.push(path.join(dir, rel));
    const pos = `a ${c1} ${s1} and a ${c2} ${s2}`,
      neg = `a ${c2} ${s1} and a ${c1} ${s2}`;
    pairs.push(`${i}-pos,${rel},${pos}`, `${i}-neg,${rel},"${neg}"`);
    captions.add(pos);
    captions.add(neg);
  }
  const pairsCsv = path.join(dir, 'pairs.csv');
  fs.writeFileSync(pairsCsv, pairs.join('\n') + '\n');
  const textsFile = path.join(dir, 'captions.txt');
  const caps = [...captions].slice(0, 16);
  fs.writeFileSync(textsFile, caps.join('\n') + '\n');
  const listFile = path.join(dir, 'images.txt');
  fs.writeFileSync(listFile, images.map((p) => path.relative(dir, p)).join('\n') + '\n');
  return { dir, images, pairsCsv, textsFile, listFile, captions: caps };
}

if (require.main === module) {
  const [out, n, seed] = process.argv.slice(2);
  if (!out || !n) {
    process.stderr.write('usage: batch-synth.ts OUT_DIR N [SEED]\n');
    process.exit(2);
  }
  const s = makeSynthetic(out, Number(n), seed ? Number(seed) : 1);
  process.stdout.write(`${s.images.length} images, ${s.images.length * 2} pairs → ${s.dir}\n`);
}
