/**
 * Writers for generated test inputs: zip archives (stored/deflate, as torch.save lays them out), pickle
 * byte streams (an opcode assembler), torch.save-style state-dict checkpoints, and safetensors files.
 * Only tests use these; the library itself never writes zips or pickles.
 */
import * as zlib from 'zlib';
import { floatToHalf } from '../../src/weights/dtype';

function crc32(b: Uint8Array): number {
  return (zlib as unknown as { crc32: (d: Uint8Array) => number }).crc32(b) >>> 0;
}

export interface ZipInput { name: string; data: Uint8Array; deflate?: boolean }

/** A plain zip archive (no zip64, no data descriptors). */
export function buildZip(entries: ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const body = e.deflate ? zlib.deflateRawSync(e.data) : Buffer.from(e.data);
    const crc = crc32(e.data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(20, 4); lh.writeUInt16LE(0, 6);
    lh.writeUInt16LE(e.deflate ? 8 : 0, 8); lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(body.length, 18); lh.writeUInt32LE(e.data.length, 22);
    lh.writeUInt16LE(name.length, 26); lh.writeUInt16LE(0, 28);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(20, 4); ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(e.deflate ? 8 : 0, 10); ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(body.length, 20); ch.writeUInt32LE(e.data.length, 24);
    ch.writeUInt16LE(name.length, 28); ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, body);
    central.push(ch, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8); eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12); eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** Pickle opcode assembler (protocol 2 style). */
export class PickleWriter {
  private parts: Buffer[] = [Buffer.from([0x80, 2])];
  op(code: number, ...bytes: number[]): this { this.parts.push(Buffer.from([code, ...bytes])); return this; }
  raw(b: Buffer): this { this.parts.push(b); return this; }
  mark(): this { return this.op(0x28); }
  global(module: string, name: string): this { return this.raw(Buffer.from(`c${module}\n${name}\n`, 'latin1')); }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(5); h[0] = 0x58; h.writeUInt32LE(b.length, 1);
    return this.raw(Buffer.concat([h, b]));
  }
  int(n: number): this {
    const h = Buffer.alloc(5); h[0] = 0x4a; h.writeInt32LE(n, 1);
    return this.raw(h);
  }
  tuple(): this { return this.op(0x74); }
  emptyTuple(): this { return this.op(0x29); }
  reduce(): this { return this.op(0x52); }
  build(): this { return this.op(0x62); }
  emptyDict(): this { return this.op(0x7d); }
  setitems(): this { return this.op(0x75); }
  newobj(): this { return this.op(0x81); }
  persid(): this { return this.op(0x51); }
  stop(): this { return this.op(0x2e); }
  intTuple(xs: number[]): this { this.mark(); for (const x of xs) this.int(x); return this.tuple(); }
  bytes(): Buffer { return Buffer.concat(this.parts); }
}

export interface TensorSpec {
  name: string;
  storageKey: string;
  storageType?: string; // FloatStorage (default), HalfStorage, …
  storageNumel: number;
  offset?: number;
  shape: number[];
  stride?: number[];
}

function contiguousStride(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

/** Push `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` onto the pickle. */
export function pickleTensor(p: PickleWriter, t: TensorSpec): void {
  p.global('torch._utils', '_rebuild_tensor_v2');
  p.mark();
  p.mark().str('storage').global('torch', t.storageType ?? 'FloatStorage').str(t.storageKey).str('cpu').int(t.storageNumel).tuple().persid();
  p.int(t.offset ?? 0).intTuple(t.shape).intTuple(t.stride ?? contiguousStride(t.shape)).op(0x89);
  p.global('collections', 'OrderedDict').emptyTuple().reduce();
  p.tuple().reduce();
}

/** data.pkl of `torch.save(OrderedDict(...))`. `wrap` nests it as {wrap: state_dict}. */
export function stateDictPickle(tensors: TensorSpec[], wrap?: string): Buffer {
  const p = new PickleWriter();
  if (wrap) p.emptyDict().mark().str(wrap);
  p.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  for (const t of tensors) { p.str(t.name); pickleTensor(p, t); }
  p.setitems();
  if (wrap) p.setitems();
  return p.stop().bytes();
}

/** A torch.save-style zip: <top>/data.pkl, <top>/data/<key>, <top>/version. */
export function buildTorchZip(top: string, pickle: Buffer, storages: Record<string, Uint8Array>): Buffer {
  return buildZip([
    { name: `${top}/data.pkl`, data: pickle },
    ...Object.entries(storages).map(([k, d]) => ({ name: `${top}/data/${k}`, data: d })),
    { name: `${top}/version`, data: Buffer.from('3\n') },
  ]);
}

export function f32Bytes(xs: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(xs).buffer);
}

export function f16Bytes(xs: ArrayLike<number>): Uint8Array {
  const u = new Uint16Array(xs.length);
  for (let i = 0; i < xs.length; i++) u[i] = floatToHalf(xs[i]);
  return new Uint8Array(u.buffer);
}

/** A safetensors file from float32 tensors (stored F32, or F16 when asked). */
export function buildSafetensors(tensors: { name: string; shape: number[]; data: ArrayLike<number> }[], dtype: 'F32' | 'F16' = 'F32', metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  const bodies: Uint8Array[] = [];
  let off = 0;
  for (const t of tensors) {
    const b = dtype === 'F32' ? f32Bytes(t.data) : f16Bytes(t.data);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [off, off + b.length] };
    bodies.push(b);
    off += b.length;
  }
  if (metadata) header.__metadata__ = metadata;
  let json = JSON.stringify(header);
  while (json.length % 8) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), ...bodies]);
}
