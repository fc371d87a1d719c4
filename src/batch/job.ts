/**
 * The engine every batch command shares: a job = manifest + fixed shards; each shard is produced into a
 * hidden temporary folder and renamed into `shards/NNNNN` when complete (atomic.ts), so a finished shard is
 * never redone and a partial one is never seen. `runShards` serves one process (`--shard i/n` included);
 * the queue worker calls `runShard` per job.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { commitShard, removeStaleTemps, shardTempDir, writeDurable } from './atomic';
import { Manifest, openManifest } from './manifest';
import { BatchProgress } from './progress';
import type { Summary } from './progress';
import { shardName, shardsOf, ShardSpec } from './shards';
import type { JobSpec } from './spec';

export const SHARDS_DIR = 'shards';
export const SHARD_INFO = 'shard.json';

export interface ShardOutcome {
  items: number;
  failed: number;
}

export interface BatchJob {
  spec: JobSpec;
  manifest: Manifest;
  /** What one item is called in progress lines. */
  unit: string;
  /** Items in shard k. */
  shardItems(k: number): number;
  /** Write shard k's files into the empty folder `dir`. */
  writeShard(k: number, dir: string): Promise<ShardOutcome>;
  dispose(): void;
}

export interface ShardInfo {
  shard: number;
  items: number;
  failed: number;
  manifest: string;
  files: Record<string, string>;
}

export const shardPath = (out: string, k: number) => path.join(out, SHARDS_DIR, shardName(k));
export const manifestHash = (m: Manifest) => crypto.createHash('sha256').update(JSON.stringify(m)).digest('hex');

export function isShardDone(out: string, k: number): boolean {
  return fs.existsSync(path.join(shardPath(out, k), SHARD_INFO));
}

/** Create/check the manifest and clear this host's dead temp folders. */
export function prepareJob(job: BatchJob): void {
  openManifest(job.spec.out, job.manifest);
  removeStaleTemps(path.join(job.spec.out, SHARDS_DIR));
}

export async function runShard(job: BatchJob, k: number): Promise<{ result: 'written' | 'skipped' | 'lost' } & ShardOutcome> {
  const final = shardPath(job.spec.out, k);
  if (isShardDone(job.spec.out, k)) {
    const info = JSON.parse(fs.readFileSync(path.join(final, SHARD_INFO), 'utf8')) as ShardInfo;
    return { result: 'skipped', items: info.items, failed: info.failed };
  }
  const tmp = shardTempDir(path.join(job.spec.out, SHARDS_DIR), shardName(k));
  let outcome: ShardOutcome;
  try {
    outcome = await job.writeShard(k, tmp);
    const files: Record<string, string> = {};
    for (const f of fs.readdirSync(tmp).sort())
      files[f] = crypto
        .createHash('sha256')
        .update(fs.readFileSync(path.join(tmp, f)))
        .digest('hex');
    const info: ShardInfo = { shard: k, items: outcome.items, failed: outcome.failed, manifest: manifestHash(job.manifest), files };
    // Written last: a folder without shard.json is never complete, even if someone renamed it by hand.
    writeDurable(path.join(tmp, SHARD_INFO), JSON.stringify(info) + '\n');
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { result: commitShard(tmp, final) ? 'written' : 'lost', ...outcome };
}

export interface RunSummary extends Summary {
  out: string;
  shards: number;
  mine: number;
}

/** Every shard of `spec`'s share, in order, skipping finished ones. */
export async function runShards(
  job: BatchJob,
  spec: ShardSpec,
  progressOut: { write(s: string): unknown; isTTY?: boolean } | null,
  label: string,
): Promise<RunSummary> {
  prepareJob(job);
  const mine = shardsOf(job.manifest.shards, spec);
  const total = mine.reduce((a, k) => a + job.shardItems(k), 0);
  const progress = new BatchProgress(label, total, job.unit, progressOut);
  for (const k of mine) {
    const r = await runShard(job, k);
    progress.shard(r.result, r.items, r.failed);
  }
  return { out: job.spec.out, shards: job.manifest.shards, mine: mine.length, ...progress.summary() };
}
