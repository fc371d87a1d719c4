/**
 * Small TIFF files built by the tests (jimp's encoder writes only single-page uncompressed RGBA): any byte
 * order, grey/RGB/RGBA, several strips or tiles, none/LZW/Deflate/PackBits, several pages, and raw IFD
 * entries so that a test can make any field lie.
 */
import * as zlib from 'zlib';

export interface TiffField {
  tag: number;
  type: 1 | 2 | 3 | 4 | 5 | 7;
  values: number[];
}

export interface TiffPage {
  width: number;
  height: number;
  /** Interleaved 8-bit samples, `spp` per pixel. */
  samples: Uint8Array;
  spp: 1 | 3 | 4;
  compression?: 1 | 5 | 8 | 32773;
  rowsPerStrip?: number;
  /** Tile edge (a multiple of 16): writes TileWidth/TileLength/TileOffsets/TileByteCounts instead of strips. */
  tile?: number;
  /** Added after the standard fields; a field with the same tag replaces the standard one. */
  fields?: TiffField[];
}

const TYPE_BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1 };

/** Several pages chained in order; `next(i)` may redirect page i's next-IFD pointer (to an IFD offset). */
export function makeTiff(
  pages: TiffPage[],
  opts: { le?: boolean; next?: (page: number, ifdOffsets: number[]) => number | undefined } = {},
): Buffer {
  const le = opts.le ?? true;
  const parts: Buffer[] = [];
  let size = 0;
  const put = (b: Uint8Array) => {
    const at = size;
    parts.push(Buffer.from(b));
    size += b.length;
    if (size & 1) {
      parts.push(Buffer.alloc(1));
      size++;
    }
    return at;
  };
  const u16 = (v: number) => {
    const b = Buffer.alloc(2);
    if (le) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    return b;
  };
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    if (le) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    return b;
  };
  put(Buffer.concat([Buffer.from(le ? 'II' : 'MM', 'latin1'), u16(42), u32(0)]));
  const ifdAt: number[] = [],
    nextAt: number[] = [];
  for (const p of pages) {
    const units = p.tile ? tiles(p) : strips(p);
    const comp = p.compression ?? 1;
    const offsets = units.map((u) => put(compress(u, comp)));
    const counts = units.map((u) => compress(u, comp).length);
    const std: TiffField[] = [
      { tag: 256, type: 4, values: [p.width] },
      { tag: 257, type: 4, values: [p.height] },
      { tag: 258, type: 3, values: new Array(p.spp).fill(8) },
      { tag: 259, type: 3, values: [comp] },
      { tag: 262, type: 3, values: [p.spp === 1 ? 1 : 2] },
      { tag: 277, type: 3, values: [p.spp] },
      ...(p.spp === 4 ? [{ tag: 338, type: 3 as const, values: [2] }] : []),
      ...(p.tile
        ? [
            { tag: 322, type: 3 as const, values: [p.tile] },
            { tag: 323, type: 3 as const, values: [p.tile] },
            { tag: 324, type: 4 as const, values: offsets },
            { tag: 325, type: 4 as const, values: counts },
          ]
        : [
            { tag: 273, type: 4 as const, values: offsets },
            { tag: 278, type: 4 as const, values: [p.rowsPerStrip ?? p.height] },
            { tag: 279, type: 4 as const, values: counts },
          ]),
    ];
    const byTag = new Map<number, TiffField>();
    for (const f of [...std, ...(p.fields ?? [])]) byTag.set(f.tag, f);
    const fields = [...byTag.values()].sort((a, b) => a.tag - b.tag);
    const valueAt = fields.map((f) => (f.values.length * TYPE_BYTES[f.type] > 4 ? put(encodeValues(f, le, u16, u32)) : -1));
    const ifd = Buffer.alloc(2 + fields.length * 12 + 4);
    u16(fields.length).copy(ifd, 0);
    fields.forEach((f, i) => {
      const e = 2 + i * 12;
      u16(f.tag).copy(ifd, e);
      u16(f.type).copy(ifd, e + 2);
      u32(f.values.length).copy(ifd, e + 4);
      const v = encodeValues(f, le, u16, u32);
      if (valueAt[i] >= 0) u32(valueAt[i]).copy(ifd, e + 8);
      else v.copy(ifd, e + 8);
    });
    const at = put(ifd);
    ifdAt.push(at);
    nextAt.push(at + 2 + fields.length * 12);
  }
  const out = Buffer.concat(parts);
  const w32 = (v: number, o: number) => (le ? out.writeUInt32LE(v, o) : out.writeUInt32BE(v, o));
  w32(ifdAt[0], 4);
  pages.forEach((_, i) => w32(opts.next?.(i, ifdAt) ?? (i + 1 < pages.length ? ifdAt[i + 1] : 0), nextAt[i]));
  return out;
}

function encodeValues(f: TiffField, le: boolean, u16: (v: number) => Buffer, u32: (v: number) => Buffer): Buffer {
  if (f.type === 3) return Buffer.concat(f.values.map(u16));
  if (f.type === 4) return Buffer.concat(f.values.map(u32));
  if (f.type === 5) return Buffer.concat(f.values.map((v) => Buffer.concat([u32(v), u32(1)])));
  void le;
  return Buffer.from(f.values);
}

