/**
 * Batch building blocks without a model: .npy files against numpy itself (python3 + numpy: np.load, and
 * astype(float16) as the independent rounding), features files round trip, CSV/JSONL pairs planning and
 * shard reads, globs, the --shard split.
 */
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { npyBytes, parseNpy, fromHalf, toHalf } from '../../src/batch/npy';
import { decodeFeatures, encodeFeatures } from '../../src/batch/features-file';
import { csvFields, planPairs, readPairsShard } from '../../src/batch/pairs';
import { globToRegExp, listImages } from '../../src/batch/inputs';
import { parseShardSpec, shardsOf } from '../../src/batch/shards';
import type { ImageFeatures } from '../../src/abe/features';

describe('batch units', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-batch-u-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('.npy float32 and float16 load with np.load: same shape, float32 values exact, float16 equal to numpy astype(float16) bit for bit', () => {
    const data = Float32Array.from({ length: 7 * 5 }, (_, i) => Math.sin(i * 1.7) * (i % 3 === 0 ? 1e-6 : 300) + (i === 4 ? 70000 : 0));
    fs.writeFileSync(path.join(dir, 'a32.npy'), npyBytes(data, [7, 5], 'float32'));
    fs.writeFileSync(path.join(dir, 'a16.npy'), npyBytes(data, [7, 5], 'float16'));
    fs.writeFileSync(path.join(dir, 'src.bin'), Buffer.from(data.buffer));
    const py = `import numpy as np, sys
d = np.fromfile(sys.argv[1] + '/src.bin', dtype='<f4').reshape(7, 5)
a = np.load(sys.argv[1] + '/a32.npy'); b = np.load(sys.argv[1] + '/a16.npy')
assert a.shape == (7, 5) and a.dtype == np.float32 and (a == d).all(), 'f32'
assert b.shape == (7, 5) and b.dtype == np.float16, 'f16 dtype'
assert (b.view(np.uint16) == d.astype(np.float16).view(np.uint16)).all(), 'f16 bits'
print('ok')`;
    const r = spawnSync('python3', ['-c', py, dir], { encoding: 'utf8' });
    expect(r.stdout.trim(), r.stderr).to.equal('ok');
    const back = parseNpy(fs.readFileSync(path.join(dir, 'a16.npy')), 'a16');
    back.data.forEach((v, i) => expect(v).to.equal(fromHalf(toHalf(data[i]))));
  });

  it('features file: every array round-trips exactly, and a truncated file is an error', () => {
    const f: ImageFeatures = {
      key: 'k1',
      E: 3,
      P: 2,
      embed: Float32Array.from([1, 2, 3]),
      patches: { 'tokens@3': Float32Array.from([1, 2, 3, 4, 5, 6]), value: Float32Array.from([6, 5, 4, 3, 2, 1]) },
      regions: {
        'value/max2/dil1': {
          foreground: Uint8Array.from([1, 0]),
          masks: [Uint8Array.from([1, 0]), Uint8Array.from([0, 1])],
          embeds: Float32Array.from([0.5, 0.25, 0.125, 1, 2, 3]),
        },
      },
    };
    const g: ImageFeatures = { key: 'k2', E: 3, P: 2, embed: Float32Array.from([7, 8, 9]), patches: {}, regions: {} };
    const buf = encodeFeatures([f, g]);
    const [a, b] = decodeFeatures(buf, 'x');
    expect(a).to.deep.equal(f);
    expect(b).to.deep.equal(g);
    expect(() => decodeFeatures(buf.subarray(0, buf.length - 8), 'x.abef')).to.throw(/x\.abef: truncated/);
  });

  it('CSV fields: quotes, doubled quotes, empty fields; an unterminated quote is an error', () => {
    expect(csvFields('a,"b, c","say ""hi""",,e', 'f')).to.deep.equal(['a', 'b, c', 'say "hi"', '', 'e']);
    expect(() => csvFields('a,"b', 'pairs.csv record 3')).to.throw(/pairs\.csv record 3: unterminated/);
  });

  it('pairs plan: shard offsets let each shard be read on its own (JSONL and CSV, blank lines, CRLF), ids default to the record number', () => {
    const j = path.join(dir, 'p.jsonl');
    const recs = Array.from({ length: 11 }, (_, i) =>
      JSON.stringify({ image: `im${i}.png`, caption: `cap ${i}`, ...(i === 3 ? { id: 'x3' } : {}) }),
    );
    fs.writeFileSync(j, recs.slice(0, 5).join('\n') + '\n\n' + recs.slice(5).join('\r\n') + '\n');
    const plan = planPairs(j, 4);
    expect(plan.count).to.equal(11);
    expect(plan.offsets.length).to.equal(3);
    const all = [0, 1, 2].flatMap((k) => readPairsShard(j, plan, k, 4));
    expect(all.map((r) => r.image)).to.deep.equal(Array.from({ length: 11 }, (_, i) => `im${i}.png`));
    expect(all.map((r) => r.id).slice(0, 5)).to.deep.equal(['0', '1', '2', 'x3', '4']);
    const c = path.join(dir, 'p.csv');
    fs.writeFileSync(c, 'caption,image\n"a, b",x.png\nc,y.png\n');
    const pc = planPairs(c, 1);
    expect(readPairsShard(c, pc, 1, 1)).to.deep.equal([{ id: '1', image: 'y.png', caption: 'c' }]);
    fs.writeFileSync(c, 'file,caption\nx.png,a\n');
    expect(() => planPairs(c, 1)).to.throw(/must name 'image' and 'caption'/);
    fs.writeFileSync(j, '{"image": "a.png"}\n');
    expect(() => planPairs(j, 1)).to.throw(/record 1: 'caption' \(or 'text'\) must be a string/);
  });

  it('images: folders walked in sorted order, list files relative to their folder, globs; no match is an error', () => {
    for (const p of ['b/2.png', 'b/1.jpg', 'a.png', 'c.txt', '.hidden/x.png']) {
      fs.mkdirSync(path.dirname(path.join(dir, 'im', p)), { recursive: true });
      fs.writeFileSync(path.join(dir, 'im', p), '');
    }
    expect(listImages([path.join(dir, 'im')]).map((p) => path.relative(dir, p))).to.deep.equal(['im/a.png', 'im/b/1.jpg', 'im/b/2.png']);
    fs.writeFileSync(path.join(dir, 'im', 'list.txt'), '# comment\nb/2.png\n\na.png\n');
    expect(listImages([path.join(dir, 'im', 'list.txt')]).map((p) => path.relative(dir, p))).to.deep.equal(['im/b/2.png', 'im/a.png']);
    expect(listImages([path.join(dir, 'im', '**', '*.png')]).map((p) => path.relative(dir, p))).to.deep.equal(['im/a.png', 'im/b/2.png']);
    expect(globToRegExp('a/*.png').test('a/b/c.png')).to.equal(false);
    expect(() => listImages([path.join(dir, 'im', '*.gif')])).to.throw(/matches no image file/);
  });

  it('--shard i/n: every shard exactly once over the n workers, round robin', () => {
    const got = [0, 1, 2].map((i) => shardsOf(8, parseShardSpec(`${i}/3`)));
    expect(got).to.deep.equal([
      [0, 3, 6],
      [1, 4, 7],
      [2, 5],
    ]);
    expect(() => parseShardSpec('3/3')).to.throw(/needs 0 ≤ i < n/);
    expect(() => parseShardSpec('x')).to.throw(/expected i\/n/);
  });
});
