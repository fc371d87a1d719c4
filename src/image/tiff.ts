/**
 * TIFF structure checks. utif2 (jimp's TIFF decoder) trusts every offset and count it reads: it follows the
 * IFD chain and sub-IFD pointers without a visited set (a self-referencing chain hangs), materialises entry
 * values one by one without checking them against the file (a 1 KB file claiming 20 M values takes 30 s and
 * 1.5 GB), inflates Deflate strips unbounded, and its LZW decoder loops forever on a crafted code table.
 * So nothing reaches it unchecked: `parseTiffIfd0` validates the first IFD (header.ts reads the image size
 * from it), `checkTiffChain` walks the page chain, and `tiffForDecoder` checks the strip/tile layout and
 * compressed data of the first page and hands utif2 a copy reduced to that one page.
 */
import * as zlib from 'zlib';

type Fail = (problem: string) => never;

/** Bytes per value of the TIFF 6.0 field types 1–13 (0: unknown type, which utif2 skips without reading). */
const TYPE_BYTES = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4];
/** BYTE, SBYTE, UNDEFINED: utif2 keeps those as views of the file; every other type it copies value by value. */
const VIEW_TYPES = new Set([1, 6, 7]);
/** Bound on the values utif2 copies out of one IFD (strip tables and colour maps of real files are far smaller). */
export const MAX_TIFF_IFD_VALUE_BYTES = 16 * 1024 * 1024;
/** Pages accepted in one file; only the first is decoded, the rest are walked to check the chain ends. */
export const MAX_TIFF_IFDS = 256;
/** Tags utif2 follows to more IFDs (SubIFDs, Exif, GPS, MakerNote, DNGPrivateData, Fuji): none needed for pixels. */
const NESTED_IFD_TAGS = new Set([330, 34665, 34853, 37500, 50740, 61440]);
/** A private tag utif2 attaches no meaning to; nested-IFD entries are renamed to it in the decoder's copy. */
const INERT_TAG = 65000;
/** Compressions whose decoders we bound here (utif2's others — CCITT, JPEG, camera raw — are not checked). */
const COMPRESSIONS: Record<number, string> = { 1: 'none', 5: 'LZW', 8: 'Deflate', 32946: 'Deflate', 32773: 'PackBits' };
/** Tiles larger than the image are legal; beyond this edge they only serve to make utif2 allocate. */
const MAX_TILE_EDGE = 1024;

export interface TiffEntry {
  tag: number;
  type: number;
  count: number;
  /** Where the entry sits in the file (its 12 bytes). */
  at: number;
  /** Where its values are: inside the entry when they fit in 4 bytes, else the offset it holds. */
  valueOffset: number;
}

export interface TiffIfd {
  littleEndian: boolean;
  offset: number;
  /** Last entry of each tag (utif2 also keeps the last one of duplicates). */
  entries: Map<number, TiffEntry>;
  all: TiffEntry[];
  /** Offset of the next-IFD pointer (4 bytes after the entries) and its value. */
  nextAt: number;
  next: number;
}

function reader(b: Uint8Array, le: boolean) {
  const r16 = (o: number) => (le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1]);
  const r32 = (o: number) =>
    le
      ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0
      : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  return { r16, r32 };
}

/** The IFD table at `offset` (count, entries, next pointer) must lie inside the file. */
function checkIfdTable(b: Uint8Array, offset: number, what: string, fail: Fail, r16: (o: number) => number): number {
  if (offset < 8 || offset + 2 > b.length) fail(`${what} offset ${offset} lies outside the file (${b.length} bytes)`);
  const n = r16(offset);
  if (offset + 2 + n * 12 + 4 > b.length)
    fail(`${what} at offset ${offset} (${n} entries) runs past the end of the file (${b.length} bytes)`);
  return n;
}

/**
 * Byte order, first IFD inside the file, and every entry's values (count × type size) inside the file, their
 * total bounded by MAX_TIFF_IFD_VALUE_BYTES.
 */
