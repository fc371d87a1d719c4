/**
 * Queue mode on BullMQ (Redis): `submit` puts one queue job per unfinished shard (the job's JSON spec + the
 * shard number; the queue job id is the manifest hash + shard, so submitting twice adds nothing); workers on
 * any number of machines take them. BullMQ gives retries (attempts with backoff), a lock per running job that
 * the worker renews, and stalled-job recovery (a job whose worker died loses its lock and goes back to the
 * waiting list). Exactly-once output does not depend on the queue: a shard is committed by an atomic rename,
 * so a job run twice (retried, or recovered while the first run was only slow) is published once.
 */
import { Queue, Worker, Job } from 'bullmq';
import type { ConnectionOptions } from 'bullmq';
import { UsageError } from '../errors';
import { isShardDone, manifestHash, prepareJob, runShard } from './job';
import type { BatchJob } from './job';
import { openJob, ModelPool } from './run';
import { shardName } from './shards';
import type { JobSpec } from './spec';

export const DEFAULT_QUEUE_NAME = 'abe-clip';

export function redisConnection(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--queue ${url}`, 'expected redis://HOST:PORT[/DB]');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UsageError(`--queue ${url}`, 'expected a redis:// or rediss:// URL');
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new UsageError(`--queue ${url}`, `bad database number '${u.pathname.slice(1)}'`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

export interface ShardTask {
  spec: JobSpec;
  shard: number;
}

export interface SubmitResult {
  out: string;
  shards: number;
  queued: number;
  alreadyDone: number;
}

/** Enqueue every unfinished shard of `job` (its manifest is created/checked first, as for a local run). */
export async function submitJob(queue: Queue, job: BatchJob, attempts: number): Promise<SubmitResult> {
  prepareJob(job);
  const h = manifestHash(job.manifest).slice(0, 16);
  const todo: number[] = [];
  for (let k = 0; k < job.manifest.shards; k++) if (!isShardDone(job.spec.out, k)) todo.push(k);
  await queue.addBulk(
    todo.map((k) => ({
      name: `${job.spec.kind} ${shardName(k)}`,
      data: { spec: job.spec, shard: k } as ShardTask,
      opts: { jobId: `${h}-${k}`, attempts, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: false },
    })),
  );
  return { out: job.spec.out, shards: job.manifest.shards, queued: todo.length, alreadyDone: job.manifest.shards - todo.length };
}

export interface WorkerOptions {
  connection: ConnectionOptions;
  queueName: string;
  /** Lock of a running job: a worker that stops renewing it (killed) loses the job after this long. */
  lockMs: number;
  /** How often workers look for stalled jobs. */
  stalledMs: number;
  /** Exit once the queue has nothing waiting, delayed or running. */
  exitWhenIdle: boolean;
  log: (line: string) => void;
}

/** Process queued shards until closed (or idle, with exitWhenIdle). Resolves with the shards this worker ran. */
export async function runWorker(o: WorkerOptions): Promise<{ written: number; skipped: number; lost: number; failed: number }> {
  const pool = new ModelPool();
  const jobs = new Map<string, BatchJob>();
  const stats = { written: 0, skipped: 0, lost: 0, failed: 0 };
  let busy = 0;
  const processor = async (qjob: Job<ShardTask>) => {
    busy++;
    try {
      const { spec, shard } = qjob.data;
      const key = JSON.stringify(spec);
      let job = jobs.get(key);
      if (!job) {
        job = await openJob(spec, pool);
        prepareJob(job); // the same manifest or a refusal: a worker never mixes jobs
        jobs.set(key, job);
      }
      const t0 = Date.now();
      const r = await runShard(job, shard);
      stats[r.result === 'written' ? 'written' : r.result === 'skipped' ? 'skipped' : 'lost']++;
      await qjob.updateProgress(100);
      o.log(
        `worker ${process.pid}: ${spec.kind} shard ${shardName(shard)} ${r.result} — ${r.items} items (${r.failed} failed) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      return { result: r.result, items: r.items, failed: r.failed };
    } finally {
      busy--;
    }
  };
  const worker = new Worker<ShardTask>(o.queueName, processor, {
    connection: o.connection,
    concurrency: 1,
    lockDuration: o.lockMs,
    stalledInterval: o.stalledMs,
    maxStalledCount: 3,
  });
  worker.on('failed', (j, err) => {
    stats.failed++;
    o.log(`worker ${process.pid}: ${j?.name ?? 'job'} failed (attempt ${j?.attemptsMade ?? '?'}): ${err.message}`);
  });
  worker.on('error', (err) => o.log(`worker ${process.pid}: ${err.message}`));
  const queue = new Queue(o.queueName, { connection: o.connection });
  try {
    await worker.waitUntilReady();
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (!o.exitWhenIdle) return;
      let idleSince = 0;
      const poll = setInterval(async () => {
        try {
          const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
          const pending = Object.values(c).reduce((a, b) => a + b, 0);
          if (pending === 0 && busy === 0) {
            if (!idleSince) idleSince = Date.now();
            else if (Date.now() - idleSince > 1000) {
              clearInterval(poll);
              resolve();
            }
          } else idleSince = 0;
        } catch {
          /* redis hiccup: try again on the next tick */
        }
      }, 300);
    });
  } finally {
    await worker.close();
    await queue.close();
    for (const j of jobs.values()) j.dispose();
    pool.dispose();
  }
  return stats;
}
