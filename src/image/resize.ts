/**
 * Pillow's `Image.resize` for 8-bit images, reproduced integer for integer (Pillow 9.4,
 * libImaging/Resample.c and Geometry.c):
 * - BICUBIC (a = −0.5) is separable with its support widened by the scale factor when shrinking
 *   (antialiasing); coefficients are normalised per output pixel, converted to 22-bit fixed point, and
 *   each pass rounds and clamps to 8 bits. Horizontal pass first; a pass whose size is unchanged is skipped.
 * - Images with alpha are resized premultiplied (RGBA→RGBa, resize, RGBa→RGBA) with Pillow's integer
 *   formulas.
 * - NEAREST (what Pillow uses for palette and bilevel images whatever filter is asked for) samples at
 *   accumulated source positions exactly like ImagingScaleAffine.
 */

/** Interleaved 8-bit pixels; with 2 or 4 channels the last one is alpha. */
export interface Raster {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array;
}

const PRECISION_BITS = 32 - 8 - 2;
const ROUND = 1 << (PRECISION_BITS - 1);
const MAX_SS = 1 << (PRECISION_BITS + 8);

function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Fixed-point filter taps of one axis: output i reads `bounds[2i+1]` inputs from `bounds[2i]`. */
export interface AxisCoeffs {
  ksize: number;
  bounds: Int32Array;
  k: Int32Array;
}

const coeffCache = new Map<string, AxisCoeffs>();

/**
 * precompute_coeffs + normalize_coeffs_8bpc for the box [0, inSize), for outputs [from, to) only (a crop
 * never needs the others; the taps of one output do not depend on the rest). Cached: batches repeat sizes.
 */
export function bicubicCoeffs(inSize: number, outSize: number, from = 0, to = outSize): AxisCoeffs {
  const key = `${inSize}:${outSize}:${from}:${to}`;
  const hit = coeffCache.get(key);
  if (hit) return hit;
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const n = to - from;
  const bounds = new Int32Array(n * 2);
  const k = new Int32Array(n * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let i = 0; i < n; i++) {
    const center = (from + i + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const v = bicubic((x + xmin - center + 0.5) * ss);
      w[x] = v;
      ww += v;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      k[i * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[i * 2] = xmin;
    bounds[i * 2 + 1] = xmax;
  }
  const c = { ksize, bounds, k };
  if (coeffCache.size > 256) coeffCache.clear();
  coeffCache.set(key, c);
  return c;
}

function clip8(ss: number): number {
  if (ss >= MAX_SS) return 255;
  if (ss <= 0) return 0;
  return ss >> PRECISION_BITS;
}

/** Horizontal pass over source rows [y0, y1). */
function resampleH(src: Raster, outW: number, c: AxisCoeffs, y0: number, y1: number): Raster {
  const ch = src.channels,
    inW = src.width,
    s = src.data;
  const rows = y1 - y0;
  const out = new Uint8Array(outW * rows * ch);
  const { ksize, bounds, k } = c;
  for (let y = 0; y < rows; y++) {
    const rowIn = (y + y0) * inW * ch;
    const rowOut = y * outW * ch;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = bounds[xx * 2],
        xmax = bounds[xx * 2 + 1],
        kb = xx * ksize;
      let p = rowIn + xmin * ch;
      const o = rowOut + xx * ch;
      if (ch === 3) {
        let s0 = ROUND,
          s1 = ROUND,
          s2 = ROUND;
        for (let x = 0; x < xmax; x++, p += 3) {
          const kv = k[kb + x];
          s0 += s[p] * kv;
          s1 += s[p + 1] * kv;
          s2 += s[p + 2] * kv;
        }
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
      } else if (ch === 1) {
        let s0 = ROUND;
        for (let x = 0; x < xmax; x++) s0 += s[p + x] * k[kb + x];
        out[o] = clip8(s0);
      } else {
        for (let b = 0; b < ch; b++) {
          let s0 = ROUND;
          for (let x = 0; x < xmax; x++) s0 += s[p + x * ch + b] * k[kb + x];
          out[o + b] = clip8(s0);
        }
      }
    }
  }
  return { width: outW, height: rows, channels: ch, data: out };
}

/** Vertical pass; `shift` is subtracted from the bounds (rows the horizontal pass did not produce). */
function resampleV(src: Raster, outH: number, c: AxisCoeffs, shift: number): Raster {
  const ch = src.channels,
    w = src.width,
    s = src.data;
  const rowLen = w * ch;
  const out = new Uint8Array(rowLen * outH);
  const { ksize, bounds, k } = c;
  const acc = new Float64Array(rowLen);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2] - shift,
      ymax = bounds[yy * 2 + 1],
      kb = yy * ksize;
    acc.fill(ROUND);
    // Row-major accumulation: the same sums as Pillow's column loop, in cache order.
    for (let y = 0; y < ymax; y++) {
      const kv = k[kb + y];
      const r = (ymin + y) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += s[r + i] * kv;
    }
    const o = yy * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = clip8(acc[i]);
  }
  return { width: w, height: outH, channels: ch, data: out };
}

