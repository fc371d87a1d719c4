/** Fixed-size shards over an ordered input, and the deterministic `--shard i/n` split among n workers. */
import { UsageError } from '../errors';

export interface ShardSpec {
  index: number;
  count: number;
}

export function parseShardSpec(s: string | undefined): ShardSpec {
  if (s === undefined) return { index: 0, count: 1 };
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  if (!m) throw new UsageError(`--shard ${s}`, 'expected i/n with 0 ≤ i < n, e.g. --shard 0/4');
  const index = Number(m[1]),
    count = Number(m[2]);
  if (count < 1 || index >= count) throw new UsageError(`--shard ${s}`, `needs 0 ≤ i < n (got i=${index}, n=${count})`);
  return { index, count };
}

export const shardCount = (items: number, size: number) => Math.ceil(items / size);

/** Shard k goes to worker k mod n: every worker gets every n-th shard, so the split is balanced and fixed. */
export function shardsOf(total: number, spec: ShardSpec): number[] {
  const out: number[] = [];
  for (let k = spec.index; k < total; k += spec.count) out.push(k);
  return out;
}

export const shardName = (k: number) => String(k).padStart(5, '0');
