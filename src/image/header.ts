/**
 * Reads the format and dimensions of an image from its first bytes, before anything is decoded, so that
 * a decompression bomb (a tiny file declaring 50000×50000) is refused before a single pixel buffer is
 * allocated. Also collects the few header facts that decide how PIL would treat the image (its "mode").
 */
import { ImageDecodeError, LimitError } from '../errors';
import { getLimits } from '../limits';
import { checkTiffChain, parseTiffIfd0, tiffInt } from './tiff';

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'bmp' | 'tiff';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** PNG: IHDR bit depth and colour type; tRNS colour key for colour types 0/2 (raw sample values). */
  png?: { bitDepth: number; colorType: number; transColor?: number[] };
  /** BMP: bits per pixel, compression, palette (RGB triples) for ≤ 8 bpp, alpha mask for 32 bpp. */
  bmp?: { bpp: number; compression: number; palette?: Uint8Array; alphaMask: number };
  /** TIFF: samples per pixel, photometric interpretation, extra samples (alpha) of the first IFD. */
  tiff?: { samplesPerPixel: number; photometric: number; bitsPerSample: number };
}

const u16be = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const u32be = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const u16le = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32le = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const i32le = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);

// The message names no bytes of the file: a dataset may point at any file, and errors end up in reports.
/** Formats we recognise but do not decode, so the error can say what the file is. */
function otherFormat(b: Uint8Array): string | null {
  const ascii = (o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') return 'WebP';
  if (b.length >= 12 && ascii(4, 4) === 'ftyp') {
    const brand = ascii(8, 4);
    return brand.startsWith('avi') ? 'AVIF' : brand.startsWith('hei') || brand.startsWith('mif') ? 'HEIF' : `ISO-BMFF (${brand})`;
  }
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0) return 'ICO';
  if (b.length >= 4 && ascii(0, 4) === '8BPS') return 'PSD';
  if (b.length >= 4 && ascii(0, 4) === '%PDF') return 'PDF';
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0x0a) return 'JPEG XL';
  if (b.length >= 5 && (ascii(0, 5) === '<?xml' || ascii(0, 4) === '<svg')) return 'SVG/XML';
  return null;
}

export function sniffFormat(b: Uint8Array): ImageFormat | null {
  if (
    b.length >= 8 &&
    b[0] === 0x89 &&
    b[1] === 0x50 &&
    b[2] === 0x4e &&
    b[3] === 0x47 &&
    b[4] === 0x0d &&
    b[5] === 0x0a &&
    b[6] === 0x1a &&
    b[7] === 0x0a
  )
    return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (
    b.length >= 6 &&
    b[0] === 0x47 &&
    b[1] === 0x49 &&
    b[2] === 0x46 &&
    b[3] === 0x38 &&
    (b[4] === 0x37 || b[4] === 0x39) &&
    b[5] === 0x61
  )
    return 'gif';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  if (
    b.length >= 4 &&
    ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 42 && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 42))
  )
    return 'tiff';
  return null;
}

/**
 * Parse the header; throws ImageDecodeError for unknown/unsupported/malformed headers and LimitError when
 * width × height exceeds `getLimits().maxImagePixels`.
 */
export function readHeader(b: Uint8Array, source: string): ImageHeader {
  const fail = (p: string): never => {
    throw new ImageDecodeError(source, p);
  };
  if (b.length === 0) fail('empty file (0 bytes)');
  const format = sniffFormat(b);
  if (!format) {
    const other = otherFormat(b);
    fail(
      other
        ? `unsupported image format ${other} (supported: PNG, JPEG, GIF, BMP, TIFF)`
        : 'not a recognised image (no PNG, JPEG, GIF, BMP or TIFF signature)',
    );
  }
  let h: ImageHeader;
  switch (format!) {
    case 'png':
      h = pngHeader(b, fail);
      break;
    case 'jpeg':
      h = jpegHeader(b, fail);
      break;
    case 'gif':
      h = gifHeader(b, fail);
      break;
    case 'bmp':
      h = bmpHeader(b, fail);
      break;
    case 'tiff':
      h = tiffHeader(b, fail);
      break;
  }
  if (!(h!.width >= 1 && h!.height >= 1)) fail(`${format!.toUpperCase()} header declares an empty image (${h!.width}×${h!.height})`);
  checkPixelLimit(h!.width, h!.height, source);
  if (format === 'gif') checkGifFirstFrame(b, h!.width, h!.height, fail);
  return h!;
}

export function checkPixelLimit(width: number, height: number, source: string): void {
  const { maxImagePixels: max, maxImageSide: side } = getLimits();
  if (width > side || height > side) {
    throw new LimitError(source, `image is ${width}×${height}, a side longer than maxImageSide=${side} (raise it with setLimits)`);
  }
  if (width * height > max) {
    throw new LimitError(
      source,
      `image is ${width}×${height} = ${width * height} pixels, more than maxImagePixels=${max} (raise it with setLimits)`,
    );
  }
}

type Fail = (p: string) => never;

function pngHeader(b: Uint8Array, fail: Fail): ImageHeader {
  if (b.length < 33) fail('truncated PNG header');
  if (u32be(b, 8) !== 13 || String.fromCharCode(...b.subarray(12, 16)) !== 'IHDR') fail('PNG does not start with an IHDR chunk');
  const width = u32be(b, 16),
    height = u32be(b, 20),
    bitDepth = b[24],
    colorType = b[25];
  const depths: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
  if (!depths[colorType]?.includes(bitDepth)) fail(`invalid PNG colour type ${colorType} / bit depth ${bitDepth}`);
  // The tRNS colour key only matters for grey/RGB (PIL keeps those pixels' colour; pngjs zeroes them).
  let transColor: number[] | undefined;
  if (colorType === 0 || colorType === 2) {
    let o = 33;
    while (o + 8 <= b.length) {
      const len = u32be(b, o);
      const type = String.fromCharCode(...b.subarray(o + 4, o + 8));
      if (type === 'IDAT' || type === 'IEND') break;
      if (type === 'tRNS' && o + 8 + len <= b.length) {
        transColor = [];
        for (let i = 0; i + 1 < len; i += 2) transColor.push(u16be(b, o + 8 + i));
      }
      o += 12 + len;
    }
  }
  return { format: 'png', width, height, png: { bitDepth, colorType, transColor } };
}

