/**
 * Kill -9 trials of the exactly-once guarantee: a batch `embed` (with ABE features) is started as a child
 * process and SIGKILLed at a random moment, possibly several times, then rerun to completion; a concurrent
 * reader checks every shard folder it can see (each must be complete: shard.json present and every file
 * matching its hash); the merged output must equal, byte for byte, a run that was never interrupted.
 *
 *   npx ts-node --transpile-only tools/batch-kill-trials.ts [--trials 20] [--images 40] [--seed 1] [--keep DIR]
 */
import { spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeSynthetic } from './batch-synth';

const REPO = path.resolve(__dirname, '..');
const BIN = path.join(REPO, 'bin', 'abe-clip.js');

export interface TrialResult {
  trial: number;
  kills: number;
  killedAtMs: number[];
  readerChecks: number;
  partialSeen: number;
  equal: boolean;
}

function embedArgs(data: string, out: string): string[] {
  return [
    'embed',
    '--images',
    path.join(data, 'images'),
    '--out',
    out,
    '--shard-size',
    '4',
    '--batch',
    '4',
    '--features',
    'abe',
    '--dtype',
    'float16',
  ];
}

function run(args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`abe-clip ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}

const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** Every visible shard of `jobDir` must be complete. Returns [shards checked, partial ones seen]. */
export function checkVisibleShards(jobDir: string): [number, number] {
  const sd = path.join(jobDir, 'shards');
  let checked = 0,
    partial = 0;
  let names: string[] = [];
  try {
    names = fs.readdirSync(sd);
  } catch {
    return [0, 0];
  }
  for (const n of names) {
    if (n.startsWith('.')) continue; // temporary: invisible by contract (merge and --from ignore them)
    checked++;
    try {
      const info = JSON.parse(fs.readFileSync(path.join(sd, n, 'shard.json'), 'utf8')) as { files: Record<string, string> };
      const files = fs
        .readdirSync(path.join(sd, n))
        .filter((f) => f !== 'shard.json')
        .sort();
      if (files.join() !== Object.keys(info.files).sort().join() || files.some((f) => sha(path.join(sd, n, f)) !== info.files[f]))
        partial++;
    } catch {
      partial++;
    }
  }
  return [checked, partial];
}

export async function killTrials(opts: {
  trials: number;
  images: number;
  seed: number;
  dir: string;
  log?: (s: string) => void;
}): Promise<TrialResult[]> {
  const log = opts.log ?? (() => undefined);
  const data = path.join(opts.dir, 'data');
  makeSynthetic(data, opts.images, opts.seed);
  const ref = path.join(opts.dir, 'ref');
  const t0 = Date.now();
  run(embedArgs(data, ref));
  const fullMs = Date.now() - t0;
  run(['merge', path.join(ref, 'images'), '--out', path.join(ref, 'merged')]);
  const want = ['embeds.npy', 'meta.jsonl'].map((f) => sha(path.join(ref, 'merged', f)));
  log(`reference run: ${(fullMs / 1000).toFixed(1)} s`);
  let rnd = opts.seed * 7919;
  const random = () => {
    rnd = (rnd * 1103515245 + 12345) % 2147483648;
    return rnd / 2147483648;
  };
  const results: TrialResult[] = [];
  for (let t = 0; t < opts.trials; t++) {
    const out = path.join(opts.dir, `trial-${t}`);
    fs.rmSync(out, { recursive: true, force: true });
    const killedAtMs: number[] = [];
    let readerChecks = 0,
      partialSeen = 0;
    const reader = setInterval(() => {
      const [c, p] = checkVisibleShards(path.join(out, 'images'));
      readerChecks += c;
      partialSeen += p;
    }, 15);
    const kills = 1 + Math.floor(random() * 2);
    for (let k = 0; k < kills; k++) {
      const at = Math.floor(random() * fullMs);
      const child = spawn(process.execPath, [BIN, ...embedArgs(data, out)], { stdio: 'ignore' });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      const timer = setTimeout(() => child.kill('SIGKILL'), at);
      await exited;
      clearTimeout(timer);
      killedAtMs.push(at);
    }
    // The completing rerun is asynchronous too, so that the reader keeps looking while shards appear.
    const last = spawn(process.execPath, [BIN, ...embedArgs(data, out)], { stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => last.on('exit', (c) => resolve(c)));
    clearInterval(reader);
    if (code !== 0) throw new Error(`trial ${t}: the completing rerun exited with ${code}`);
    const [c, p] = checkVisibleShards(path.join(out, 'images'));
    readerChecks += c;
    partialSeen += p;
    run(['merge', path.join(out, 'images'), '--out', path.join(out, 'merged')]);
    const got = ['embeds.npy', 'meta.jsonl'].map((f) => sha(path.join(out, 'merged', f)));
    const equal = got.join() === want.join();
    results.push({ trial: t, kills, killedAtMs, readerChecks, partialSeen, equal });
    log(
      `trial ${t}: killed at ${killedAtMs.join(', ')} ms; reader checked ${readerChecks} shard views, partial ${partialSeen}; merged output ${equal ? 'equal' : 'DIFFERENT'}`,
    );
    fs.rmSync(out, { recursive: true, force: true });
  }
  return results;
}

if (require.main === module) {
  const a = process.argv.slice(2);
  const get = (k: string, d: number) => {
    const i = a.indexOf(`--${k}`);
    return i >= 0 ? Number(a[i + 1]) : d;
  };
  const keep = a.indexOf('--keep') >= 0 ? a[a.indexOf('--keep') + 1] : undefined;
  const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'abe-kill-'));
  killTrials({
    trials: get('trials', 20),
    images: get('images', 40),
    seed: get('seed', 1),
    dir,
    log: (s) => process.stderr.write(s + '\n'),
  })
    .then((r) => {
      const bad = r.filter((x) => !x.equal || x.partialSeen > 0);
      process.stdout.write(
        JSON.stringify({ trials: r.length, kills: r.reduce((s, x) => s + x.kills, 0), failures: bad.length, results: r }, null, 1) + '\n',
      );
      if (!keep) fs.rmSync(dir, { recursive: true, force: true });
      process.exitCode = bad.length ? 1 : 0;
    })
    .catch((e) => {
      process.stderr.write(String(e?.stack ?? e) + '\n');
      process.exitCode = 1;
    });
}
