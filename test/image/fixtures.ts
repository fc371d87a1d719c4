/** Access to the vendored image fixtures (test/fixtures/images, built by make-fixtures.ts). */
import * as fs from 'fs';
import { fixturePath } from '../helpers/paths';

export interface TinyGolden {
  imageFiles: string[];
  imageInfo: { file: string; mode: string; size_wh: number[]; resized_wh: number[]; crop_top: number; crop_left: number }[];
  jpegFile: string;
  /** [8,3,64,64] */
  pixelValues: Float32Array;
  /** [88,120,3] as decoded by Pillow/libjpeg-turbo */
  jpegDecoded: Uint8Array;
}

export const IMG_FIXTURES = fixturePath('images');

export function tinyGolden(): TinyGolden {
  const meta = JSON.parse(fs.readFileSync(fixturePath('images', 'golden-tiny.json'), 'utf8'));
  const f32 = fs.readFileSync(fixturePath('images', 'golden-tiny-pixel_values.f32'));
  return {
    imageFiles: meta.image_files,
    imageInfo: meta.image_info,
    jpegFile: meta.jpeg_file,
    pixelValues: new Float32Array(f32.buffer.slice(f32.byteOffset, f32.byteOffset + f32.byteLength)),
    jpegDecoded: new Uint8Array(fs.readFileSync(fixturePath('images', 'golden-tiny-jpeg.u8'))),
  };
}

export function referenceImage(file: string): string {
  return fixturePath('images', 'reference', file);
}

/** max and mean |a − b|. */
export function absErr(a: ArrayLike<number>, b: ArrayLike<number>, offB = 0, n = a.length): { max: number; mean: number } {
  let max = 0,
    sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.abs(a[i] - b[offB + i]);
    if (!(e <= max)) max = e;
    sum += e;
  }
  return { max, mean: sum / n };
}
