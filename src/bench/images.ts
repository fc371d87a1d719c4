/**
 * Throughput of the image pipeline (decode + resize + crop + normalise) on synthetic 640×480 JPEGs, for
 * `abe-clip bench`. The JPEGs come from jimp's encoder (baseline, 4:4:4 chroma), which decodes somewhat
 * slower than the 4:2:0 files cameras write, so the figure is conservative.
 */
import { Jimp } from 'jimp';
import { loadImages } from '../image/loader';

export interface ImageBenchOptions {
  images?: number;
  width?: number;
  height?: number;
  resolution?: number;
  quality?: number;
}
export interface ImageBenchResult {
  images: number;
  seconds: number;
  imagesPerSecond: number;
  msPerImage: number;
  jpegBytes: number;
}

/** A smooth synthetic photo-like picture with edges (so the entropy coder has real work). */
export async function syntheticJpeg(width: number, height: number, quality: number, seed = 0): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      const disc = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (height / 3) ** 2;
      data[p] = (x * 255) / width + 20 * Math.sin((x + seed) / 3.7);
      data[p + 1] = disc ? 200 : (y * 255) / height;
      data[p + 2] = 128 + 100 * Math.sin((x * y + seed) / 500);
      data[p + 3] = 255;
    }
  }
  const img = new Jimp({ width, height, data });
  return img.getBuffer('image/jpeg', { quality });
}

export async function measurePreprocessThroughput(opts: ImageBenchOptions = {}): Promise<ImageBenchResult> {
  const { images = 32, width = 640, height = 480, resolution = 224, quality = 90 } = opts;
  const files = await Promise.all([0, 1, 2, 3].map((s) => syntheticJpeg(width, height, quality, s)));
  const inputs = Array.from({ length: images }, (_, i) => files[i % files.length]);
  // Warm up the JIT and the coefficient caches, as a long batch run would be.
  (await loadImages(inputs.slice(0, 4), { resolution })).pixels.dispose();
  const t0 = process.hrtime.bigint();
  const { pixels } = await loadImages(inputs, { resolution });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  pixels.dispose();
  return { images, seconds, imagesPerSecond: images / seconds, msPerImage: (seconds * 1000) / images, jpegBytes: files[0].length };
}