function jpegHeader(b: Uint8Array, fail: Fail): ImageHeader {
  let o = 2;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) fail(`corrupt JPEG: expected a marker at byte ${o}`);
    const m = b[o + 1];
    if (m === 0xff) {
      o++;
      continue;
    }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      o += 2;
      continue;
    }
    if (m === 0xd9 || m === 0xda) fail('JPEG has no frame header (SOF) before its scan data');
    const len = u16be(b, o + 2);
    if (len < 2) fail(`corrupt JPEG: marker 0x${m.toString(16)} has length ${len}`);
    const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (isSof) {
      if (o + 9 > b.length) break;
      return { format: 'jpeg', width: u16be(b, o + 7), height: u16be(b, o + 5) };
    }
    o += 2 + len;
  }
  return fail('truncated JPEG: no frame header (SOF) found');
}

function gifHeader(b: Uint8Array, fail: Fail): ImageHeader {
  if (b.length < 13) fail('truncated GIF header');
  return { format: 'gif', width: u16le(b, 6), height: u16le(b, 8) };
}

/**
 * The decoder allocates by the FIRST FRAME's own size, not the screen's: walk to its image descriptor and
 * require it to lie inside the screen, so a 9×7 screen cannot smuggle in a 43022×20722 frame.
 */
function checkGifFirstFrame(b: Uint8Array, width: number, height: number, fail: Fail): void {
  let pos = 13;
  if (b[10] & 0x80) pos += 3 * (1 << ((b[10] & 7) + 1));
  for (;;) {
    if (pos >= b.length) fail('truncated GIF: no image frame');
    const tag = b[pos];
    if (tag === 0x2c) {
      if (pos + 10 > b.length) fail('truncated GIF image descriptor');
      const left = u16le(b, pos + 1),
        top = u16le(b, pos + 3),
        fw = u16le(b, pos + 5),
        fh = u16le(b, pos + 7);
      if (left + fw > width || top + fh > height) {
        fail(`GIF first frame ${fw}×${fh} at (${left}, ${top}) extends beyond the ${width}×${height} screen`);
      }
      break;
    }
    if (tag === 0x21) {
      // extension: label, then sub-blocks until a zero-length one
      pos += 2;
      while (pos < b.length && b[pos] !== 0) pos += b[pos] + 1;
      pos += 1;
      continue;
    }
    fail(tag === 0x3b ? 'GIF has no image frame' : `unexpected GIF block 0x${tag.toString(16)} at byte ${pos}`);
  }
}

function bmpHeader(b: Uint8Array, fail: Fail): ImageHeader {
  if (b.length < 26) fail('truncated BMP header');
  const hsize = u32le(b, 14);
  let width: number,
    height: number,
    bpp: number,
    compression = 0,
    colors = 0;
  if (hsize === 12) {
    width = u16le(b, 18);
    height = u16le(b, 20);
    bpp = u16le(b, 24);
  } else if (hsize >= 40) {
    if (b.length < 14 + 40) fail('truncated BMP header');
    width = i32le(b, 18);
    height = Math.abs(i32le(b, 22));
    bpp = u16le(b, 28);
    compression = u32le(b, 30);
    colors = u32le(b, 46);
  } else {
    return fail(`unsupported BMP header size ${hsize}`);
  }
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) fail(`unsupported BMP bit depth ${bpp}`);
  if (width <= 0) fail(`BMP header declares width ${width}`);
  let palette: Uint8Array | undefined;
  if (bpp <= 8) {
    const n = colors > 0 && colors <= 1 << bpp ? colors : 1 << bpp;
    const entry = hsize === 12 ? 3 : 4;
    const start = 14 + hsize;
    if (start + n * entry > b.length) fail('truncated BMP palette');
    palette = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      palette[i * 3] = b[start + i * entry + 2];
      palette[i * 3 + 1] = b[start + i * entry + 1];
      palette[i * 3 + 2] = b[start + i * entry];
    }
  }
  // BI_BITFIELDS / V4+ headers carry an alpha mask; PIL reads 32-bit BMPs as RGBA only with one.
  let alphaMask = 0;
  if (bpp === 32 && (compression === 3 || compression === 6) && hsize >= 56 && b.length >= 14 + 56) alphaMask = u32le(b, 14 + 52);
  return { format: 'bmp', width, height, bmp: { bpp, compression, palette, alphaMask } };
}

function tiffHeader(b: Uint8Array, fail: Fail): ImageHeader {
  const ifd = parseTiffIfd0(b, fail);
  checkTiffChain(b, ifd, fail);
  const int = (tag: number, dflt: number, name: string) => tiffInt(b, ifd, tag, dflt, fail, name);
  const width = int(256, 0, 'ImageWidth'),
    height = int(257, 0, 'ImageLength');
  if (!width || !height) fail('TIFF has no ImageWidth/ImageLength tag');
  return {
    format: 'tiff',
    width,
    height,
    tiff: {
      samplesPerPixel: int(277, 1, 'SamplesPerPixel'),
      photometric: int(262, -1, 'PhotometricInterpretation'),
      bitsPerSample: int(258, 1, 'BitsPerSample'),
    },
  };
}
