/**
 * safetensors reader. The file is opened once; the header is validated in full before any tensor is read,
 * and each tensor is read straight from its byte range (never the whole file into memory at once).
 * Format: u64 LE header length N, N bytes of JSON {name: {dtype, shape, data_offsets:[begin,end]}, __metadata__},
 * then the data section; offsets are relative to the data section.
 */
import * as fs from 'fs';
import { WeightsFormatError } from '../errors';
import { getLimits } from '../limits';
import { openRegularFile } from '../io/regular-file';
import { checkFinite, decode, ITEM_SIZE, StoredDtype } from './dtype';
import { numel, RawTensor, TensorMap } from './types';
import { renderValue } from '../io/render';

export interface SafetensorsEntry {
  name: string;
  dtype: StoredDtype;
  shape: number[];
  /** Absolute byte range in the file/buffer. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  dataStart: number;
  fileSize: number;
}

/** A byte source: a file descriptor or an in-memory buffer. */
interface ByteSource {
  label: string;
  size: number;
  read(begin: number, end: number): Uint8Array;
  close(): void;
}

function fileSource(path: string): ByteSource {
  const { fd, size } = openRegularFile(path, (p) => new WeightsFormatError(path, p));
  return {
    label: path,
    size,
    read(begin, end) {
      const out = new Uint8Array(end - begin);
      let off = 0;
      while (off < out.length) {
        let n: number;
        try {
          n = fs.readSync(fd, out, off, out.length - off, begin + off);
        } catch (e) {
          throw new WeightsFormatError(path, `read failed at byte ${begin + off}: ${(e as Error).message}`);
        }
        if (n <= 0) throw new WeightsFormatError(path, `unexpected end of file at byte ${begin + off}`);
        off += n;
      }
      return out;
    },
    close() { fs.closeSync(fd); },
  };
}

function bufferSource(buf: Uint8Array, label: string): ByteSource {
  return { label, size: buf.byteLength, read: (b, e) => buf.subarray(b, e), close() {} };
}

const DTYPES = new Set<string>(Object.keys(ITEM_SIZE));

function parseHeader(src: ByteSource): SafetensorsHeader {
  const fail = (p: string): never => { throw new WeightsFormatError(src.label, p); };
  if (src.size < 8) fail(`file is ${src.size} bytes, too short for a safetensors header`);
  const lenBytes = src.read(0, 8);
  const n = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(src.size - 8)) fail(`header length ${n} runs past the end of the file (${src.size} bytes)`);
  if (n > BigInt(getLimits().maxHeaderBytes)) fail(`header length ${n} exceeds the limit maxHeaderBytes=${getLimits().maxHeaderBytes}`);
  const hlen = Number(n);
  const text = Buffer.from(src.read(8, 8 + hlen)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`header is not JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) fail('header JSON is not an object');
  const dataStart = 8 + hlen;
  const dataLen = src.size - dataStart;
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as object)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object') fail(`tensor '${name}': entry is not an object`);
    if (typeof e.dtype !== 'string' || !DTYPES.has(e.dtype)) fail(`tensor '${name}': unknown dtype ${renderValue(e.dtype)}`);
    const dtype = e.dtype as StoredDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor '${name}': shape ${renderValue(e.shape)} is not a list of non-negative integers`);
    }
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor '${name}': data_offsets ${renderValue(off)} is not a pair of non-negative integers`);
    }
    const [b, en] = off as number[];
    if (en < b) fail(`tensor '${name}': data_offsets [${b}, ${en}] end before they begin`);
    if (en > dataLen) fail(`tensor '${name}': data_offsets [${b}, ${en}] run past the data section (${dataLen} bytes)`);
    const count = numel(shape);
    if (count * ITEM_SIZE[dtype] !== en - b) {
      fail(`tensor '${name}': ${dtype} × shape [${shape}] is ${count * ITEM_SIZE[dtype]} bytes but data_offsets span ${en - b}`);
    }
    if (count * 4 > getLimits().maxTensorBytes) fail(`tensor '${name}': ${count} elements exceed the limit maxTensorBytes`);
    entries.push({ name, dtype, shape, begin: dataStart + b, end: dataStart + en });
  }
  // The data section must be covered exactly: no overlap, no holes.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = dataStart;
  for (const e of sorted) {
    if (e.begin < pos) fail(`tensor '${e.name}' overlaps the tensor before it (byte ${e.begin - dataStart})`);
    if (e.begin > pos) fail(`hole of ${e.begin - pos} bytes before tensor '${e.name}' (byte ${pos - dataStart})`);
    pos = e.end;
  }
  if (pos !== src.size) fail(`${src.size - pos} trailing bytes after the last tensor`);
  return { entries, metadata, dataStart, fileSize: src.size };
}

/** An open safetensors file: header parsed and validated, tensors read on demand. */
export class SafetensorsFile {
  readonly header: SafetensorsHeader;
  private readonly src: ByteSource;
  private readonly byName: Map<string, SafetensorsEntry>;

  private constructor(src: ByteSource) {
    this.src = src;
    try {
      this.header = parseHeader(src);
    } catch (e) {
      src.close();
      throw e;
    }
    this.byName = new Map(this.header.entries.map((e) => [e.name, e]));
  }

  static open(path: string): SafetensorsFile {
    return new SafetensorsFile(fileSource(path));
  }

  static fromBuffer(buf: Uint8Array, label = '<buffer>'): SafetensorsFile {
    return new SafetensorsFile(bufferSource(buf, label));
  }

  get label(): string { return this.src.label; }
  get names(): string[] { return this.header.entries.map((e) => e.name); }
  get metadata(): Record<string, string> { return this.header.metadata; }
  entry(name: string): SafetensorsEntry | undefined { return this.byName.get(name); }

  /** Read one tensor, decoded to float32 (floats) or int32 (integers). */
  read(name: string): RawTensor {
    const e = this.byName.get(name);
    if (!e) throw new WeightsFormatError(this.src.label, `no tensor named '${name}'`);
    const bytes = this.src.read(e.begin, e.end);
    const data = decode(bytes, e.dtype, () => {
      throw new WeightsFormatError(this.src.label, `tensor '${name}': I64 value outside the int32 range`);
    });
    checkFinite(data, this.src.label, name);
    const dtype = data instanceof Float32Array ? 'float32' : 'int32';
    return { dtype, shape: [...e.shape], data, storedAs: e.dtype };
  }

  /** Read every tensor (file order). */
  readAll(): TensorMap {
    const out: TensorMap = new Map();
    for (const e of this.header.entries) out.set(e.name, this.read(e.name));
    return out;
  }

  close(): void { this.src.close(); }
}

/** Convenience: open, read everything, close. */
export function readSafetensors(path: string): { tensors: TensorMap; metadata: Record<string, string> } {
  const f = SafetensorsFile.open(path);
  try {
    return { tensors: f.readAll(), metadata: f.metadata };
  } finally {
    f.close();
  }
}
