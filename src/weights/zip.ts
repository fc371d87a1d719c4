/**
 * Minimal zip reader for PyTorch checkpoints: central directory parsed and bounds-checked, entries read by
 * offset from the open file (never the whole archive into memory), stored and deflate entries, CRC checked.
 * Zip64, multi-disk and encrypted archives are refused: torch.save never writes them below 4 GiB, and a
 * half-supported zip64 reader would be a place for bugs to hide.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import { WeightsFormatError } from '../errors';
import { getLimits } from '../limits';
import { openRegularFile } from '../io/regular-file';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;
const EOCD_MIN = 22;
const MAX_COMMENT = 0xffff;

let crcTable: Uint32Array | undefined;
function crc32(bytes: Uint8Array): number {
  const native = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;
  if (native) return native(bytes) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export class ZipFile {
  readonly label: string;
  readonly size: number;
  readonly entries: ZipEntry[];
  private readonly fd: number;
  private readonly byName: Map<string, ZipEntry>;

  private constructor(label: string, fd: number, size: number) {
    this.label = label;
    this.fd = fd;
    this.size = size;
    try {
      this.entries = this.readCentralDirectory();
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    this.byName = new Map(this.entries.map((e) => [e.name, e]));
  }

  static open(path: string): ZipFile {
    const { fd, size } = openRegularFile(path, (p) => new WeightsFormatError(path, p));
    return new ZipFile(path, fd, size);
  }

  private fail(problem: string): never {
    throw new WeightsFormatError(this.label, problem);
  }

  private readAt(begin: number, length: number): Uint8Array {
    if (begin < 0 || length < 0 || begin + length > this.size) {
      this.fail(`zip: read of ${length} bytes at ${begin} runs past the end of the file (${this.size} bytes)`);
    }
    const out = new Uint8Array(length);
    let off = 0;
    while (off < length) {
      const n = fs.readSync(this.fd, out, off, length - off, begin + off);
      if (n <= 0) this.fail(`zip: unexpected end of file at byte ${begin + off}`);
      off += n;
    }
    return out;
  }

  private readCentralDirectory(): ZipEntry[] {
    if (this.size < EOCD_MIN) this.fail(`zip: file is ${this.size} bytes, too short to be a zip archive`);
    const tailLen = Math.min(this.size, EOCD_MIN + MAX_COMMENT);
    const tailStart = this.size - tailLen;
    const tail = this.readAt(tailStart, tailLen);
    const tv = new DataView(tail.buffer);
    let eocd = -1;
    for (let i = tailLen - EOCD_MIN; i >= 0; i--) {
      if (tv.getUint32(i, true) === EOCD_SIG && i + EOCD_MIN + tv.getUint16(i + 20, true) === tailLen) { eocd = i; break; }
    }
    if (eocd < 0) {
      for (let i = tailLen - EOCD_MIN; i >= 0; i--) if (tv.getUint32(i, true) === EOCD_SIG) { eocd = i; break; }
    }
    if (eocd < 0) this.fail('zip: no end-of-central-directory record (not a zip archive, or truncated)');
    const disk = tv.getUint16(eocd + 4, true);
    const cdDisk = tv.getUint16(eocd + 6, true);
    const nThisDisk = tv.getUint16(eocd + 8, true);
    const nTotal = tv.getUint16(eocd + 10, true);
    const cdSize = tv.getUint32(eocd + 12, true);
    const cdOffset = tv.getUint32(eocd + 16, true);
    // PyTorch's writer always adds a zip64 end record and locator; they only matter when the classic
    // fields are saturated, which is the case we refuse.
    const hasZip64 = eocd >= 20 && tv.getUint32(eocd - 20, true) === ZIP64_LOCATOR_SIG;
    if (nTotal === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff || (hasZip64 && cdDisk === 0xffff)) {
      this.fail('zip: zip64 archives are not supported (re-save the checkpoint below 4 GiB or as safetensors)');
    }
    if (disk !== 0 || cdDisk !== 0 || nThisDisk !== nTotal) this.fail('zip: multi-disk archives are not supported');
    const eocdAbs = tailStart + eocd;
    if (cdOffset + cdSize > eocdAbs) {
      this.fail(`zip: central directory [${cdOffset}, ${cdOffset + cdSize}) runs past its end record at ${eocdAbs}`);
    }
    if (cdSize > getLimits().maxHeaderBytes) this.fail(`zip: central directory of ${cdSize} bytes exceeds maxHeaderBytes`);
    const cd = this.readAt(cdOffset, cdSize);
    const v = new DataView(cd.buffer);
    const entries: ZipEntry[] = [];
    const seen = new Set<string>();
    let p = 0;
    for (let i = 0; i < nTotal; i++) {
      if (p + 46 > cdSize) this.fail(`zip: central directory ends inside entry ${i} of ${nTotal}`);
      if (v.getUint32(p, true) !== CDH_SIG) this.fail(`zip: bad central directory signature at entry ${i} (byte ${cdOffset + p})`);
      const flags = v.getUint16(p + 8, true);
      const method = v.getUint16(p + 10, true);
      const crc = v.getUint32(p + 16, true);
      const compressedSize = v.getUint32(p + 20, true);
      const size = v.getUint32(p + 24, true);
      const nameLen = v.getUint16(p + 28, true);
      const extraLen = v.getUint16(p + 30, true);
      const commentLen = v.getUint16(p + 32, true);
      const localHeaderOffset = v.getUint32(p + 42, true);
      if (p + 46 + nameLen + extraLen + commentLen > cdSize) this.fail(`zip: central directory entry ${i} runs past the directory`);
      const name = Buffer.from(cd.subarray(p + 46, p + 46 + nameLen)).toString('utf8');
      if (compressedSize === 0xffffffff || size === 0xffffffff || localHeaderOffset === 0xffffffff) {
        this.fail(`zip: entry '${name}' uses zip64 sizes, which are not supported`);
      }
      if (flags & 1) this.fail(`zip: entry '${name}' is encrypted`);
      if (method !== 0 && method !== 8) this.fail(`zip: entry '${name}' uses compression method ${method} (only stored and deflate are supported)`);
      if (method === 0 && compressedSize !== size) this.fail(`zip: stored entry '${name}' has compressed size ${compressedSize} ≠ size ${size}`);
      if (localHeaderOffset + 30 + compressedSize > cdOffset) {
        this.fail(`zip: entry '${name}' (${compressedSize} bytes at ${localHeaderOffset}) overlaps the central directory`);
      }
      if (seen.has(name)) this.fail(`zip: duplicate entry '${name}'`);
      seen.add(name);
      entries.push({ name, method, compressedSize, size, crc32: crc, localHeaderOffset });
      p += 46 + nameLen + extraLen + commentLen;
    }
    return entries;
  }

  has(name: string): boolean { return this.byName.has(name); }
  entry(name: string): ZipEntry | undefined { return this.byName.get(name); }

  /** Byte offset of an entry's data, from its local header (whose extra field may differ from the central one). */
  private dataOffset(e: ZipEntry): number {
    const h = this.readAt(e.localHeaderOffset, 30);
    const hv = new DataView(h.buffer);
    if (hv.getUint32(0, true) !== LFH_SIG) this.fail(`zip: bad local header signature for entry '${e.name}' at byte ${e.localHeaderOffset}`);
    const start = e.localHeaderOffset + 30 + hv.getUint16(26, true) + hv.getUint16(28, true);
    if (start + e.compressedSize > this.size) {
      this.fail(`zip: entry '${e.name}' is truncated (${e.compressedSize} bytes at ${start}, file is ${this.size} bytes)`);
    }
    return start;
  }

  /**
   * Read and check one entry (decompressed, CRC verified). `maxBytes` bounds what a caller is ready to hold
   * (default maxTensorBytes, the limit every tensor's bytes are under); it is checked against the declared
   * size before anything is inflated, and inflation stops at the declared size, so a deflate bomb costs
   * at most that many bytes.
   */
  read(name: string, maxBytes = getLimits().maxTensorBytes, limitName = 'maxTensorBytes'): Uint8Array {
    const e = this.byName.get(name);
    if (!e) this.fail(`zip: no entry '${name}'`);
    if (e.size > maxBytes) this.fail(`zip: entry '${name}' is ${e.size} bytes, more than ${limitName} (${maxBytes})`);
    const raw = this.readAt(this.dataOffset(e), e.compressedSize);
    let data: Uint8Array;
    if (e.method === 0) {
      data = raw;
    } else {
      try {
        data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
      } catch (err) {
        this.fail(`zip: entry '${name}' does not inflate (${(err as Error).message})`);
      }
      if (data.byteLength !== e.size) this.fail(`zip: entry '${name}' inflates to ${data.byteLength} bytes, directory says ${e.size}`);
    }
    if (crc32(data) !== e.crc32) this.fail(`zip: entry '${name}' fails its CRC check (corrupt or truncated)`);
    return data;
  }

  close(): void { fs.closeSync(this.fd); }
}

/** True when the first bytes are a zip local header (cheap sniff, no parsing). */
export function looksLikeZip(path: string): boolean {
  const { fd } = openRegularFile(path, (p) => new WeightsFormatError(path, p));
  try {
    const b = Buffer.alloc(4);
    return fs.readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32LE(0) === LFH_SIG;
  } finally {
    fs.closeSync(fd);
  }
}
