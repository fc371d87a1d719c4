/**
 * Preprocessing throughput on real files: 640×480 JPEG and PNG images written by the benchmark itself (smooth
 * gradients plus noise, so the codecs do real work), loaded through the public `loadImages`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Jimp } from 'jimp';
import { loadImages } from '../image/loader';
import { measure, MeasureOptions, Timing } from './stats';

export const BENCH_IMAGE_WIDTH = 640;
export const BENCH_IMAGE_HEIGHT = 480;

export interface PreprocessResult extends Timing {
  format: 'jpeg' | 'png';
  images: number;
  fileBytes: number;
  msPerImage: number;
  imagesPerSecond: number;
}

/** Write `count` images of the format into `dir`; returns their paths. */
export async function writeBenchImages(
  dir: string,
  count: number,
  format: 'jpeg' | 'png',
  w = BENCH_IMAGE_WIDTH,
  h = BENCH_IMAGE_HEIGHT,
): Promise<string[]> {
  const out: string[] = [];
  let seed = 99;
  for (let k = 0; k < count; k++) {
    const img = new Jimp({ width: w, height: h, color: 0x000000ff });
    const d = img.bitmap.data;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        seed = (seed * 1664525 + 1013904223) >>> 0;
        const noise = (seed >>> 27) - 16;
        const i = (y * w + x) * 4;
        d[i] = Math.max(0, Math.min(255, ((x * 255) / w + k * 40 + noise) & 255));
        d[i + 1] = Math.max(0, Math.min(255, (y * 255) / h + noise));
        d[i + 2] = Math.max(0, Math.min(255, 128 + 100 * Math.sin((x + y + k * 13) / 37) + noise));
      }
    }
    const file = path.join(dir, `bench-${k}.${format === 'jpeg' ? 'jpg' : 'png'}`);
    const bytes = format === 'jpeg' ? await img.getBuffer('image/jpeg', { quality: 90 }) : await img.getBuffer('image/png');
    fs.writeFileSync(file, bytes);
    out.push(file);
  }
  return out;
}

/** ms per image to read, decode, resize/crop and normalise `count` files to [n,3,R,R]. */
export async function benchPreprocess(
  format: 'jpeg' | 'png',
  count: number,
  resolution: number,
  opts: MeasureOptions,
): Promise<PreprocessResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-clip-bench-'));
  try {
    const files = await writeBenchImages(dir, count, format);
    const fileBytes = files.reduce((s, f) => s + fs.statSync(f).size, 0);
    const t = await measure(async () => {
      const r = await loadImages(files, { resolution });
      r.pixels.dispose();
    }, opts);
    return { ...t, format, images: count, fileBytes, msPerImage: t.medianMs / count, imagesPerSecond: (count * 1000) / t.medianMs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