export function parseTiffIfd0(b: Uint8Array, fail: Fail): TiffIfd {
  if (b.length < 8) fail('truncated TIFF header');
  const le = b[0] === 0x49;
  if (!(le ? b[1] === 0x49 && b[2] === 42 && b[3] === 0 : b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 42)) {
    fail('not a TIFF byte-order mark (II*\\0 or MM\\0*)');
  }
  const { r16, r32 } = reader(b, le);
  const offset = r32(4);
  const n = checkIfdTable(b, offset, 'first TIFF IFD', fail, r16);
  const entries = new Map<number, TiffEntry>();
  const all: TiffEntry[] = [];
  let copied = 0;
  for (let i = 0; i < n; i++) {
    const at = offset + 2 + i * 12;
    const tag = r16(at),
      type = r16(at + 2),
      count = r32(at + 4);
    const size = TYPE_BYTES[type] ?? 0;
    const bytes = count * size;
    const valueOffset = bytes > 4 ? r32(at + 8) : at + 8;
    if (bytes > 4 && valueOffset + bytes > b.length) {
      fail(
        `TIFF tag ${tag} claims ${count} values (${bytes} bytes) at offset ${valueOffset}, past the end of the file (${b.length} bytes)`,
      );
    }
    if (!VIEW_TYPES.has(type)) {
      copied += bytes;
      if (copied > MAX_TIFF_IFD_VALUE_BYTES) fail(`TIFF IFD values exceed ${MAX_TIFF_IFD_VALUE_BYTES} bytes (at tag ${tag})`);
    }
    const e = { tag, type, count, at, valueOffset };
    entries.set(tag, e);
    all.push(e);
  }
  const nextAt = offset + 2 + n * 12;
  return { littleEndian: le, offset, entries, all, nextAt, next: r32(nextAt) };
}

/** The i-th value of an integer entry (BYTE, SHORT, LONG). */
function intValue(b: Uint8Array, ifd: TiffIfd, e: TiffEntry, i: number, fail: Fail): number {
  const { r16, r32 } = reader(b, ifd.littleEndian);
  if (e.type === 1) return b[e.valueOffset + i];
  if (e.type === 3) return r16(e.valueOffset + 2 * i);
  if (e.type === 4) return r32(e.valueOffset + 4 * i);
  return fail(`TIFF tag ${e.tag} has field type ${e.type}; expected BYTE, SHORT or LONG`);
}

/** First value of `tag`, `dflt` when absent (undefined: the tag is required). */
export function tiffInt(b: Uint8Array, ifd: TiffIfd, tag: number, dflt: number | undefined, fail: Fail, name: string): number {
  const e = ifd.entries.get(tag);
  if (!e) return dflt ?? fail(`TIFF has no ${name} tag (${tag})`);
  if (e.count === 0) fail(`TIFF ${name} tag (${tag}) has no value`);
  return intValue(b, ifd, e, 0, fail);
}

function tiffInts(b: Uint8Array, ifd: TiffIfd, tag: number, fail: Fail, name: string): number[] {
  const e = ifd.entries.get(tag);
  if (!e) return fail(`TIFF has no ${name} tag (${tag})`);
  const out = new Array<number>(e.count);
  for (let i = 0; i < e.count; i++) out[i] = intValue(b, ifd, e, i, fail);
  return out;
}

/** Walk the page chain with a visited set: every IFD table inside the file, no loop, at most MAX_TIFF_IFDS. */
export function checkTiffChain(b: Uint8Array, ifd0: TiffIfd, fail: Fail): number {
  const { r16, r32 } = reader(b, ifd0.littleEndian);
  const seen = new Set([ifd0.offset]);
  let next = ifd0.next;
  while (next !== 0) {
    if (seen.has(next)) fail(`TIFF IFD chain loops back to offset ${next} (after ${seen.size} IFDs)`);
    if (seen.size >= MAX_TIFF_IFDS) fail(`TIFF has more than ${MAX_TIFF_IFDS} IFDs (pages)`);
    const n = checkIfdTable(b, next, `TIFF IFD #${seen.size}`, fail, r16);
    seen.add(next);
    next = r32(next + 2 + n * 12);
  }
  return seen.size;
}

/**
 * Check the first page's layout and compressed data, and return a copy of the file that utif2 sees as a
 * single page with no nested IFDs. `tiled` says whether utif2 will take its tile path.
 */
