/**
 * JPEG decoder (baseline and progressive Huffman, 8-bit, 1 or 3 components, restart intervals) that
 * reproduces Pillow/libjpeg-turbo's output exactly; see jpeg-dsp.ts for why jimp's jpeg-js is not used
 * for JPEG. Errors follow Pillow: a file that ends before the image is complete is an error (Pillow
 * raises "image file is truncated"), while a marker inside the entropy data is read as zero bits (libjpeg
 * only warns).
 */
import { AbeClipError, ImageDecodeError, LimitError } from '../errors';
import { idctIslow, Plane, upsample, yccToRgb } from './jpeg-dsp';

/** Zigzag index → natural (row-major) index. */
const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57,
  50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
  // Guard entries: a corrupt run may step k past 63; these keep writes inside the block.
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
]);

interface Huffman {
  lookup: Uint16Array;
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  values: Uint8Array;
}

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  blocksPerLine: number;
  blocksPerColumn: number;
  /** allocated (MCU-padded) */ bpl: number;
  bpc: number;
  coef: Int16Array;
  pred: number;
  dc?: Huffman;
  ac?: Huffman;
}

export interface JpegImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
  exifOrientation?: number;
}

const LOOKAHEAD = 9;

function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
  const lookup = new Uint16Array(1 << LOOKAHEAD);
  const maxcode = new Int32Array(18).fill(-1),
    valptr = new Int32Array(17),
    mincode = new Int32Array(17);
  let code = 0,
    k = 0;
  for (let len = 1; len <= 16; len++) {
    valptr[len] = k;
    mincode[len] = code;
    for (let i = 0; i < counts[len - 1]; i++, k++, code++) {
      if (len <= LOOKAHEAD) {
        const shift = LOOKAHEAD - len;
        for (let j = 0; j < 1 << shift; j++) lookup[(code << shift) | j] = (len << 8) | values[k];
      }
    }
    if (counts[len - 1]) maxcode[len] = code - 1;
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff; // sentinel: decode ends at length 17 (a corrupt code)
  return { lookup, maxcode, valptr, mincode, values };
}

class BitReader {
  acc = 0;
  cnt = 0;
  /** Reading stopped at a marker (or the end of the data): further bits are zeros. */
  stopped = false;
  eof = false;
  constructor(
    private d: Uint8Array,
    public pos: number,
  ) {}

  private fill(): void {
    const d = this.d;
    while (this.cnt <= 24) {
      let byte = 0;
      if (!this.stopped) {
        if (this.pos >= d.length) {
          this.stopped = true;
          this.eof = true;
        } else {
          byte = d[this.pos];
          if (byte === 0xff) {
            const nb = this.pos + 1 < d.length ? d[this.pos + 1] : -1;
            if (nb === 0) this.pos += 2;
            else {
              byte = 0;
              this.stopped = true;
              if (nb < 0) this.eof = true;
            }
          } else this.pos++;
        }
      }
      this.acc = ((this.acc << 8) | byte) >>> 0;
      this.cnt += 8;
    }
  }

  bit(): number {
    if (this.cnt < 1) this.fill();
    this.cnt--;
    return (this.acc >>> this.cnt) & 1;
  }

  bits(n: number): number {
    if (n === 0) return 0;
    if (this.cnt < n) this.fill();
    this.cnt -= n;
    return (this.acc >>> this.cnt) & ((1 << n) - 1);
  }

  /** Receive n bits and sign-extend them as a JPEG magnitude category. */
  extend(n: number): number {
    if (n === 0) return 0;
    if (n > 16) throw new Error(`magnitude category ${n}`);
    const v = this.bits(n);
    return v < 1 << (n - 1) ? v - (1 << n) + 1 : v;
  }

