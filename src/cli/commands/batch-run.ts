/** Run batch specs in this process (embed, score over files): progress on stderr, summary at the end. */
import { initBackend } from '../../backend';
import { openJob, ModelPool } from '../../batch/run';
import { runShards, RunSummary } from '../../batch/job';
import { parseShardSpec } from '../../batch/shards';
import { fmtSeconds } from '../../batch/progress';
import type { JobSpec } from '../../batch/spec';
import type { Io } from '../main';
import { backendLine } from '../format';

export async function runSpecsHere(specs: JobSpec[], f: { shard?: string; json?: boolean; backend?: string }, io: Io): Promise<number> {
  const shard = parseShardSpec(f.shard);
  const backend = await initBackend({ backend: f.backend });
  io.stderr.write(backendLine(backend) + '\n');
  const pool = new ModelPool();
  const results: (RunSummary & { job: string })[] = [];
  try {
    for (const spec of specs) {
      const job = await openJob(spec, pool);
      try {
        const label = `${spec.kind}${shard.count > 1 ? ` [shard ${shard.index}/${shard.count}]` : ''}`;
        const r = await runShards(job, shard, io.stderr, label);
        results.push({ job: spec.kind, ...r });
        io.stderr.write(
          `${label}: done — ${r.items} ${job.unit} (${r.failed} failed) in ${fmtSeconds(r.seconds)}, ${r.itemsPerSecond.toFixed(1)}/s; ` +
            `shards ${r.shardsWritten} written, ${r.shardsSkipped} already done${r.shardsLost ? `, ${r.shardsLost} finished by another worker` : ''} (${r.mine} of ${r.shards}) → ${r.out}\n`,
        );
      } finally {
        job.dispose();
      }
    }
  } finally {
    pool.dispose();
  }
  if (f.json) io.stdout.write(JSON.stringify({ backend: backend.name, jobs: results }, null, 2) + '\n');
  return 0;
}