export function tiffForDecoder(b: Uint8Array, fail: Fail): { bytes: Buffer; tiled: boolean } {
  const ifd = parseTiffIfd0(b, fail);
  checkTiffChain(b, ifd, fail);
  const int = (tag: number, dflt: number | undefined, name: string) => tiffInt(b, ifd, tag, dflt, fail, name);
  const width = int(256, undefined, 'ImageWidth'),
    height = int(257, undefined, 'ImageLength');
  const spp = int(277, 1, 'SamplesPerPixel');
  if (spp < 1 || spp > 16) fail(`unsupported TIFF SamplesPerPixel ${spp}`);
  const bpsAll = ifd.entries.has(258) ? tiffInts(b, ifd, 258, fail, 'BitsPerSample') : [1];
  const bps = bpsAll[0];
  if (!bpsAll.every((v) => v === bps)) fail(`unsupported TIFF BitsPerSample ${bpsAll.join(',')} (samples of different sizes)`);
  if (!(bps >= 1 && bps <= 32) || bps * spp > 128) fail(`unsupported TIFF BitsPerSample ${bps} × SamplesPerPixel ${spp}`);
  const photometric = int(262, -1, 'PhotometricInterpretation');
  if (photometric > 3)
    fail(`unsupported TIFF PhotometricInterpretation ${photometric} (supported: 0 WhiteIsZero, 1 BlackIsZero, 2 RGB, 3 palette)`);
  const compression = int(259, 1, 'Compression');
  if (!COMPRESSIONS[compression])
    fail(`unsupported TIFF compression ${compression} (supported: 1 none, 5 LZW, 8/32946 Deflate, 32773 PackBits)`);
  if (int(284, 1, 'PlanarConfiguration') !== 1) fail('unsupported TIFF PlanarConfiguration 2 (one plane per sample)');
  const rowBytes = Math.ceil((width * bps * spp) / 8);

  // The units (strips or tiles) utif2 will read, each with the bytes it may produce; mirrors UTIF.decodeImage.
  const tiled = ifd.entries.has(322);
  // unitBytes(i): what unit i must hold; unitCap: what one unit may decode to (a last strip may be padded to
  // RowsPerStrip rows, which libtiff accepts; utif2 drops or clips the excess).
  let offsets: number[], counts: number[], unitBytes: (i: number) => number, unitCap: number;
  if (tiled) {
    const tw = int(322, undefined, 'TileWidth'),
      th = int(323, undefined, 'TileLength');
    if (tw < 1 || th < 1 || tw > Math.max(width, MAX_TILE_EDGE) || th > Math.max(height, MAX_TILE_EDGE)) {
      fail(`TIFF tile size ${tw}×${th} does not fit the ${width}×${height} image`);
    }
    const n = Math.ceil(width / tw) * Math.ceil(height / th);
    offsets = tiffInts(b, ifd, 324, fail, 'TileOffsets').slice(0, n);
    counts = tiffInts(b, ifd, 325, fail, 'TileByteCounts').slice(0, n);
    if (offsets.length < n || counts.length < n) fail(`TIFF has ${Math.min(offsets.length, counts.length)} tiles, needs ${n}`);
    const tile = Math.ceil((tw * th * bps * spp) / 8);
    unitBytes = () => tile;
    unitCap = tile;
  } else {
    const rps = Math.min(int(278, height, 'RowsPerStrip'), height);
    if (rps < 1) fail('TIFF RowsPerStrip is 0');
    const n = Math.ceil(height / rps);
    offsets = tiffInts(b, ifd, 273, fail, 'StripOffsets');
    // utif2 decodes every listed strip, each into rps rows: extra ones would repeat that work.
    if (offsets.length !== n) fail(`TIFF has ${offsets.length} strips, needs ${n} (${height} rows, ${rps} per strip)`);
    // utif2 ignores StripByteCounts for a single uncompressed strip and reads the whole image from its offset.
    counts = compression === 1 && n === 1 ? [height * rowBytes] : tiffInts(b, ifd, 279, fail, 'StripByteCounts');
    if (counts.length < n) fail(`TIFF has ${counts.length} strip byte counts for ${n} strips`);
    unitBytes = (i) => Math.min(rps, height - i * rps) * rowBytes;
    unitCap = rps * rowBytes;
  }
  const kind = tiled ? 'tile' : 'strip';
  let total = 0;
  for (let i = 0; i < offsets.length; i++) {
    const off = offsets[i],
      len = counts[i],
      want = unitBytes(i);
    if (off + len > b.length) fail(`TIFF ${kind} ${i} (bytes ${off}..${off + len}) lies past the end of the file (${b.length} bytes)`);
    total += len;
    if (compression === 1 && len < want) fail(`truncated TIFF: ${kind} ${i} has ${len} bytes, needs ${want}`);
    const bad = checkCompressed(b, off, len, compression, unitCap);
    if (bad) fail(`corrupt TIFF ${kind} ${i}: ${bad}`);
  }
  // Each unit is decoded from its own bytes; units sharing data would multiply the work per file byte.
  if (total > b.length) fail(`TIFF ${kind}s claim ${total} bytes in total, more than the file's ${b.length}`);

  const copy = Buffer.from(b);
  const w32 = ifd.littleEndian ? (v: number, o: number) => copy.writeUInt32LE(v, o) : (v: number, o: number) => copy.writeUInt32BE(v, o);
  const w16 = ifd.littleEndian ? (v: number, o: number) => copy.writeUInt16LE(v, o) : (v: number, o: number) => copy.writeUInt16BE(v, o);
  w32(0, ifd.nextAt);
  for (const e of ifd.all) if (NESTED_IFD_TAGS.has(e.tag)) w16(INERT_TAG, e.at);
  return { bytes: copy, tiled };
}