  decode(t: Huffman): number {
    if (this.cnt < 16) this.fill();
    const e = t.lookup[(this.acc >>> (this.cnt - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1)];
    if (e !== 0) {
      this.cnt -= e >> 8;
      return e & 0xff;
    }
    let len = LOOKAHEAD + 1;
    let code = (this.acc >>> (this.cnt - len)) & ((1 << len) - 1);
    while (code > t.maxcode[len]) {
      len++;
      code = (this.acc >>> (this.cnt - len)) & ((1 << len) - 1);
    }
    if (len > 16) throw new Error('bad Huffman code');
    this.cnt -= len;
    return t.values[t.valptr[len] + code - t.mincode[len]];
  }

  reset(): void {
    this.acc = 0;
    this.cnt = 0;
    this.stopped = false;
  }
}

export function decodeJpeg(d: Uint8Array, source: string): JpegImage {
  const fail = (p: string): never => {
    throw new ImageDecodeError(source, p);
  };
  try {
    return decodeInner(d, fail, source);
  } catch (e) {
    if (e instanceof AbeClipError) throw e;
    if (e instanceof RangeError) throw new LimitError(source, `cannot allocate memory to decode the JPEG (${e.message})`);
    return fail(`corrupt JPEG data (${(e as Error).message})`);
  }
}

/**
 * Scans one JPEG may have (libjpeg-turbo's djpeg has `-maxscans` for the same reason). Every scan walks the
 * whole image, so a few bytes per scan buy a full pass: 8,000 empty progressive scans in 88 KB took minutes.
 * Real progressive files have about 10 scans (mozjpeg's optimised scripts, a few dozen).
 */
export const MAX_JPEG_SCANS = 1000;
/** Block visits over all scans, as a multiple of the frame's blocks (a standard progressive script is ≈ 10×). */
export const MAX_JPEG_PASSES = 64;

function decodeInner(d: Uint8Array, fail: (p: string) => never, source: string): JpegImage {
  const qt: Uint16Array[] = [];
  const dcTables: Huffman[] = [],
    acTables: Huffman[] = [];
  const comps: Component[] = [];
  let width = 0,
    height = 0,
    maxH = 1,
    maxV = 1,
    mcusPerLine = 0,
    mcusPerColumn = 0;
  let progressive = false,
    frame = false,
    restartInterval = 0;
  let adobeTransform = -1,
    jfif = false,
    exifOrientation: number | undefined;
  let eobrun = 0;
  let scans = 0;
  let blockVisits = 0;
  let o = 2;
  const u16 = (i: number) => {
    if (i + 2 > d.length) fail('truncated JPEG (file ends inside a marker segment)');
    return (d[i] << 8) | d[i + 1];
  };

  for (;;) {
    if (o >= d.length) {
      if (scans > 0) break; // missing EOI after complete scans: libjpeg accepts with a warning
      fail('truncated JPEG (file ends before the image data)');
    }
    if (d[o] !== 0xff) {
      // Stray bytes between segments: libjpeg skips to the next marker with a warning.
      while (o < d.length && d[o] !== 0xff) o++;
      continue;
    }
    const m = d[o + 1];
    if (m === 0xff) {
      o++;
      continue;
    }
    o += 2;
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) continue;
    if (m === 0xd9) break;
    const len = u16(o);
    const end = o + len;
    if (len < 2) fail(`corrupt JPEG: marker 0x${m.toString(16)} has length ${len}`);
    if (end > d.length) fail(`truncated JPEG (marker 0x${m.toString(16)} segment runs past the end of the file)`);
    const seg = o + 2;
    switch (m) {
      case 0xdb: {
        // DQT
        let p = seg;
        while (p < end) {
          const pq = d[p] >> 4,
            tq = d[p] & 15;
          p++;
          if (tq > 3) fail(`corrupt JPEG: quantisation table id ${tq}`);
          const t = new Uint16Array(64);
          for (let i = 0; i < 64; i++) {
            t[ZIGZAG[i]] = pq ? (d[p] << 8) | d[p + 1] : d[p];
            p += pq ? 2 : 1;
          }
          qt[tq] = t;
        }
        break;
      }
      case 0xc4: {
        // DHT
        let p = seg;
        while (p < end) {
          const tc = d[p] >> 4,
            th = d[p] & 15;
          const counts = d.subarray(p + 1, p + 17);
          let n = 0;
          for (let i = 0; i < 16; i++) n += counts[i];
          if (p + 17 + n > end || th > 3 || tc > 1) fail('corrupt JPEG Huffman table');
          const tbl = buildHuffman(counts, d.slice(p + 17, p + 17 + n));
          (tc === 0 ? dcTables : acTables)[th] = tbl;
          p += 17 + n;
        }
        break;
      }
      case 0xdd:
        restartInterval = u16(seg);
        break;
      case 0xe0:
        if (len >= 7 && d[seg] === 0x4a && d[seg + 1] === 0x46 && d[seg + 2] === 0x49 && d[seg + 3] === 0x46) jfif = true;
        break;
      case 0xe1:
        if (exifOrientation === undefined) exifOrientation = readExifOrientation(d, seg, end);
        break;
      case 0xee:
        if (len >= 14 && String.fromCharCode(d[seg], d[seg + 1], d[seg + 2], d[seg + 3], d[seg + 4]) === 'Adobe')
          adobeTransform = d[seg + 11];
        break;
      case 0xc0:
      case 0xc1:
      case 0xc2: {
        if (frame) fail('corrupt JPEG: more than one frame header');
        frame = true;
        progressive = m === 0xc2;
        if (d[seg] !== 8) fail(`unsupported JPEG sample precision ${d[seg]} bits (only 8-bit)`);
        height = u16(seg + 1);
        width = u16(seg + 3);
        if (height === 0) fail('unsupported JPEG: height defined by a DNL marker');
        const nc = d[seg + 5];
        if (nc !== 1 && nc !== 3) fail(`unsupported JPEG with ${nc} components (CMYK/YCCK are not supported)`);
        for (let i = 0; i < nc; i++) {
          const b = seg + 6 + i * 3;
          const h = d[b + 1] >> 4,
            v = d[b + 1] & 15;
          if (h < 1 || h > 4 || v < 1 || v > 4) fail(`corrupt JPEG sampling factors ${h}×${v}`);
          comps.push({
            id: d[b],
            h,
            v,
            tq: d[b + 2],
            blocksPerLine: 0,
            blocksPerColumn: 0,
            bpl: 0,
            bpc: 0,
            coef: new Int16Array(0),
            pred: 0,
          });
          maxH = Math.max(maxH, h);
          maxV = Math.max(maxV, v);
        }
        if (nc === 1) {
          comps[0].h = comps[0].v = 1;
          maxH = maxV = 1;
        } // a lone component is never subsampled
        mcusPerLine = Math.ceil(width / (8 * maxH));
        mcusPerColumn = Math.ceil(height / (8 * maxV));
        for (const c of comps) {
          if (maxH % c.h || maxV % c.v) fail('unsupported JPEG: fractional chroma sampling');
          c.blocksPerLine = Math.ceil(Math.ceil((width * c.h) / maxH) / 8);
          c.blocksPerColumn = Math.ceil(Math.ceil((height * c.v) / maxV) / 8);
          c.bpl = mcusPerLine * c.h;
          c.bpc = mcusPerColumn * c.v;
          c.coef = new Int16Array(c.bpl * c.bpc * 64);
        }
        break;
      }
      case 0xc3:
      case 0xc5:
      case 0xc6:
      case 0xc7:
      case 0xc9:
      case 0xca:
      case 0xcb:
      case 0xcd:
      case 0xce:
      case 0xcf:
        fail(`unsupported JPEG process (SOF${m - 0xc0}: lossless, hierarchical or arithmetic-coded)`);
        break;
      case 0xda: {
        // SOS
        if (!frame) fail('corrupt JPEG: scan before the frame header');
        const ns = d[seg];
        const scomps: Component[] = [];
        for (let i = 0; i < ns; i++) {
          const cid = d[seg + 1 + i * 2],
            t = d[seg + 2 + i * 2];
          const c = comps.find((x) => x.id === cid) ?? fail(`corrupt JPEG: scan refers to unknown component ${cid}`);
          c.dc = dcTables[t >> 4];
          c.ac = acTables[t & 15];
          scomps.push(c);
        }
        const p = seg + 1 + ns * 2;
        const ss = d[p],
          se = d[p + 1],
          ah = d[p + 2] >> 4,
          al = d[p + 2] & 15;
        // Bound the work before doing it: scans beyond the cap or past MAX_JPEG_PASSES whole-image passes.
        if (scans >= MAX_JPEG_SCANS) throw new LimitError(source, `JPEG has more than ${MAX_JPEG_SCANS} scans`);
        blockVisits += scomps.reduce((s, c) => s + c.bpl * c.bpc, 0);
        const frameBlocks = comps.reduce((s, c) => s + c.bpl * c.bpc, 0);
        if (blockVisits > MAX_JPEG_PASSES * frameBlocks) {
          throw new LimitError(source, `JPEG scans would decode the image more than ${MAX_JPEG_PASSES} times over (${scans + 1} scans)`);
        }
        const br = new BitReader(d, end);
        decodeScan(br, scomps);
        scans++;
        if (br.eof) fail('image file is truncated (the JPEG data ends in the middle of a scan)');
        // Skip to the next marker (not a restart marker).
        o = br.pos;
        while (o + 1 < d.length && !(d[o] === 0xff && d[o + 1] !== 0 && !(d[o + 1] >= 0xd0 && d[o + 1] <= 0xd7))) o++;
        if (o + 1 >= d.length) fail('image file is truncated (no marker after the last scan)');
        continue;

        function decodeScan(r: BitReader, sc: Component[]): void {
          for (const c of sc) {
            c.pred = 0;
            const needDc = !progressive || (ss === 0 && ah === 0);
            const needAc = !progressive || ss > 0;
            if ((needDc && !c.dc) || (needAc && !c.ac)) fail('corrupt JPEG: scan uses an undefined Huffman table');
          }
          if (progressive && (se > 63 || ss > se || (ss === 0 && se !== 0) || (ss > 0 && sc.length !== 1)))
            fail('corrupt JPEG: bad progressive scan parameters');
          eobrun = 0;
          const decodeBlock = !progressive ? baseline : ss === 0 ? (ah === 0 ? dcFirst : dcRefine) : ah === 0 ? acFirst : acRefine;
          const single = sc.length === 1;
          const total = single ? sc[0].blocksPerLine * sc[0].blocksPerColumn : mcusPerLine * mcusPerColumn;
          for (let n = 0; n < total; n++) {
            if (restartInterval && n > 0 && n % restartInterval === 0) restart(r, sc);
            if (single) {
              const c = sc[0];
              const row = (n / c.blocksPerLine) | 0,
                col = n - row * c.blocksPerLine;
              decodeBlock(r, c, (row * c.bpl + col) * 64);
            } else {
              const mr = (n / mcusPerLine) | 0,
                mc = n - mr * mcusPerLine;
              for (const c of sc) {
                for (let v = 0; v < c.v; v++) {
                  for (let h = 0; h < c.h; h++) decodeBlock(r, c, ((mr * c.v + v) * c.bpl + mc * c.h + h) * 64);
                }
              }
            }
            if (r.eof) return;
          }
        }

        function restart(r: BitReader, sc: Component[]): void {
          let q = r.pos;
          // Find the RSTn marker (libjpeg resynchronises on the next marker the same way).
          while (q + 1 < d.length && !(d[q] === 0xff && d[q + 1] >= 0xd0 && d[q + 1] <= 0xd7)) {
            if (d[q] === 0xff && d[q + 1] !== 0 && d[q + 1] !== 0xff) break;
            q++;
          }
          if (q + 1 < d.length && d[q] === 0xff && d[q + 1] >= 0xd0 && d[q + 1] <= 0xd7) q += 2;
          r.pos = q;
          r.reset();
          eobrun = 0;
          for (const c of sc) c.pred = 0;
        }

        function baseline(r: BitReader, c: Component, off: number): void {
          const co = c.coef;
          const t = r.decode(c.dc!);
          c.pred += r.extend(t);
          co[off] = c.pred;
          const ac = c.ac!;
          for (let k = 1; k < 64;) {
            const rs = r.decode(ac);
            const s = rs & 15,
              rr = rs >> 4;
            if (s === 0) {
              if (rr < 15) break;
              k += 16;
              continue;
            }
            k += rr;
            co[off + ZIGZAG[k]] = r.extend(s);
            k++;
          }
        }

        function dcFirst(r: BitReader, c: Component, off: number): void {
          const t = r.decode(c.dc!);
          c.pred += r.extend(t);
          c.coef[off] = c.pred * (1 << al);
        }

        function dcRefine(r: BitReader, c: Component, off: number): void {
          if (r.bit()) c.coef[off] |= 1 << al;
        }

        function acFirst(r: BitReader, c: Component, off: number): void {
          if (eobrun > 0) {
            eobrun--;
            return;
          }
          const co = c.coef,
            ac = c.ac!;
          for (let k = ss; k <= se;) {
            const rs = r.decode(ac);
            const s = rs & 15,
              rr = rs >> 4;
            if (s === 0) {
              if (rr < 15) {
                eobrun = (1 << rr) - 1;
                if (rr) eobrun += r.bits(rr);
                break;
              }
              k += 16;
              continue;
            }
            k += rr;
            co[off + ZIGZAG[k]] = r.extend(s) * (1 << al);
            k++;
          }
        }

        function acRefine(r: BitReader, c: Component, off: number): void {
          const co = c.coef,
            ac = c.ac!;
          const p1 = 1 << al,
            m1 = -1 << al;
          let k = ss;
          if (eobrun === 0) {
            for (; k <= se; k++) {
              const rs = r.decode(ac);
              let rr = rs >> 4,
                s = rs & 15;
              if (s) {
                s = r.bit() ? p1 : m1;
              } else if (rr !== 15) {
                eobrun = 1 << rr;
                if (rr) eobrun += r.bits(rr);
                break;
              }
              do {
                const z = off + ZIGZAG[k];
                if (co[z] !== 0) {
                  if (r.bit() && (co[z] & p1) === 0) co[z] += co[z] >= 0 ? p1 : m1;
                } else if (--rr < 0) break;
                k++;
              } while (k <= se);
              if (s && k <= 63) co[off + ZIGZAG[k]] = s;
            }
          }
          if (eobrun > 0) {
            for (; k <= se; k++) {
              const z = off + ZIGZAG[k];
              if (co[z] !== 0 && r.bit() && (co[z] & p1) === 0) co[z] += co[z] >= 0 ? p1 : m1;
            }
            eobrun--;
          }
        }
      }
      default:
        break; // APPn, COM, etc.
    }
    o = end;
  }
  if (!frame) fail('JPEG has no frame header');
  if (scans === 0) fail('image file is truncated (JPEG has no scan data)');

