/**
 * Acceptance figures of batch scoring, measured together (interleaved where they are compared):
 *  - throughput: `embed` pipeline images/s (decode, encode, features, .npy write) ÷ the encoder's own
 *    images/s on pre-decoded pixels, same backend, same batch, alternated `--rounds` times;
 *  - memory: peak RSS of `score --pairs` (reusing stored features) at N1 vs N2 pairs, and of `embed` at
 *    M1 vs M2 images (child processes; ratio should be ≤ 1.2: memory bounded by the shard, not the input).
 *
 *   npx ts-node --transpile-only tools/batch-measure.ts [--images 200] [--pairs 2000,20000] [--embed 100,1000] [--rounds 3]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { loadClip } from '../src/clip/load';
import { runShards } from '../src/batch/job';
import { openJob, ModelPool } from '../src/batch/run';
import { makeSynthetic } from './batch-synth';

const REPO = path.resolve(__dirname, '..');
const BIN = path.join(REPO, 'bin', 'abe-clip.js');
const HOOK = path.join(__dirname, 'rss-hook.js');

function peakRss(args: string[]): { kb: number; seconds: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['-r', HOOK, BIN, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`abe-clip ${args.join(' ')}: ${r.stderr}`);
  const m = /maxrss_kb=(\d+)/.exec(r.stderr);
  return { kb: Number(m![1]), seconds: (Date.now() - t0) / 1000 };
}

async function main(): Promise<void> {
  const a = process.argv.slice(2);
  const get = (k: string, d: string) => {
    const i = a.indexOf(`--${k}`);
    return i >= 0 ? a[i + 1] : d;
  };
  const nImages = Number(get('images', '200')),
    rounds = Number(get('rounds', '3'));
  const [p1, p2] = get('pairs', '2000,20000').split(',').map(Number);
  const [e1, e2] = get('embed', '100,1000').split(',').map(Number);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-measure-'));
  const report: Record<string, unknown> = { load: os.loadavg(), cpus: os.cpus().length };
  try {
    const syn = makeSynthetic(path.join(dir, 'data'), Math.max(nImages, e2), 11);
    const backend = await initBackend();
    report.backend = backend.name;
    // Throughput, in process, alternating encoder-only and pipeline rounds.
    const model = await loadClip('toy-shapes');
    const R = model.config.vision.resolution,
      batch = 64;
    const imgs = syn.images.slice(0, nImages);
    const listFile = path.join(dir, 'tp.txt');
    fs.writeFileSync(listFile, imgs.join('\n') + '\n');
    const enc: number[] = [],
      pipe: number[] = [];
    const pool = new ModelPool();
    for (let r = 0; r < rounds; r++) {
      let t = Date.now();
      for (let b = 0; b < nImages; b += batch) {
        const n = Math.min(batch, nImages - b);
        const px = tf.randomNormal([n, 3, R, R]) as tf.Tensor4D;
        const o = await model.encodeImages(px, { tokens: false });
        await o.embeds.data();
        tf.dispose([px, o.embeds, o.tokens, ...(o.hidden ?? [])]);
      }
      enc.push(nImages / ((Date.now() - t) / 1000));
      const job = await openJob(
        {
          kind: 'embed-images',
          out: path.join(dir, `tp-${r}`),
          weights: 'toy-shapes',
          shardSize: 1000,
          batch,
          strict: false,
          images: [listFile],
          dtype: 'float32',
          features: [],
          set: {},
        },
        pool,
      );
      t = Date.now();
      await runShards(job, { index: 0, count: 1 }, null, 'embed');
      pipe.push(nImages / ((Date.now() - t) / 1000));
    }
    pool.dispose();
    model.dispose();
    const med = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
    report.throughput = {
      images: nImages,
      batch,
      encoderImagesPerSecond: enc,
      pipelineImagesPerSecond: pipe,
      ratioOfMedians: med(pipe) / med(enc),
    };
    process.stderr.write(`throughput: ${JSON.stringify(report.throughput)}\n`);

    // Memory: score --pairs over N1 vs N2 pairs reusing the stored features of a small image set.
    const small = syn.images.slice(0, 20);
    const smallList = path.join(dir, 'small.txt');
    fs.writeFileSync(smallList, small.join('\n') + '\n');
    const emb = path.join(dir, 'emb');
    peakRss(['embed', '--images', smallList, '--out', emb, '--features', 'clip,abe']);
    const caps = fs
      .readFileSync(syn.pairsCsv, 'utf8')
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((l) => l.slice(l.indexOf(',', l.indexOf(',') + 1) + 1))
      .slice(0, 64);
    const mem: Record<string, unknown> = {};
    for (const n of [p1, p2]) {
      const f = path.join(dir, `pairs-${n}.csv`);
      const lines = ['id,image,caption'];
      for (let i = 0; i < n; i++) lines.push(`${i},${small[i % small.length]},${caps[i % caps.length]}`);
      fs.writeFileSync(f, lines.join('\n') + '\n');
      mem[`score_pairs_${n}`] = peakRss([
        'score',
        '--pairs',
        f,
        '--from',
        emb,
        '--configs',
        'clip',
        '--shard-size',
        '1000',
        '--out',
        path.join(dir, `sc-${n}`),
      ]);
      process.stderr.write(`score ${n} pairs: ${JSON.stringify(mem[`score_pairs_${n}`])}\n`);
    }
    for (const n of [e1, e2]) {
      const f = path.join(dir, `embed-${n}.txt`);
      fs.writeFileSync(f, syn.images.slice(0, n).join('\n') + '\n');
      mem[`embed_${n}`] = peakRss(['embed', '--images', f, '--out', path.join(dir, `em-${n}`), '--shard-size', '100']);
      process.stderr.write(`embed ${n} images: ${JSON.stringify(mem[`embed_${n}`])}\n`);
    }
    const kb = (k: string) => (mem[k] as { kb: number }).kb;
    report.memory = {
      ...mem,
      scoreRssRatio: kb(`score_pairs_${p2}`) / kb(`score_pairs_${p1}`),
      embedRssRatio: kb(`embed_${e2}`) / kb(`embed_${e1}`),
    };
    report.loadAfter = os.loadavg();
    process.stdout.write(JSON.stringify(report, null, 1) + '\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + '\n');
  process.exitCode = 1;
});
