import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { WeightsFormatError } from '../../src/errors';
import type { ClipConfig } from '../../src/config/clip';
import { floatToHalf, halfToFloat } from '../../src/weights/dtype';
import { isConvertedFolder, readConverted, writeConverted } from '../../src/weights/converted';
import { RawTensor } from '../../src/weights/types';

const TOWER = { layers: 1, width: 8, heads: 1, mlpWidth: 32, act: 'quick_gelu' as const, layerNormEps: 1e-5 };
const CONFIG: ClipConfig = {
  embedDim: 4, vision: { ...TOWER, resolution: 8, patchSize: 4 }, text: { ...TOWER, contextLength: 4, vocabSize: 10 },
};
const SOURCE = { name: 'test.safetensors', sha256: '0'.repeat(64), family: 'test' };

function tensors(): Map<string, RawTensor> {
  const m = new Map<string, RawTensor>();
  const mk = (name: string, shape: number[], seed: number): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    m.set(name, { dtype: 'float32', shape, data: Float32Array.from({ length: n }, (_, i) => Math.sin(seed + i * 0.77) * (1 + seed)) });
  };
  mk('a', [3, 5], 1);
  mk('b', [7], 2);
  mk('scalar', [], 3);
  mk('c', [2, 3, 4], 4);
  mk('empty', [0, 3], 5);
  return m;
}

describe('weights/converted (model.json + shards)', () => {
  let dir: string;
  let n = 0;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-conv-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function write(dtype: 'f16' | 'f32', shardBytes: number): string {
    const d = path.join(dir, `m${n++}`);
    fs.mkdirSync(d);
    const t = tensors();
    writeConverted(d, CONFIG, SOURCE, [...t].map(([name, x]) => ({ name, shape: x.shape })), (name) => t.get(name)!, { dtype, shardBytes });
    return d;
  }

  for (const dtype of ['f32', 'f16'] as const) {
    it(`${dtype}: round trip through Node, with tensors straddling 16-byte shards`, () => {
      const d = write(dtype, 16);
      expect(isConvertedFolder(d)).to.equal(true);
      const { manifest, config, weights } = readConverted(d);
      expect(config).to.deep.equal(CONFIG);
      expect(manifest.source).to.deep.equal(SOURCE);
      expect(manifest.weightsManifest[0].paths.length).to.be.above(3);
      for (const [name, t] of tensors()) {
        const u = weights.get(name)!;
        expect(u.shape, name).to.deep.equal(t.shape);
        const want = dtype === 'f32' ? Array.from(t.data) : Array.from(t.data, (x) => halfToFloat(floatToHalf(x)));
        expect(Array.from(u.data), name).to.deep.equal(want);
      }
    });

    it(`${dtype}: tf.io.decodeWeights (what a browser's tf.io.loadWeights does) reads the same values as our reader`, () => {
      const d = write(dtype, 16);
      const m = JSON.parse(fs.readFileSync(path.join(d, 'model.json'), 'utf8'));
      const group = m.weightsManifest[0];
      const buffers = group.paths.map((p: string) => { const b = fs.readFileSync(path.join(d, p)); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); });
      const joined = tf.io.concatenateArrayBuffers(buffers);
      const before = tf.memory().numTensors;
      const decoded = tf.io.decodeWeights(joined, group.weights);
      const ours = readConverted(d).weights;
      for (const [name, t] of ours) {
        expect(decoded[name].shape, name).to.deep.equal(t.shape);
        expect(decoded[name].dtype).to.equal('float32');
        expect(Array.from(decoded[name].dataSync()), name).to.deep.equal(Array.from(t.data));
      }
      tf.dispose(Object.values(decoded));
      expect(tf.memory().numTensors).to.equal(before);
    });
  }

  it('f16 halves the shard bytes; default shards are ≤ 4 MiB', () => {
    const a = write('f32', 4 * 1024 * 1024), b = write('f16', 4 * 1024 * 1024);
    const size = (d: string) => fs.readdirSync(d).filter((f) => f.endsWith('.bin')).reduce((s, f) => s + fs.statSync(path.join(d, f)).size, 0);
    expect(size(b) * 2).to.equal(size(a));
  });

  describe('a manifest that disagrees with its shards → WeightsFormatError', () => {
    const edit = (f: (m: any, d: string) => void): string => {
      const d = write('f32', 16);
      const m = JSON.parse(fs.readFileSync(path.join(d, 'model.json'), 'utf8'));
      f(m, d);
      fs.writeFileSync(path.join(d, 'model.json'), JSON.stringify(m));
      return d;
    };
    const cases: [string, (m: any, d: string) => void, RegExp][] = [
      ['a missing shard', (m, d) => fs.rmSync(path.join(d, m.weightsManifest[0].paths[1])), /shard listed in model\.json is missing/],
      ['a truncated shard', (m, d) => fs.truncateSync(path.join(d, m.weightsManifest[0].paths.at(-1)), 1), /shards hold \d+ bytes but the manifest's weights need \d+/],
      ['an extra weight in the manifest', (m) => m.weightsManifest[0].weights.push({ name: 'x', shape: [2], dtype: 'float32' }), /need/],
      ['a shape that does not fit', (m) => { m.weightsManifest[0].weights[0].shape = [3, 6]; }, /need/],
      ['a shard path outside the folder', (m) => { m.weightsManifest[0].paths[0] = '../evil.bin'; }, /not a plain file name/],
      ['an absolute shard path', (m) => { m.weightsManifest[0].paths[0] = '/etc/passwd'; }, /not a plain file name/],
      ['an unsupported quantization', (m) => { m.weightsManifest[0].weights[0].quantization = { dtype: 'uint8', scale: 1, min: 0 }; }, /quantization/],
      ['a non-float dtype', (m) => { m.weightsManifest[0].weights[0].dtype = 'int32'; }, /dtype "int32"/],
      ['a duplicate weight name', (m) => { m.weightsManifest[0].weights[1].name = 'a'; }, /listed twice/],
      ['another format', (m) => { m.format = 'tfjs-layers'; }, /format is "tfjs-layers"/],
      ['a newer version', (m) => { m.version = 2; }, /version 2 is not supported/],
      ['a config without a field', (m) => { delete m.config.textHeads; }, /config\.textHeads/],
      ['a config with a bad MLP width', (m) => { m.config.visionMlpWidth = 2.5; }, /config\.visionMlpWidth is 2\.5/],
      ['no source', (m) => { delete m.source; }, /source/],
    ];
    for (const [what, f, re] of cases) {
      it(what, () => {
        const d = edit(f);
        expect(() => readConverted(d)).to.throw(WeightsFormatError, re);
      });
    }
    it('model.json not JSON', () => {
      const d = write('f32', 16);
      fs.writeFileSync(path.join(d, 'model.json'), '{');
      expect(() => readConverted(d)).to.throw(WeightsFormatError, /cannot read the manifest/);
    });
  });
});
