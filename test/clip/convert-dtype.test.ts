/** convert keeps the source's precision unless asked: an all-F16 checkpoint → f16 output, F32 → f32. */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { convertCheckpoint } from '../../src/clip/convert';
import { floatToHalf } from '../../src/weights/dtype';
import { fixturePath } from '../helpers/paths';

/** The micro safetensors fixture rewritten with every F32 tensor stored as F16 (our own writer, header + data). */
function toF16(src: string, dst: string): void {
  const b = fs.readFileSync(src);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out: Record<string, unknown> = {};
  const parts: Buffer[] = [];
  let off = 0;
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') {
      out[name] = e;
      continue;
    }
    const raw = b.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]);
    let data: Buffer;
    if (e.dtype === 'F32') {
      data = Buffer.alloc(raw.length / 2);
      for (let i = 0; i < raw.length / 4; i++) data.writeUInt16LE(floatToHalf(raw.readFloatLE(i * 4)), i * 2);
    } else data = Buffer.from(raw);
    out[name] = { dtype: e.dtype === 'F32' ? 'F16' : e.dtype, shape: e.shape, data_offsets: [off, off + data.length] };
    parts.push(data);
    off += data.length;
  }
  let json = JSON.stringify(out);
  while (json.length % 8) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  fs.writeFileSync(dst, Buffer.concat([len, Buffer.from(json), ...parts]));
}

const quantized = (dir: string): boolean[] =>
  JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).weightsManifest.flatMap(
    (g: { weights: { quantization?: { dtype: string } }[] }) => g.weights.map((w) => w.quantization?.dtype === 'float16'),
  );

describe('convert: default precision follows the source (micro fixture)', function () {
  this.timeout(120_000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-conv-dtype-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const config = fixturePath('micro', 'config.json');

  it('F16 source → f16 output; F32 source → f32; --dtype overrides either', async () => {
    const f16 = path.join(tmp, 'micro-f16.safetensors');
    toF16(fixturePath('micro', 'openai.safetensors'), f16);
    const a = await convertCheckpoint(f16, { out: path.join(tmp, 'a'), config, verify: false });
    expect(a.dtype).to.equal('f16');
    expect(quantized(path.join(tmp, 'a')).every(Boolean)).to.equal(true);
    const b = await convertCheckpoint(fixturePath('micro', 'openai.safetensors'), { out: path.join(tmp, 'b'), config, verify: false });
    expect(b.dtype).to.equal('f32');
    expect(quantized(path.join(tmp, 'b')).some(Boolean)).to.equal(false);
    const c = await convertCheckpoint(f16, { out: path.join(tmp, 'c'), config, dtype: 'f32', verify: false });
    expect(c.dtype).to.equal('f32');
    // A converted f16 folder converted again stays f16.
    const d = await convertCheckpoint(path.join(tmp, 'a'), { out: path.join(tmp, 'd'), verify: false });
    expect(d.dtype).to.equal('f16');
  });
});
