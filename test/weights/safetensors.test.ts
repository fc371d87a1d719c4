import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { WeightsFormatError } from '../../src/errors';
import { setLimits } from '../../src/limits';
import { floatToHalf } from '../../src/weights/dtype';
import { readSafetensors, SafetensorsFile } from '../../src/weights/safetensors';
import { fixturePath } from '../helpers/paths';

interface Spec { dtype: string; shape: number[]; bytes: Uint8Array; offsets?: [number, number] }

/** Write a safetensors file by hand (so tests can also write broken ones). */
function build(specs: Record<string, Spec>, opts: { header?: string; lenOverride?: bigint; extra?: number } = {}): Buffer {
  const header: Record<string, unknown> = {};
  const datas: Uint8Array[] = [];
  let off = 0;
  for (const [name, s] of Object.entries(specs)) {
    header[name] = { dtype: s.dtype, shape: s.shape, data_offsets: s.offsets ?? [off, off + s.bytes.length] };
    datas.push(s.bytes);
    off += s.bytes.length;
  }
  const json = Buffer.from(opts.header ?? JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(opts.lenOverride ?? BigInt(json.length));
  return Buffer.concat([len, json, ...datas.map((d) => Buffer.from(d)), Buffer.alloc(opts.extra ?? 0)]);
}

const f32 = (xs: number[]): Uint8Array => new Uint8Array(new Float32Array(xs).buffer);

describe('weights/safetensors', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-st-')); });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  function write(name: string, buf: Buffer): string {
    const p = path.join(dir, name);
    fs.writeFileSync(p, buf);
    return p;
  }

  function expectFormatError(p: string, re: RegExp): void {
    let err: unknown;
    try { readSafetensors(p); } catch (e) { err = e; }
    expect(err, 'expected a WeightsFormatError').to.be.instanceOf(WeightsFormatError);
    const e = err as WeightsFormatError;
    expect(e.source).to.equal(p);
    expect(e.message).to.contain(p);
    expect(e.problem).to.match(re);
  }

  it('reads every stored dtype exactly (F32, F16, BF16, I32, I64, F64)', () => {
    const half = new Uint16Array([floatToHalf(1), floatToHalf(-2.5), floatToHalf(65504), 0x0001]);
    const bf = new Uint16Array([0x3f80, 0xc020]); // 1, -2.5
    const i64 = new BigInt64Array([-3n, 2147483647n]);
    const p = write('dtypes.safetensors', build({
      f64: { dtype: 'F64', shape: [1], bytes: new Uint8Array(new Float64Array([0.25]).buffer) },
      i64: { dtype: 'I64', shape: [2], bytes: new Uint8Array(i64.buffer) },
      a: { dtype: 'F32', shape: [2], bytes: f32([1.5, -3]) },
      i32: { dtype: 'I32', shape: [1, 1], bytes: new Uint8Array(new Int32Array([-7]).buffer) },
      h: { dtype: 'F16', shape: [4], bytes: new Uint8Array(half.buffer) },
      b: { dtype: 'BF16', shape: [2], bytes: new Uint8Array(bf.buffer) },
      s: { dtype: 'F32', shape: [], bytes: f32([42]) },
    }));
    const { tensors } = readSafetensors(p);
    expect([...tensors.keys()]).to.deep.equal(['f64', 'i64', 'a', 'i32', 'h', 'b', 's']);
    expect(Array.from(tensors.get('a')!.data)).to.deep.equal([1.5, -3]);
    expect(Array.from(tensors.get('h')!.data)).to.deep.equal([1, -2.5, 65504, 2 ** -24]);
    expect(Array.from(tensors.get('b')!.data)).to.deep.equal([1, -2.5]);
    expect(tensors.get('i32')).to.deep.include({ dtype: 'int32', shape: [1, 1] });
    expect(Array.from(tensors.get('i64')!.data)).to.deep.equal([-3, 2147483647]);
    expect(Array.from(tensors.get('f64')!.data)).to.deep.equal([0.25]);
    expect(tensors.get('s')!.shape).to.deep.equal([]);
    expect(tensors.get('h')!.storedAs).to.equal('F16');
  });

  it('reads the vendored micro checkpoint (62 tensors + 2 position_ids in the HF file)', () => {
    const f = SafetensorsFile.open(fixturePath('micro', 'openai.safetensors'));
    try {
      expect(f.names).to.have.length(62);
      expect(f.read('visual.conv1.weight').shape).to.deep.equal([128, 3, 8, 8]);
      expect(f.metadata.format).to.equal('pt');
    } finally { f.close(); }
    expect(readSafetensors(fixturePath('micro', 'hf.safetensors')).tensors.size).to.equal(62 + 16 + 2);
  });

  describe('bad input → WeightsFormatError naming the file', () => {
    const ok = (): Record<string, Spec> => ({ a: { dtype: 'F32', shape: [2], bytes: f32([1, 2]) }, b: { dtype: 'F32', shape: [1], bytes: f32([3]) } });

    it('file shorter than the length prefix', () => expectFormatError(write('short.st', Buffer.alloc(5)), /too short/));
    it('header length beyond the file', () => expectFormatError(write('len.st', build(ok(), { lenOverride: 10_000n })), /past the end/));
    it('header length of 2^64−1 (no allocation attempted)', () => expectFormatError(write('len2.st', build(ok(), { lenOverride: 2n ** 64n - 1n })), /past the end/));
    it('header not JSON', () => expectFormatError(write('json.st', build({}, { header: '{"a": [1, 2' })), /not JSON/));
    it('header JSON not an object', () => expectFormatError(write('arr.st', build({}, { header: '[1,2]' })), /not an object/));
    it('unknown dtype', () => expectFormatError(write('dt.st', build({ a: { dtype: 'Q4', shape: [2], bytes: f32([1, 2]) } })), /unknown dtype "Q4"/));
    it('dtype × shape ≠ byte length', () => expectFormatError(write('bytes.st', build({ a: { dtype: 'F32', shape: [3], bytes: f32([1, 2]) } })), /shape \[3\] is 12 bytes but data_offsets span 8/));
    it('bad shape entries', () => expectFormatError(write('shape.st', build({ a: { dtype: 'F32', shape: [-2], bytes: f32([1, 2]) } })), /not a list of non-negative integers/));
    it('offsets out of range', () => expectFormatError(write('range.st', build({ a: { dtype: 'F32', shape: [2], bytes: f32([1, 2]), offsets: [100, 108] } })), /run past the data section/));
    it('offsets reversed', () => expectFormatError(write('rev.st', build({ a: { dtype: 'F32', shape: [0], bytes: new Uint8Array(), offsets: [4, 0] } }, { extra: 4 })), /end before they begin/));
    it('overlapping tensors', () => {
      const specs = ok();
      specs.b.offsets = [4, 8];
      specs.b.bytes = new Uint8Array(); // data section stays 8 bytes; b overlaps a
      expectFormatError(write('overlap.st', build(specs)), /overlaps/);
    });
    it('hole between tensors', () => {
      const specs = ok();
      specs.b.offsets = [12, 16];
      expectFormatError(write('hole.st', build(specs, { extra: 4 })), /hole of 4 bytes/);
    });
    it('trailing bytes after the last tensor', () => expectFormatError(write('trail.st', build(ok(), { extra: 3 })), /3 trailing bytes/));
    it('I64 value outside int32', () => {
      const p = write('i64.st', build({ a: { dtype: 'I64', shape: [1], bytes: new Uint8Array(new BigInt64Array([2n ** 40n]).buffer) } }));
      expectFormatError(p, /outside the int32 range/);
    });
    it('header larger than the maxHeaderBytes limit', () => {
      const prev = setLimits({ maxHeaderBytes: 16 });
      try { expectFormatError(write('limit.st', build(ok())), /maxHeaderBytes/); } finally { setLimits(prev); }
    });
    it('a directory or a missing file', () => {
      expectFormatError(dir, /not a regular file/);
      expectFormatError(path.join(dir, 'nope.safetensors'), /cannot open/);
    });
    it('a buffer is named <buffer> (or its label)', () => {
      expect(() => SafetensorsFile.fromBuffer(new Uint8Array(3), 'upload.bin')).to.throw(WeightsFormatError, /^upload\.bin: /);
    });
  });
});
