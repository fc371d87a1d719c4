/**
 * Batch embed / score / merge end to end (in process, bundled toy-shapes model, synthetic images): outputs
 * against a direct AbeScorer computation on the same files (independent path: loadImages → imageFeatures →
 * scoreMatrix), resume and refusal, --shard + merge against a single run, missing/duplicate shards.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AbeScorer } from '../../src/abe/scorer';
import { resolveOptions } from '../../src/abe/options';
import type { ConfigName } from '../../src/abe/options';
import { loadClip } from '../../src/clip/load';
import type { ClipModel } from '../../src/clip/model';
import { loadImages } from '../../src/image/loader';
import { parseNpy } from '../../src/batch/npy';
import { makeSynthetic, Synthetic } from '../../tools/batch-synth';
import { inProcess } from '../helpers/cli';

const cli = inProcess;
const jsonl = (f: string) =>
  fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const CONFIGS = ['clip', 'abe', 'abe+regions'];
/** Scores are logits up to ~50: a shard scores its images in other chunks than one big call (other float32 sums). */
const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));

describe('batch: embed, score over files, merge (toy-shapes, synthetic images)', function () {
  this.timeout(600_000);
  let dir: string, syn: Synthetic, model: ClipModel;
  let direct: Record<string, Float32Array>; // [N·M] per config, over syn.images × syn.captions
  let embedOut: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-batch-'));
    syn = makeSynthetic(path.join(dir, 'data'), 11, 3);
    fs.writeFileSync(path.join(syn.dir, 'images', '000', 'zz_broken.png'), 'not a png');
    model = await loadClip('toy-shapes');
    const { pixels } = await loadImages(syn.images, { resolution: model.config.vision.resolution });
    const s = new AbeScorer(model, 'abe');
    // The named configurations, as the library defines them (src/abe/options.ts NAMED_CONFIGS).
    const opts = Object.fromEntries(CONFIGS.map((c) => [c, resolveOptions(c as ConfigName)]));
    const feats = await s.imageFeatures(pixels, Object.values(opts));
    pixels.dispose();
    direct = {};
    for (const c of CONFIGS) {
      const r = await s.scoreMatrix(feats, syn.captions, opts[c]);
      direct[c] = c === 'clip' ? r.clip : r.abe;
    }
    embedOut = path.join(dir, 'emb');
  });
  after(() => {
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('embed writes np.load-able shards, one metadata row per input (the broken file recorded, not fatal), and leaks no tensor', async () => {
    const before = tf.memory().numTensors;
    const r = await cli([
      'embed',
      '--images',
      path.join(syn.dir, 'images'),
      '--texts',
      syn.textsFile,
      '--out',
      embedOut,
      '--shard-size',
      '5',
      '--batch',
      '3',
      '--features',
      CONFIGS.join(','),
      '--json',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(tf.memory().numTensors).to.equal(before);
    const summary = JSON.parse(r.stdout);
    expect(summary.jobs[0]).to.include({ items: 12, failed: 1, shards: 3, shardsWritten: 3 });
    const meta = [0, 1, 2].flatMap((k) => jsonl(path.join(embedOut, 'images', 'shards', `0000${k}`, 'meta.jsonl')));
    expect(meta.map((m) => path.basename(m.path))).to.deep.equal(
      [...syn.images.map((p) => path.basename(p)), 'zz_broken.png'].sort((a, b) => (a < b ? -1 : 1)),
    );
    const broken = meta.find((m) => m.path.endsWith('zz_broken.png'));
    expect(broken.row).to.equal(null);
    expect(broken.error).to.match(/not a recognised image/);
    expect(r.stderr).to.match(/12\/12 images, [\d.]+\/s, ETA .*, 1 failed/);
  });

  it("embeds equal the scorer's normalised g_I of the same files (float32, 1e-6) and texts are unit vectors", async () => {
    const { pixels } = await loadImages(syn.images, { resolution: model.config.vision.resolution });
    const feats = await new AbeScorer(model, 'clip').imageFeatures(pixels);
    pixels.dispose();
    const rows: Float32Array[] = [];
    for (const k of [0, 1, 2]) {
      const d = path.join(embedOut, 'images', 'shards', `0000${k}`);
      const a = parseNpy(fs.readFileSync(path.join(d, 'embeds.npy')), 'embeds');
      for (const m of jsonl(path.join(d, 'meta.jsonl')))
        if (m.row !== null) rows[syn.images.indexOf(m.path)] = a.data.subarray(m.row * a.shape[1], (m.row + 1) * a.shape[1]);
    }
    feats.forEach((f, i) => f.embed.forEach((v, j) => expect(Math.abs(rows[i][j] - v)).to.be.below(1e-6)));
    let texts = 0;
    for (const k of [0, 1, 2, 3]) {
      const t = parseNpy(fs.readFileSync(path.join(embedOut, 'texts', 'shards', `0000${k}`, 'embeds.npy')), 'texts');
      expect(t.shape[1]).to.equal(model.config.embedDim);
      for (let i = 0; i < t.shape[0]; i++) {
        const n = Math.hypot(...t.data.subarray(i * t.shape[1], (i + 1) * t.shape[1]));
        expect(Math.abs(n - 1)).to.be.below(1e-5);
      }
      texts += t.shape[0];
    }
    expect(texts).to.equal(syn.captions.length);
  });

  it('score images × captions from the stored features equals a direct scoreMatrix for clip, abe, abe+regions (1e-5 relative)', async () => {
    const out = path.join(dir, 'sm');
    const r = await cli(['score', '--from', embedOut, '--texts', syn.textsFile, '--out', out, '--shard-size', '5']);
    expect(r.code, r.stderr).to.equal(0);
    const rows = [0, 1, 2].flatMap((k) => jsonl(path.join(out, 'shards', `0000${k}`, 'scores.jsonl')));
    const M = syn.captions.length;
    let compared = 0;
    for (const row of rows) {
      const i = syn.images.indexOf(row.image),
        m = syn.captions.indexOf(row.caption);
      if (i < 0) {
        expect(row.error).to.match(/not a recognised image/);
        continue;
      }
      for (const c of CONFIGS) {
        expect(relErr(row[c], direct[c][i * M + m]), `${c} ${row.image}`).to.be.below(1e-5);
        compared++;
      }
    }
    expect(compared).to.equal(syn.images.length * M * CONFIGS.length);
  });

  it('score --pairs (features computed from the files) equals the direct scoreMatrix entries (1e-5 relative); rerun skips every shard', async () => {
    const out = path.join(dir, 'sp');
    const args = ['score', '--pairs', syn.pairsCsv, '--out', out, '--shard-size', '7', '--json'];
    const r = await cli(args);
    expect(r.code, r.stderr).to.equal(0);
    const rows = [0, 1, 2, 3].flatMap((k) => jsonl(path.join(out, 'shards', `0000${k}`, 'scores.jsonl')));
    expect(rows.map((x) => x.id)).to.deep.equal(
      fs
        .readFileSync(syn.pairsCsv, 'utf8')
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => l.split(',')[0]),
    );
    const M = syn.captions.length;
    let compared = 0;
    for (const row of rows) {
      const i = syn.images.indexOf(path.join(syn.dir, row.image)),
        m = syn.captions.indexOf(row.caption);
      if (m < 0) continue; // captions.txt keeps the first 16 distinct captions only
      for (const c of CONFIGS) {
        expect(relErr(row[c], direct[c][i * M + m])).to.be.below(1e-5);
        compared++;
      }
    }
    expect(compared).to.be.greaterThan(30);
    const mtime = fs.statSync(path.join(out, 'shards', '00000', 'scores.jsonl')).mtimeMs;
    const again = await cli(args);
    expect(JSON.parse(again.stdout).jobs[0]).to.include({ shardsWritten: 0, shardsSkipped: 4 });
    expect(fs.statSync(path.join(out, 'shards', '00000', 'scores.jsonl')).mtimeMs).to.equal(mtime);
  });

  it('a rerun with other options into the same folder is refused with what differs', async () => {
    const out = path.join(dir, 'sp');
    const r = await cli(['score', '--pairs', syn.pairsCsv, '--out', out, '--shard-size', '7', '--set', 'lambda=1']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/different job \(differs in: option configs/);
    const e = await cli(['embed', '--images', path.join(syn.dir, 'images'), '--out', embedOut, '--shard-size', '5', '--features', 'abe']);
    expect(e.code).to.equal(1);
    expect(e.stderr).to.match(/different job \(differs in: option features/);
  });

  it('--shard 0/2 and 1/2 into separate folders, merged, equal the merged single run byte for byte; missing and duplicate shards are errors', async () => {
    const base = ['embed', '--images', path.join(syn.dir, 'images'), '--shard-size', '5', '--batch', '3', '--features', CONFIGS.join(',')];
    for (const i of [0, 1]) expect((await cli([...base, '--out', path.join(dir, `w${i}`), '--shard', `${i}/2`])).code).to.equal(0);
    expect(fs.readdirSync(path.join(dir, 'w0', 'images', 'shards')).sort()).to.deep.equal(['00000', '00002']);
    const m1 = await cli(['merge', path.join(dir, 'w0', 'images'), path.join(dir, 'w1', 'images'), '--out', path.join(dir, 'm-split')]);
    expect(m1.code, m1.stderr).to.equal(0);
    expect((await cli(['merge', path.join(embedOut, 'images'), '--out', path.join(dir, 'm-one')])).code).to.equal(0);
    for (const f of ['embeds.npy', 'meta.jsonl'])
      expect(fs.readFileSync(path.join(dir, 'm-split', f)).equals(fs.readFileSync(path.join(dir, 'm-one', f))), f).to.equal(true);
    const missing = await cli(['merge', path.join(dir, 'w0', 'images'), '--out', path.join(dir, 'm-x')]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/1 of 3 shards missing: 00001/);
    const dup = await cli([
      'merge',
      path.join(dir, 'w0', 'images'),
      path.join(dir, 'w1', 'images'),
      path.join(embedOut, 'images'),
      '--out',
      path.join(dir, 'm-y'),
    ]);
    expect(dup.code).to.equal(1);
    expect(dup.stderr).to.match(/duplicate shard 0000\d/);
  });

  it('a leftover temporary shard folder is invisible to merge, and a damaged shard file is caught by its hash', async () => {
    const sd = path.join(dir, 'w0', 'images', 'shards');
    fs.mkdirSync(path.join(sd, '.tmp-00004-otherhost-1-abc'));
    fs.writeFileSync(path.join(sd, '.tmp-00004-otherhost-1-abc', 'embeds.npy'), 'partial');
    expect(
      (await cli(['merge', path.join(dir, 'w0', 'images'), path.join(dir, 'w1', 'images'), '--out', path.join(dir, 'm-z')])).code,
    ).to.equal(0);
    fs.appendFileSync(path.join(sd, '00002', 'meta.jsonl'), '{"path":"x"}\n');
    const bad = await cli(['merge', path.join(dir, 'w0', 'images'), path.join(dir, 'w1', 'images'), '--out', path.join(dir, 'm-w')]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/00002.meta\.jsonl: does not match the hash in shard\.json/);
  });

  it('rank: CLIP top-k equals the order of a direct scoreMatrix over all images, and the ABE rerank of a pool of all images equals the direct abe+regions order (1e-5 relative)', async () => {
    const caps = syn.captions.slice(0, 2);
    const r = await cli(['rank', '--from', embedOut, '--text', caps[0], '--text', caps[1], '--k', '3', '--pool', '20']);
    expect(r.code, r.stderr).to.equal(0);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const M = syn.captions.length;
    caps.forEach((cap, n) => {
      const m = syn.captions.indexOf(cap);
      const order = (c: string) =>
        syn.images
          .map((_, i) => i)
          .sort((a, b) => direct[c][b * M + m] - direct[c][a * M + m])
          .slice(0, 3);
      expect(rows[n].clip.map((x: { image: string }) => x.image)).to.deep.equal(order('clip').map((i) => syn.images[i]));
      expect(rows[n].reranked.map((x: { image: string }) => x.image)).to.deep.equal(order('abe+regions').map((i) => syn.images[i]));
      rows[n].reranked.forEach((x: { image: string; score: number }) =>
        expect(relErr(x.score, direct['abe+regions'][syn.images.indexOf(x.image) * M + m])).to.be.below(1e-5),
      );
    });
  });

  it('usage errors: bad --shard, Parquet pairs, unknown configuration', async () => {
    expect((await cli(['embed', '--images', syn.dir, '--out', path.join(dir, 'u'), '--shard', '2/2'])).stderr).to.match(
      /--shard 2\/2: needs 0 ≤ i < n/,
    );
    fs.writeFileSync(path.join(dir, 'p.parquet'), 'PAR1');
    expect((await cli(['score', '--pairs', path.join(dir, 'p.parquet'), '--out', path.join(dir, 'u2')])).stderr).to.match(
      /Parquet is not read/,
    );
    expect((await cli(['embed', '--images', syn.dir, '--out', path.join(dir, 'u3'), '--features', 'abx'])).stderr).to.match(
      /unknown configuration 'abx'/,
    );
  });
});