  // IDCT every block, then upsample and convert colour.
  const planes: Uint8Array[] = [];
  for (const c of comps) {
    const q = qt[c.tq] ?? fail(`corrupt JPEG: quantisation table ${c.tq} is not defined`);
    const stride = c.bpl * 8;
    const data = new Uint8Array(stride * c.bpc * 8);
    for (let by = 0; by < c.blocksPerColumn; by++) {
      for (let bx = 0; bx < c.blocksPerLine; bx++) {
        idctIslow(c.coef, (by * c.bpl + bx) * 64, q, data, by * 8 * stride + bx * 8, stride);
      }
    }
    const plane: Plane = { data, stride, width: Math.ceil((width * c.h) / maxH), height: Math.ceil((height * c.v) / maxV) };
    planes.push(upsample(plane, maxH / c.h, maxV / c.v, width, height));
    c.coef = new Int16Array(0);
  }
  if (comps.length === 1) return { width, height, channels: 1, data: planes[0], exifOrientation };
  // libjpeg's colour-space guess (jdapimin.c): JFIF or Adobe transform≠0 → YCbCr; Adobe 0 or ids 'RGB' → RGB.
  const ids = comps.map((c) => c.id);
  const rgb = !jfif && (adobeTransform === 0 || (adobeTransform < 0 && ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42));
  const out = new Uint8Array(width * height * 3);
  if (rgb) {
    for (let i = 0; i < width * height; i++) {
      out[i * 3] = planes[0][i];
      out[i * 3 + 1] = planes[1][i];
      out[i * 3 + 2] = planes[2][i];
    }
  } else {
    yccToRgb(planes[0], planes[1], planes[2], out);
  }
  return { width, height, channels: 3, data: out, exifOrientation };
}

