/**
 * Queue mode with a real Redis: a job submitted to BullMQ, 3 worker processes, one SIGKILLed while it holds a
 * shard in progress; the others recover the stalled shard. The merged output must equal, byte for byte, a
 * single-process run of the same job (same rows, no duplicates, no gaps).
 */
import { expect } from 'chai';
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../src/cli/main';
import { makeSynthetic } from '../../tools/batch-synth';
import { REPO } from '../helpers/paths';
import { getRedis, RedisHandle } from './redis';

const BIN = path.join(REPO, 'bin', 'abe-clip.js');
const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
async function cli(args: string[]): Promise<number> {
  return main(args, { stdout: quiet, stderr: quiet });
}

describe('batch queue (BullMQ on a real redis-server): 3 workers, one killed mid-shard', function () {
  this.timeout(600_000);
  let redis: RedisHandle;
  let dir: string;
  before(async function () {
    const r = await getRedis();
    if (typeof r === 'string') {
      if (process.env.CI === 'true') throw new Error(`CI needs Redis for the queue test: ${r}`);
      this.skip(); // outside CI only: the machine lacks the redis-server package
    }
    redis = r as RedisHandle;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-queue-'));
  });
  after(() => {
    redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("merged queue output equals the single-process run byte for byte; the killed worker's shard is redone by another", async () => {
    const syn = makeSynthetic(path.join(dir, 'data'), 24, 5);
    const job = ['embed', '--images', path.join(syn.dir, 'images'), '--shard-size', '2', '--batch', '2', '--features', 'abe'];
    expect(await cli([...job, '--out', path.join(dir, 'single')])).to.equal(0);
    expect(await cli(['merge', path.join(dir, 'single', 'images'), '--out', path.join(dir, 'single-merged')])).to.equal(0);

    const qname = `test-${process.pid}-${Date.now()}`;
    const out = path.join(dir, 'queued');
    expect(await cli(['submit', '--queue', redis.url, '--queue-name', qname, '--', ...job, '--out', out])).to.equal(0);
    const logs: string[] = ['', '', ''];
    const workers: ChildProcess[] = [0, 1, 2].map((i) => {
      const w = spawn(
        process.execPath,
        [BIN, 'worker', '--queue', redis.url, '--queue-name', qname, '--exit-when-idle', '--lock-ms', '5000', '--stalled-ms', '1000'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      w.stderr!.on('data', (d) => {
        logs[i] += d;
      });
      return w;
    });
    const exits = workers.map((w) => new Promise<number | null>((resolve) => w.on('exit', (c, sig) => resolve(sig ? -1 : c))));
    // Kill the first worker seen with a shard in progress (its temp folder carries its pid).
    const shards = path.join(out, 'images', 'shards');
    let killed = -1;
    while (killed < 0) {
      const temps = fs.existsSync(shards) ? fs.readdirSync(shards).filter((n) => n.startsWith('.tmp-')) : [];
      for (const [i, w] of workers.entries()) {
        if (temps.some((n) => n.includes(`-${w.pid}-`))) {
          w.kill('SIGKILL');
          killed = i;
          break;
        }
      }
      if (killed < 0) {
        if (fs.existsSync(shards) && fs.readdirSync(shards).filter((n) => !n.startsWith('.')).length >= 12)
          throw new Error('every shard finished before a worker could be killed');
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    const codes = await Promise.all(exits);
    expect(codes[killed]).to.equal(-1);
    codes.forEach((c, i) => {
      if (i !== killed) expect(c, logs[i]).to.equal(0);
    });
    expect(await cli(['merge', path.join(out, 'images'), '--out', path.join(dir, 'queued-merged')])).to.equal(0);
    for (const f of ['embeds.npy', 'meta.jsonl']) {
      expect(fs.readFileSync(path.join(dir, 'queued-merged', f)).equals(fs.readFileSync(path.join(dir, 'single-merged', f))), f).to.equal(
        true,
      );
    }
    const rows = fs
      .readFileSync(path.join(dir, 'queued-merged', 'meta.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(new Set(rows.map((r) => r.path)).size).to.equal(24);
    expect(rows.map((r) => r.row)).to.deep.equal([...Array(24).keys()]);
  });
});
