/** EXIF orientation (1–8) applied as PIL's ImageOps.exif_transpose does (flips and 90° rotations). */
import { Raster } from './resize';

export function applyOrientation(src: Raster, orientation: number): Raster {
  const { width: w, height: h, channels: ch, data: s } = src;
  const swap = orientation >= 5;
  const ow = swap ? h : w,
    oh = swap ? w : h;
  const out = new Uint8Array(s.length);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      // Source pixel (sx, sy) shown at (x, y) after the transform.
      let sx: number, sy: number;
      switch (orientation) {
        case 2:
          sx = w - 1 - x;
          sy = y;
          break; // mirror horizontal
        case 3:
          sx = w - 1 - x;
          sy = h - 1 - y;
          break; // rotate 180
        case 4:
          sx = x;
          sy = h - 1 - y;
          break; // mirror vertical
        case 5:
          sx = y;
          sy = x;
          break; // transpose
        case 6:
          sx = y;
          sy = h - 1 - x;
          break; // rotate 90 clockwise
        case 7:
          sx = w - 1 - y;
          sy = h - 1 - x;
          break; // transverse
        case 8:
          sx = w - 1 - y;
          sy = x;
          break; // rotate 90 counter-clockwise
        default:
          sx = x;
          sy = y;
      }
      const p = (sy * w + sx) * ch,
        o = (y * ow + x) * ch;
      for (let c = 0; c < ch; c++) out[o + c] = s[p + c];
    }
  }
  return { width: ow, height: oh, channels: ch, data: out };
}