/** Problem with one compressed unit, or null. Bounds what utif2's decoder will produce for it (about `want` bytes). */
function checkCompressed(b: Uint8Array, off: number, len: number, compression: number, want: number): string | null {
  if (compression === 5) return checkLzw(b, off, len, 2 * want + 4096);
  if (compression === 32773) return checkPackBits(b, off, len, want + 128);
  if (compression === 8 || compression === 32946) {
    // utif2 inflates bytes [off+2, off+len-4) raw (skipping the zlib header and checksum) with no output bound.
    if (len < 6) return `Deflate data of ${len} bytes is too short`;
    try {
      zlib.inflateRawSync(b.subarray(off + 2, off + len - 4), { maxOutputLength: want, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === 'ERR_BUFFER_TOO_LARGE'
        ? `Deflate data inflates to more than ${want} bytes`
        : `bad Deflate data (${(e as Error).message})`;
    }
  }
  return null;
}

/**
 * Replays utif2's LZW decoder (12-bit codes, early change) counting output only. A valid stream never names
 * a code beyond the next table slot; utif2 accepts such codes, and they let its table point upwards into a
 * cycle that it then walks forever — so they are refused here.
 */
function checkLzw(b: Uint8Array, off: number, len: number, cap: number): string | null {
  const lens = new Int32Array(4096);
  lens.fill(1, 0, 258);
  const end = (off + len) * 8;
  let bit = off * 8,
    width = 9,
    next = 258,
    prev = 0,
    out = 0;
  const read = () => {
    const s = bit >>> 3;
    const v = ((b[s] | 0) << 16) | ((b[s + 1] | 0) << 8) | (b[s + 2] | 0);
    const c = (v >>> (24 - (bit & 7) - width)) & ((1 << width) - 1);
    bit += width;
    return c;
  };
  const add = (prefix: number) => {
    if (next < 4096) lens[next] = lens[prefix] + 1;
    next++;
    if (next + 1 === 1 << width && width !== 12) width++;
  };
  while (bit < end) {
    let c = read();
    if (c === 257) break;
    if (c === 256) {
      width = 9;
      next = 258;
      c = read();
      if (c === 257) break;
      if (c >= 256) return `LZW code ${c} right after a clear code`;
      out += 1;
    } else if (c < next) {
      out += lens[c];
      add(prev);
    } else if (c === next) {
      add(prev);
      out += lens[c];
    } else {
      return `LZW code ${c} beyond the ${next} table entries`;
    }
    if (out > cap) return `LZW data decodes to more than ${cap} bytes`;
    prev = c;
  }
  return null;
}

/** PackBits output size, read from the run headers only. */
function checkPackBits(b: Uint8Array, off: number, len: number, cap: number): string | null {
  let out = 0;
  for (let o = off, lim = off + len; o < lim;) {
    const n = (b[o] << 24) >> 24;
    o++;
    if (n >= 0) {
      out += n + 1;
      o += n + 1;
    } else if (n !== -128) {
      out += 1 - n;
      o++;
    }
    if (out > cap) return `PackBits data decodes to more than ${cap} bytes`;
  }
  return null;
}
