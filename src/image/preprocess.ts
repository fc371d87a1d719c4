/**
 * CLIP's `_transform(R)` on a decoded image: Resize(R, BICUBIC) → CenterCrop(R) → convert('RGB') →
 * ToTensor → Normalize(mean, std), in float32 exactly as torchvision computes it.
 */
import { InputError, OptionsError } from '../errors';
import { checkPixelLimit } from './header';
import { CLIP_MEAN, CLIP_STD } from './constants';
import { DecodedImage, PilMode } from './decode';
import { Raster, resizeBicubic, resizeNearest, Window } from './resize';
import { renderValue } from '../io/render';

export type Triple = readonly [number, number, number];

export interface PreprocessOptions {
  /** Output side R (the model's `image_resolution`). */
  resolution: number;
  /** Per-channel mean/std (e.g. from a preprocessor_config.json); default CLIP_MEAN / CLIP_STD. */
  mean?: Triple;
  std?: Triple;
}

const KEYS = new Set(['resolution', 'mean', 'std']);

/** Validate and fill in preprocessing options; `extra` lists keys other callers add. */
export function checkPreprocessOptions(o: PreprocessOptions, where: string, extra: readonly string[] = []): Required<PreprocessOptions> {
  if (!o || typeof o !== 'object') throw new OptionsError(where, 'options must be an object with `resolution`');
  for (const k of Object.keys(o)) if (!KEYS.has(k) && !extra.includes(k)) throw new OptionsError(where, `unknown option '${k}'`);
  const R = o.resolution;
  if (!Number.isInteger(R) || R < 1 || R > 8192)
    throw new OptionsError(where, `resolution must be an integer in 1..8192, got ${String(R)}`);
  const triple = (v: Triple | undefined, name: string, def: Triple, positive: boolean): Triple => {
    if (v === undefined) return def;
    if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw new OptionsError(where, `${name} must be 3 numbers`);
    if (v.length !== 3 || !v.every((x) => Number.isFinite(x) && (!positive || x > 0))) {
      throw new OptionsError(where, `${name} must be 3 finite numbers${positive ? ' > 0' : ''}, got ${renderValue(v)}`);
    }
    return [v[0], v[1], v[2]];
  };
  return { resolution: R, mean: triple(o.mean, 'mean', CLIP_MEAN, false), std: triple(o.std, 'std', CLIP_STD, true) };
}

/** torchvision Resize(int): shorter side → R, longer `int(R · long / short)`. Returns [w, h]. */
export function resizedSize(width: number, height: number, R: number): [number, number] {
  if (width <= height) return [R, Math.trunc((R * height) / width)];
  return [Math.trunc((R * width) / height), R];
}

/** Python's round() (half to even) of a non-negative x.5 or integer/2 value. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** CenterCrop offsets [top, left] for an image of w×h cropped to R×R. */
export function cropOffsets(width: number, height: number, R: number): [number, number] {
  return [roundHalfEven((height - R) / 2), roundHalfEven((width - R) / 2)];
}

/** 256-entry tables: (v/255 − mean)/std per channel in float32 steps, as ToTensor + Normalize. */
function normTables(mean: Triple, std: Triple): Float32Array[] {
  return [0, 1, 2].map((c) => {
    const t = new Float32Array(256);
    const m = Math.fround(mean[c]),
      s = Math.fround(std[c]);
    for (let v = 0; v < 256; v++) t[v] = Math.fround(Math.fround(Math.fround(v / 255) - m) / s);
    return t;
  });
}

const tableCache = new Map<string, Float32Array[]>();
function tablesFor(mean: Triple, std: Triple): Float32Array[] {
  const key = `${mean.join(',')}|${std.join(',')}`;
  let t = tableCache.get(key);
  if (!t) {
    if (tableCache.size > 16) tableCache.clear();
    t = normTables(mean, std);
    tableCache.set(key, t);
  }
  return t;
}

function resizeFor(img: Raster, mode: PilMode, w: number, h: number, win: Window): Raster {
  // Pillow resizes palette and bilevel images with NEAREST whatever filter is requested.
  return mode === 'P' || mode === '1' ? resizeNearest(img, w, h, win) : resizeBicubic(img, w, h, win);
}

/**
 * One image → Float32Array [3, R, R] (channel-major). Writes into `out` at `offset` when given (the batch
 * loader fills one big buffer).
 */
export function preprocess(image: DecodedImage, options: PreprocessOptions, out?: Float32Array, offset = 0): Float32Array {
  const { resolution: R, mean, std } = checkPreprocessOptions(options, 'preprocess');
  const [rw, rh] = resizedSize(image.width, image.height, R);
  const [top, left] = cropOffsets(rw, rh, R);
  // Only the crop window is computed: the long side can be huge (1×5000 at R=224 → 224×1,120,000).
  const resized = resizeFor(image, image.mode, rw, rh, { left, top, width: R, height: R });
  const dst = out ?? new Float32Array(3 * R * R);
  if (dst.length < offset + 3 * R * R) throw new InputError('preprocess', 'output buffer too small');
  const [t0, t1, t2] = tablesFor(mean, std);
  const ch = resized.channels,
    d = resized.data,
    plane = R * R;
  for (let y = 0; y < R; y++) {
    let p = y * R * ch;
    let o = offset + y * R;
    for (let x = 0; x < R; x++, p += ch, o++) {
      if (ch >= 3) {
        // convert('RGB') drops alpha (no compositing).
        dst[o] = t0[d[p]];
        dst[o + plane] = t1[d[p + 1]];
        dst[o + 2 * plane] = t2[d[p + 2]];
      } else {
        // L / LA: grey replicated to R=G=B.
        const v = d[p];
        dst[o] = t0[v];
        dst[o + plane] = t1[v];
        dst[o + 2 * plane] = t2[v];
      }
    }
  }
  return dst;
}

/**
 * Raw RGBA pixels (e.g. a browser ImageData / canvas) → the same [3,R,R] as a decoded RGBA PNG.
 * `opaque: true` treats the buffer as RGB (alpha ignored), as for a JPEG drawn on a canvas.
 */
export function fromRGBA(
  rgba: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  options: PreprocessOptions & { opaque?: boolean },
  label = '<rgba>',
): Float32Array {
  const { opaque, ...rest } = options ?? ({} as PreprocessOptions);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new InputError(label, `bad size ${width}×${height}`);
  checkPixelLimit(width, height, label);
  if (rgba.length !== width * height * 4)
    throw new InputError(label, `expected ${width * height * 4} bytes (RGBA ${width}×${height}), got ${rgba.length}`);
  let img: DecodedImage;
  if (opaque) {
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
      rgb[j] = rgba[i];
      rgb[j + 1] = rgba[i + 1];
      rgb[j + 2] = rgba[i + 2];
    }
    img = { width, height, channels: 3, data: rgb, mode: 'RGB', source: label };
  } else {
    img = { width, height, channels: 4, data: new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.length), mode: 'RGBA', source: label };
  }
  return preprocess(img, rest);
}