/** The part of the resized image to produce: columns [left, left+width), rows [top, top+height). */
export interface Window {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Copy a sub-rectangle. */
function cropRaster(src: Raster, left: number, top: number, w: number, h: number): Raster {
  const ch = src.channels;
  const out = new Uint8Array(w * h * ch);
  for (let y = 0; y < h; y++) {
    const s = ((top + y) * src.width + left) * ch;
    out.set(src.data.subarray(s, s + w * ch), y * w * ch);
  }
  return { width: w, height: h, channels: ch, data: out };
}

/**
 * Pillow's ImagingResample (BICUBIC) on an image whose channels are independent, producing only the
 * window of the outW×outH result (identical to resizing fully, then cropping).
 */
function resampleBicubicPlain(src: Raster, outW: number, outH: number, win: Window): Raster {
  const needH = outW !== src.width;
  const needV = outH !== src.height;
  let im = src;
  let shift = 0;
  const cv = needV ? bicubicCoeffs(src.height, outH, win.top, win.top + win.height) : null;
  if (needH) {
    const chz = bicubicCoeffs(src.width, outW, win.left, win.left + win.width);
    if (cv) {
      // Only the source rows the vertical pass will read (Pillow's ybox_first/ybox_last).
      const n = win.height;
      const first = cv.bounds[0];
      const last = cv.bounds[n * 2 - 2] + cv.bounds[n * 2 - 1];
      im = resampleH(src, win.width, chz, first, last);
      shift = first;
    } else {
      im = resampleH(src, win.width, chz, win.top, win.top + win.height);
    }
  } else {
    im = cropRaster(src, win.left, 0, win.width, src.height);
  }
  if (cv) im = resampleV(im, win.height, cv, shift);
  return im;
}

/** (a·b + 128 + ((a·b + 128) >> 8)) >> 8: Pillow's MULDIV255. */
function premultiply(src: Raster): Raster {
  const ch = src.channels,
    d = src.data;
  const out = new Uint8Array(d.length);
  for (let p = 0; p < d.length; p += ch) {
    const a = d[p + ch - 1];
    for (let b = 0; b < ch - 1; b++) {
      const t = d[p + b] * a + 128;
      out[p + b] = ((t >> 8) + t) >> 8;
    }
    out[p + ch - 1] = a;
  }
  return { ...src, data: out };
}

/** RGBa→RGBA: alpha 0 and 255 pass through; otherwise CLIP8(255·c / alpha) with integer division. */
function unpremultiplyInPlace(r: Raster): void {
  const ch = r.channels,
    d = r.data;
  for (let p = 0; p < d.length; p += ch) {
    const a = d[p + ch - 1];
    if (a === 255 || a === 0) continue;
    for (let b = 0; b < ch - 1; b++) {
      const v = Math.floor((255 * d[p + b]) / a);
      d[p + b] = v > 255 ? 255 : v;
    }
  }
}

function fullWindow(w: number, h: number): Window {
  return { left: 0, top: 0, width: w, height: h };
}

/**
 * Image.resize((outW, outH), BICUBIC) for L, LA, RGB, RGBA, optionally only the window `win` of the
 * result (a following crop). No resampling when the size is unchanged (Pillow copies).
 */
export function resizeBicubic(src: Raster, outW: number, outH: number, win: Window = fullWindow(outW, outH)): Raster {
  if (outW === src.width && outH === src.height) return cropRaster(src, win.left, win.top, win.width, win.height);
  if (src.channels === 2 || src.channels === 4) {
    const r = resampleBicubicPlain(premultiply(src), outW, outH, win);
    unpremultiplyInPlace(r);
    return r;
  }
  return resampleBicubicPlain(src, outW, outH, win);
}

/**
 * Image.resize(size, NEAREST) (ImagingScaleAffine), optionally windowed: source positions accumulate
 * in doubles from the first output exactly as in C, so the window matches a full resize.
 */
export function resizeNearest(src: Raster, outW: number, outH: number, win: Window = fullWindow(outW, outH)): Raster {
  if (outW === src.width && outH === src.height) return cropRaster(src, win.left, win.top, win.width, win.height);
  const ch = src.channels,
    s = src.data;
  const out = new Uint8Array(win.width * win.height * ch);
  const ax = src.width / outW,
    ay = src.height / outH;
  // Positions outside the source stay 0, as Pillow's fill=1 memset leaves them.
  const xin = new Int32Array(win.width);
  let xo = ax * 0.5;
  for (let x = 0; x < win.left + win.width; x++) {
    if (x >= win.left) {
      const xi = xo < 0 ? -1 : Math.trunc(xo);
      xin[x - win.left] = xi < src.width ? xi : -1;
    }
    xo += ax;
  }
  let yo = ay * 0.5;
  for (let y = 0; y < win.top + win.height; y++, yo += ay) {
    if (y < win.top) continue;
    const yi = yo < 0 ? -1 : Math.trunc(yo);
    if (yi < 0 || yi >= src.height) continue;
    const r = yi * src.width * ch,
      o = (y - win.top) * win.width * ch;
    for (let x = 0; x < win.width; x++) {
      if (xin[x] < 0) continue;
      const p = r + xin[x] * ch,
        q = o + x * ch;
      for (let b = 0; b < ch; b++) out[q + b] = s[p + b];
    }
  }
  return { width: win.width, height: win.height, channels: ch, data: out };
}
