/**
 * File/Buffer → pixels in the mode Pillow would open them in. The header is parsed and checked against
 * the pixel limit first (header.ts); only then is a decoder run. JPEG uses our libjpeg-turbo-exact
 * decoder (jpeg.ts); PNG, GIF, BMP and TIFF use jimp's format plugins (pngjs, omggif, bmp-ts, utif2),
 * with the corrections needed to see the image as Pillow does (see `pngToPil`). EXIF orientation is
 * applied only on request: the reference (`Image.open`) does not apply it.
 */
import * as zlib from 'zlib';
import bmpPlugin from '@jimp/js-bmp';
import gifPlugin from '@jimp/js-gif';
import pngPlugin from '@jimp/js-png';
import tiffPlugin from '@jimp/js-tiff';
import { AbeClipError, ImageDecodeError, LimitError } from '../errors';
import { getLimits } from '../limits';
import { openRegularFileAsync, NO_SUCH_FILE } from '../io/regular-file';
import { ImageHeader, readHeader } from './header';
import { decodeJpeg, tiffOrientation } from './jpeg';
import { applyOrientation } from './orientation';
import { tiffForDecoder } from './tiff';
import { Raster } from './resize';

/**
 * Pillow's mode of the opened image. 'P' (palette) and '1' (bilevel) are stored expanded (RGB / L 0|255)
 * but keep their mode because Pillow resizes them with NEAREST whatever filter is asked for.
 */
export type PilMode = '1' | 'L' | 'LA' | 'P' | 'RGB' | 'RGBA';

export interface DecodedImage extends Raster {
  mode: PilMode;
  /** The file path or `<buffer #i>` label the image came from (used in error messages). */
  source: string;
}

export interface DecodeOptions {
  /** Rotate/flip by the EXIF Orientation tag (PIL's ImageOps.exif_transpose). Default false. */
  applyExif?: boolean;
}

const png = pngPlugin();
const gif = gifPlugin();
const bmp = bmpPlugin();
const tiff = tiffPlugin();

const CHANNELS: Record<PilMode, 1 | 2 | 3 | 4> = { '1': 1, L: 1, LA: 2, P: 3, RGB: 3, RGBA: 4 };

/** Bytes read before the header check, so a huge file is refused without reading it. */
const HEAD_BYTES = 256 * 1024;

/** Decode a file path or bytes. `label` names a buffer in errors (default `<buffer>`). */
export async function decodeImage(input: string | Uint8Array, opts: DecodeOptions = {}, label = '<buffer>'): Promise<DecodedImage> {
  if (typeof input === 'string') {
    const bytes = await readChecked(input);
    return decodeBytes(bytes, input, opts);
  }
  if (!(input instanceof Uint8Array)) throw new ImageDecodeError(label, `expected a file path or a Buffer/Uint8Array, got ${typeof input}`);
  return decodeBytes(input, label, opts);
}

/** Read a file: its size against maxImageFileBytes, then the header (and pixel limit) on its first bytes before the rest. */
async function readChecked(path: string): Promise<Uint8Array> {
  const { fh, size } = await openRegularFileAsync(path, (p) => new ImageDecodeError(path, p === NO_SUCH_FILE ? 'cannot open: ENOENT' : p));
  const st = { size };
  try {
    const maxBytes = getLimits().maxImageFileBytes;
    if (st.size > maxBytes) {
      throw new LimitError(path, `image file is ${st.size} bytes, more than maxImageFileBytes=${maxBytes} (raise it with setLimits)`);
    }
    const head = new Uint8Array(Math.min(st.size, HEAD_BYTES));
    await fh.read(head, 0, head.length, 0);
    if (st.size > head.length) {
      try {
        readHeader(head, path);
      } catch (e) {
        // A header that looks truncated may just continue past HEAD_BYTES (a big EXIF block): decide on the full file.
        if (!(e instanceof ImageDecodeError)) throw e;
      }
    }
    const all = new Uint8Array(st.size);
    all.set(head);
    if (st.size > head.length) await fh.read(all, head.length, st.size - head.length, head.length);
    return all;
  } finally {
    await fh.close();
  }
}