function strips(p: TiffPage): Uint8Array[] {
  const row = p.width * p.spp,
    rps = p.rowsPerStrip ?? p.height,
    out: Uint8Array[] = [];
  for (let y = 0; y < p.height; y += rps) out.push(p.samples.subarray(y * row, Math.min(p.height, y + rps) * row));
  return out;
}

function tiles(p: TiffPage): Uint8Array[] {
  const t = p.tile!,
    out: Uint8Array[] = [];
  for (let ty = 0; ty < p.height; ty += t) {
    for (let tx = 0; tx < p.width; tx += t) {
      const tile = new Uint8Array(t * t * p.spp);
      for (let y = 0; y < t && ty + y < p.height; y++) {
        for (let x = 0; x < t && tx + x < p.width; x++) {
          for (let c = 0; c < p.spp; c++) tile[(y * t + x) * p.spp + c] = p.samples[((ty + y) * p.width + tx + x) * p.spp + c];
        }
      }
      out.push(tile);
    }
  }
  return out;
}

export function compress(b: Uint8Array, compression: number): Uint8Array {
  if (compression === 8) return zlib.deflateSync(b);
  if (compression === 32773) return packBits(b);
  if (compression === 5) return lzw(b);
  return b;
}

function packBits(b: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < b.length;) {
    let run = 1;
    while (i + run < b.length && run < 128 && b[i + run] === b[i]) run++;
    if (run >= 3) {
      out.push(257 - run, b[i]);
      i += run;
      continue;
    }
    const n = Math.min(128, b.length - i);
    out.push(n - 1, ...b.subarray(i, i + n));
    i += n;
  }
  return Uint8Array.from(out);
}

/** TIFF LZW (MSB-first, early change, clear before the 12-bit table fills). */
export function lzw(b: Uint8Array): Uint8Array {
  const out: number[] = [];
  let acc = 0,
    nbits = 0;
  const emit = (code: number, width: number) => {
    acc = (acc << width) | code;
    nbits += width;
    while (nbits >= 8) {
      out.push((acc >>> (nbits - 8)) & 255);
      nbits -= 8;
    }
    acc &= (1 << nbits) - 1;
  };
  // The decoder widens its codes one entry before the encoder's table reaches the power of two.
  const width = (n: number) => (n < 512 ? 9 : n < 1024 ? 10 : n < 2048 ? 11 : 12);
  let dict = new Map<number, number>(),
    next = 258,
    prefix = -1;
  emit(256, 9);
  for (const byte of b) {
    if (prefix < 0) {
      prefix = byte;
      continue;
    }
    const code = dict.get(prefix * 256 + byte);
    if (code !== undefined) {
      prefix = code;
      continue;
    }
    emit(prefix, width(next));
    dict.set(prefix * 256 + byte, next++);
    prefix = byte;
    if (next === 4094) {
      emit(256, width(next));
      dict = new Map();
      next = 258;
    }
  }
  if (prefix >= 0) emit(prefix, width(next));
  emit(257, width(next + 1));
  if (nbits > 0) out.push((acc << (8 - nbits)) & 255);
  return Uint8Array.from(out);
}

/** Offset of the first IFD and of the entry for `tag` in it (-1 if absent). */
export function findEntry(b: Buffer, tag: number): { ifd: number; entry: number; le: boolean } {
  const le = b[0] === 0x49;
  const ifd = le ? b.readUInt32LE(4) : b.readUInt32BE(4);
  const n = le ? b.readUInt16LE(ifd) : b.readUInt16BE(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
    if ((le ? b.readUInt16LE(e) : b.readUInt16BE(e)) === tag) return { ifd, entry: e, le };
  }
  return { ifd, entry: -1, le };
}

/** Overwrite the count and/or the value (or value offset) field of the first IFD's entry for `tag`. */
export function editEntry(b: Buffer, tag: number, edit: { count?: number; value?: number }): Buffer {
  const { entry, le } = findEntry(b, tag);
  if (entry < 0) throw new Error(`no tag ${tag}`);
  const w32 = (v: number, o: number) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  if (edit.count !== undefined) w32(edit.count, entry + 4);
  if (edit.value !== undefined) w32(edit.value, entry + 8);
  return b;
}

/** TIFF LZW codes written at the widths a decoder reads them (to build invalid code sequences). */
export function lzwCodes(seq: number[]): Uint8Array {
  const out: number[] = [];
  let acc = 0,
    nb = 0,
    width = 9,
    next = 258,
    first = true;
  for (const c of seq) {
    acc = (acc << width) | c;
    nb += width;
    while (nb >= 8) {
      out.push((acc >>> (nb - 8)) & 255);
      nb -= 8;
    }
    acc &= (1 << nb) - 1;
    if (c === 256) {
      width = 9;
      next = 258;
      first = true;
      continue;
    }
    if (first) {
      first = false;
      continue;
    }
    next++;
    if (next + 1 === 1 << width && width !== 12) width++;
  }
  if (nb) out.push((acc << (8 - nb)) & 255);
  return Uint8Array.from(out);
}