/** Orientation (tag 0x0112) from an APP1 "Exif\0\0" segment, or undefined. */
export function readExifOrientation(d: Uint8Array, seg: number, end: number): number | undefined {
  if (end - seg < 14 || String.fromCharCode(d[seg], d[seg + 1], d[seg + 2], d[seg + 3]) !== 'Exif') return undefined;
  return tiffOrientation(d.subarray(seg + 6, end));
}

/** Orientation tag of IFD0 of a TIFF-structured block (EXIF payload). */
export function tiffOrientation(t: Uint8Array): number | undefined {
  if (t.length < 8) return undefined;
  const le = t[0] === 0x49;
  const r16 = (i: number) => (le ? t[i] | (t[i + 1] << 8) : (t[i] << 8) | t[i + 1]);
  const r32 = (i: number) =>
    le
      ? (t[i] | (t[i + 1] << 8) | (t[i + 2] << 16) | (t[i + 3] << 24)) >>> 0
      : ((t[i] << 24) | (t[i + 1] << 16) | (t[i + 2] << 8) | t[i + 3]) >>> 0;
  const ifd = r32(4);
  if (ifd + 2 > t.length) return undefined;
  const n = r16(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > t.length) return undefined;
    if (r16(e) === 0x0112) {
      const v = r16(e + 8);
      return v >= 1 && v <= 8 ? v : undefined;
    }
  }
  return undefined;
}