/** Synchronous decode of bytes already in memory. */
export function decodeBytes(bytes: Uint8Array, source: string, opts: DecodeOptions = {}): DecodedImage {
  const h = readHeader(bytes, source);
  let img: DecodedImage;
  let orientation: number | undefined;
  try {
    switch (h.format) {
      case 'jpeg': {
        const j = decodeJpeg(bytes, source);
        if (j.width !== h.width || j.height !== h.height) throw new ImageDecodeError(source, 'corrupt JPEG: more than one frame size');
        img = { width: j.width, height: j.height, channels: j.channels, data: j.data, mode: j.channels === 1 ? 'L' : 'RGB', source };
        orientation = j.exifOrientation;
        break;
      }
      case 'png':
        img = decodePng(bytes, h, source);
        if (opts.applyExif) orientation = pngOrientation(bytes);
        break;
      case 'gif':
        img = decodeGif(bytes, h, source);
        break;
      case 'bmp':
        img = decodeBmp(bytes, h, source);
        break;
      case 'tiff':
        img = decodeTiff(bytes, h, source);
        if (opts.applyExif) orientation = tiffOrientation(bytes);
        break;
    }
  } catch (e) {
    if (e instanceof AbeClipError) throw e;
    // An allocation failure is not a format problem, but it is still this input's problem: a typed error.
    if (
      e instanceof RangeError &&
      /allocation failed|Array buffer allocation|Invalid array length|Invalid typed array length/i.test(e.message)
    ) {
      throw new LimitError(source, `cannot allocate memory to decode the ${h.format.toUpperCase()} (${e.message})`);
    }
    // utif2 throws strings and numbers, not only Errors.
    const msg = e instanceof Error ? e.message : String(e);
    // pngjs says "There are some read requests waitng on finished stream" when the file stops early.
    if (h.format === 'png' && /read requests wait\w* on finished stream|unexpected end/i.test(msg)) {
      throw new ImageDecodeError(source, 'truncated PNG: the file ends before the image data does');
    }
    throw new ImageDecodeError(source, `corrupt or truncated ${h.format.toUpperCase()}: ${msg}`);
  }
  if (img!.width !== h.width || img!.height !== h.height) {
    throw new ImageDecodeError(source, `decoder returned ${img!.width}×${img!.height}, header says ${h.width}×${h.height}`);
  }
  if (opts.applyExif && orientation && orientation !== 1) return { ...applyOrientation(img!, orientation), mode: img!.mode, source };
  return img!;
}

/** Keep channels of an RGBA buffer: [0] (L), [0,3] (LA), [0,1,2] (RGB), or all (RGBA). */
function fromRgba(rgba: ArrayLike<number>, w: number, h: number, mode: PilMode, shift = 0): Uint8Array {
  const ch = CHANNELS[mode];
  const n = w * h;
  const out = new Uint8Array(n * ch);
  const pick = ch === 1 ? [0] : ch === 2 ? [0, 3] : ch === 3 ? [0, 1, 2] : [0, 1, 2, 3];
  for (let i = 0, o = 0; i < n; i++) {
    const p = i * 4;
    for (let c = 0; c < ch; c++) out[o++] = rgba[p + pick[c]] >> shift;
  }
  return out;
}

function decodePng(bytes: Uint8Array, h: ImageHeader, source: string): DecodedImage {
  const { bitDepth, colorType, transColor } = h.png!;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  guardInterlacedInflate(bytes, h, source);
  const r = png.decode(buf, { skipRescale: bitDepth === 16 } as never) as { data: ArrayLike<number>; width: number; height: number };
  const mode: PilMode =
    colorType === 3 ? 'P' : colorType === 4 ? 'LA' : colorType === 6 ? 'RGBA' : colorType === 2 ? 'RGB' : bitDepth === 1 ? '1' : 'L';
  // Pillow reads 16-bit samples by their high byte ("RGB;16B" raw modes); pngjs would round v·255/65535.
  const shift = bitDepth === 16 ? 8 : 0;
  const data = fromRgba(r.data, r.width, r.height, mode, shift);
  if (transColor && (colorType === 0 || colorType === 2)) {
    // pngjs zeroes pixels equal to the tRNS colour key; Pillow keeps their colour (the key) in L/RGB.
    const max = (1 << bitDepth) - 1;
    const key = transColor.map((v) => (bitDepth === 16 ? v >> 8 : Math.floor((v * 255) / max + 0.5)));
    const ch = CHANNELS[mode];
    for (let i = 0; i < r.width * r.height; i++) {
      if (r.data[i * 4 + 3] === 0) for (let c = 0; c < ch; c++) data[i * ch + c] = key[c] ?? key[0];
    }
  }
  return { width: r.width, height: r.height, channels: CHANNELS[mode], data, mode, source };
}

/**
 * pngjs bounds the inflated size of non-interlaced images by the IHDR size, but inflates interlaced ones
 * unbounded; check those ourselves so a zlib bomb cannot exhaust memory.
 */
function guardInterlacedInflate(b: Uint8Array, h: ImageHeader, source: string): void {
  if (b[28] !== 1) return;
  const bpp = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[h.png!.colorType as 0 | 2 | 3 | 4 | 6];
  const bound = 2 * (((h.width * bpp * h.png!.bitDepth + 7) >> 3) + 1) * h.height + 4096;
  const parts: Uint8Array[] = [];
  for (let o = 8; o + 12 <= b.length;) {
    const len = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    const type = String.fromCharCode(b[o + 4], b[o + 5], b[o + 6], b[o + 7]);
    if (type === 'IDAT') parts.push(b.subarray(o + 8, Math.min(o + 8 + len, b.length)));
    if (type === 'IEND') break;
    o += 12 + len;
  }
  try {
    zlib.inflateSync(Buffer.concat(parts), { maxOutputLength: bound });
  } catch (e) {
    throw new ImageDecodeError(source, `corrupt PNG image data (${(e as Error).message})`);
  }
}

