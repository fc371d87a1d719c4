/**
 * The disk feature cache can only cost time, never change a result (issue 15 item 6, issue 16 item 1):
 * `score --json --cache` equals a `--no-cache` run after the weights behind the path change, the image behind
 * the path changes, a cache entry's bytes are damaged or swapped for another image's, and an option changes.
 * Cache paths are built from hashes only. The independent computation is always the `--no-cache` run.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { weightsContentId } from '../../src/io/content-hash';
import { CliRun, inProcess } from '../helpers/cli';
import { REPO } from '../helpers/paths';

// The cache's warnings go to the process's stderr (the library has no io object): capture both.
const run = (args: string[]): Promise<CliRun> => inProcess(args, { processStderr: true });

function allFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? allFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('abe/FeatureCache on disk: results equal a --no-cache run whatever changes behind the paths', function () {
  this.timeout(300_000);
  let tmp: string, model: string, cache: string, img: string;
  const IMAGES = path.join(REPO, 'data', 'toy-shapes', 'images');
  const texts = ['--text', 'a orange star and a cyan circle', '--text', 'a cyan star and a orange circle'];
  const score = async (extra: string[], cached: boolean): Promise<{ scores: Record<string, number[][]>; stderr: string }> => {
    // On wasm (one thread, deterministic), so that any difference is the cache's: a multi-threaded native backend
    // may differ in the last bits between two runs of the same computation.
    const r = await run([
      'score',
      '--backend',
      'wasm',
      '--weights',
      model,
      '--image',
      img,
      ...texts,
      '--json',
      ...(cached ? ['--cache', cache] : ['--no-cache']),
      ...extra,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    return { scores: JSON.parse(r.stdout).scores, stderr: r.stderr };
  };
  const same = async (extra: string[] = []): Promise<Record<string, number[][]>> => {
    const fresh = await score(extra, false);
    const cached1 = await score(extra, true); // fills (or reads) the cache
    const cached2 = await score(extra, true); // reads it
    expect(cached1.scores, 'first cached run').to.deep.equal(fresh.scores);
    expect(cached2.scores, 'second cached run').to.deep.equal(fresh.scores);
    return fresh.scores;
  };

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-cache-'));
    model = path.join(tmp, 'model');
    fs.cpSync(path.join(REPO, 'weights', 'toy-shapes'), model, { recursive: true });
    cache = path.join(tmp, 'cache');
    img = path.join(tmp, 'img.png');
    fs.copyFileSync(path.join(IMAGES, 'seen_0000.png'), img);
  });
  after(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    await tf.setBackend('cpu');
  });

  it('weights changed in place (same path, same sizes, mtime restored): cached scores follow the new weights', async () => {
    const before = await same();
    const shard = path.join(model, 'group1-shard1of4.bin');
    const st = fs.statSync(shard);
    const b = fs.readFileSync(shard);
    // Flip the sign of half of visual.conv1.weight (float16, first tensor of the shard): finite, different model.
    for (let i = 1; i < 24_576; i += 2) b[i] ^= 0x80;
    fs.writeFileSync(shard, b);
    fs.utimesSync(shard, st.atime, st.mtime);
    const after = await same();
    expect(after.clip[0][0], 'the change must change the scores (else this test proves nothing)').to.not.equal(before.clip[0][0]);
  });

  it('image changed in place: cached scores follow the new image', async () => {
    const before = await same();
    fs.copyFileSync(path.join(IMAGES, 'seen_0001.png'), img);
    const after = await same();
    expect(after.abe[0][0]).to.not.equal(before.abe[0][0]);
  });

  it('an option change (--set topK, regionDilation) gives the no-cache result', async () => {
    await same(['--set', 'topK=2']);
    await same(['--set', 'regionDilation=0']);
  });

  it('damaged, truncated, swapped and wrong-shape entries are discarded with a warning and recomputed', async () => {
    cache = path.join(tmp, 'cache-damage'); // only this model's and image's entries in it
    const fresh = await score([], false);
    await score([], true);
    const entries = allFiles(cache).filter((f) => f.endsWith('.json') && !f.endsWith('weights-hashes.json'));
    expect(entries.length).to.be.greaterThan(0);
    const entry = entries[0];
    const good = fs.readFileSync(entry, 'utf8');
    const damage: [string, (s: string) => string][] = [
      ['one byte changed', (s) => s.slice(0, 200) + (s[200] === 'A' ? 'B' : 'A') + s.slice(201)],
      ['truncated', (s) => s.slice(0, s.length >> 1)],
      ['not JSON', () => '\u0000\u0001garbage'],
      [
        "another image's entry, checksum recomputed",
        (s) => {
          const o = JSON.parse(s);
          const body = JSON.parse(o.body);
          body.key = 'f'.repeat(64);
          const nb = JSON.stringify(body);
          return JSON.stringify({ sha256: require('crypto').createHash('sha256').update(nb).digest('hex'), body: nb });
        },
      ],
      [
        'wrong embed length, checksum recomputed',
        (s) => {
          const o = JSON.parse(s);
          const body = JSON.parse(o.body);
          body.embed = Buffer.from(new Float32Array(3).buffer).toString('base64');
          const nb = JSON.stringify(body);
          return JSON.stringify({ sha256: require('crypto').createHash('sha256').update(nb).digest('hex'), body: nb });
        },
      ],
    ];
    for (const [what, f] of damage) {
      fs.writeFileSync(entry, f(good));
      const r = await score([], true);
      expect(r.scores, what).to.deep.equal(fresh.scores);
      expect(r.stderr, what).to.match(/warning: feature cache entry .* is invalid/);
      const again = await score([], true);
      expect(again.stderr, `${what}: rewritten, no second warning`).to.not.match(/warning: feature cache/);
    }
  });

  it('cache paths are built from hashes only: --weights with ../ segments writes nothing outside the cache folder', async () => {
    const rel = path.relative(process.cwd(), model).split(path.sep).join('/');
    cache = path.join(tmp, 'cache-paths');
    const r = await run(['score', '--weights', `${rel}/../model`, '--image', img, ...texts, '--json', '--cache', cache]);
    expect(r.code, r.stderr).to.equal(0);
    for (const f of allFiles(cache)) {
      const name = path.relative(cache, f);
      expect(name).to.match(/^(weights-hashes\.json|m-[0-9a-f]{32}\/[0-9a-f]{64}\.json)$/);
    }
    expect(
      fs
        .readdirSync(tmp)
        .filter((n) => !n.startsWith('cache'))
        .sort(),
    ).to.deep.equal(['img.png', 'model']);
  });
});

describe('io/weightsContentId: the (path, inode, size, mtime, ctime) memo never hides a content change', () => {
  it('a memo entry is used only while ctime is unchanged; rewriting the bytes and restoring mtime misses it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-hash-'));
    try {
      const f = path.join(dir, 'model.safetensors');
      fs.writeFileSync(f, 'one');
      const fail = (p: string) => new Error(p);
      const direct = weightsContentId(f, null, fail);
      // A memo claiming another hash, recorded "later" than the file's times: trusted (that is the speed-up).
      const st = fs.statSync(f);
      const memo = {
        [path.resolve(f)]: {
          dev: st.dev,
          ino: st.ino,
          size: st.size,
          mtimeMs: st.mtimeMs,
          ctimeMs: st.ctimeMs,
          hashedAt: Date.now() + 60_000,
          sha256: 'a'.repeat(64),
        },
      };
      fs.writeFileSync(path.join(dir, 'weights-hashes.json'), JSON.stringify(memo));
      const memoId = weightsContentId(f, dir, fail);
      expect(memoId, 'the memo is used').to.not.equal(direct);
      // Same size, mtime restored: ctime still moves, so the file is hashed again.
      fs.writeFileSync(f, 'two');
      fs.utimesSync(f, st.atime, st.mtime);
      const changed = weightsContentId(f, dir, fail);
      expect(changed).to.equal(weightsContentId(f, null, fail));
      expect(changed).to.not.equal(direct);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