/** PNG eXIf chunk → orientation. */
function pngOrientation(b: Uint8Array): number | undefined {
  for (let o = 8; o + 12 <= b.length;) {
    const len = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    const type = String.fromCharCode(b[o + 4], b[o + 5], b[o + 6], b[o + 7]);
    if (type === 'eXIf') return tiffOrientation(b.subarray(o + 8, o + 8 + len));
    if (type === 'IDAT' || type === 'IEND') return undefined;
    o += 12 + len;
  }
  return undefined;
}

function decodeGif(bytes: Uint8Array, h: ImageHeader, source: string): DecodedImage {
  // Pillow's P→RGB ignores transparency (the index keeps its palette colour); omggif would skip those
  // pixels, so clear the transparency flag of the first frame's Graphic Control Extension.
  const copy = Buffer.from(bytes);
  clearFirstGifTransparency(copy);
  // omggif reports a short or long LZW stream with console.log (stdout, breaking `--json` output): capture it.
  // A short stream is a truncated image (Pillow: "image file is truncated"); a long one decodes fine.
  const said: string[] = [];
  const r = withoutConsoleLog(true, () => gif.decode(copy), said) as { data: Uint8Array; width: number; height: number };
  if (said.some((s) => /shorter than expected/.test(s)))
    throw new ImageDecodeError(source, 'image file is truncated (GIF image data ends early)');
  return { width: r.width, height: r.height, channels: 3, data: fromRgba(r.data, r.width, r.height, 'P'), mode: 'P', source };
}

function clearFirstGifTransparency(b: Uint8Array): void {
  let o = 13;
  if (b[10] & 0x80) o += 3 << ((b[10] & 7) + 1);
  while (o < b.length) {
    const t = b[o];
    if (t === 0x2c || t === 0x3b) return; // image descriptor or trailer: no GCE before the first frame
    if (t !== 0x21 || o + 2 >= b.length) return;
    if (b[o + 1] === 0xf9 && o + 3 < b.length) {
      b[o + 3] &= ~1;
      return;
    }
    o += 2;
    while (o < b.length && b[o] !== 0) o += b[o] + 1; // skip sub-blocks
    o++;
  }
}

function decodeBmp(bytes: Uint8Array, h: ImageHeader, source: string): DecodedImage {
  const r = bmp.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {} as never) as {
    data: Uint8Array;
    width: number;
    height: number;
  };
  let mode: PilMode = 'RGB';
  const pal = h.bmp!.palette;
  if (pal) {
    // BmpImagePlugin: a palette equal to the grey ramp (or black/white for 2 colours) opens as L / 1.
    const n = pal.length / 3;
    let grey = true;
    for (let i = 0; i < n && grey; i++) {
      const v = n === 2 ? i * 255 : i;
      grey = pal[i * 3] === v && pal[i * 3 + 1] === v && pal[i * 3 + 2] === v;
    }
    mode = grey ? (n === 2 ? '1' : 'L') : 'P';
  }
  return { width: r.width, height: r.height, channels: CHANNELS[mode], data: fromRgba(r.data, r.width, r.height, mode), mode, source };
}

function decodeTiff(bytes: Uint8Array, h: ImageHeader, source: string): DecodedImage {
  const safe = tiffForDecoder(bytes, (p) => {
    throw new ImageDecodeError(source, p);
  });
  const r = withoutConsoleLog(safe.tiled, () => tiff.decode(safe.bytes)) as { data: Uint8Array; width: number; height: number };
  if (r.data.length !== r.width * r.height * 4)
    throw new ImageDecodeError(source, `TIFF decoder returned ${r.data.length} bytes for ${r.width}×${r.height} RGBA`);
  const { samplesPerPixel: spp, photometric, bitsPerSample } = h.tiff!;
  let mode: PilMode;
  if (photometric === 3) mode = 'P';
  else if (photometric === 0 || photometric === 1) mode = spp >= 2 ? 'LA' : bitsPerSample === 1 ? '1' : 'L';
  else mode = spp >= 4 && photometric === 2 ? 'RGBA' : 'RGB';
  return { width: r.width, height: r.height, channels: CHANNELS[mode], data: fromRgba(r.data, r.width, r.height, mode), mode, source };
}

/** utif2's tile path prints a debug line (`==== tx ty`) to stdout, which would corrupt CLI output. */
function withoutConsoleLog<T>(active: boolean, fn: () => T, said?: string[]): T {
  if (!active) return fn();
  const log = console.log;
  console.log = (...args: unknown[]) => {
    said?.push(args.map(String).join(' '));
  };
  try {
    return fn();
  } finally {
    console.log = log;
  }
}
