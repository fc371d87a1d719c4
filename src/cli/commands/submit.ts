/** `abe-clip submit`: enqueue the shards of an embed or score job on a BullMQ/Redis queue. */
import { Queue } from 'bullmq';
import { UsageError } from '../../errors';
import { parseFlags } from '../args';
import { defineCommand } from '../command';
import { CONFIG_FLAGS } from '../setup';
import { openJob, ModelPool } from '../../batch/run';
import { DEFAULT_QUEUE_NAME, redisConnection, submitJob, SubmitResult } from '../../batch/queue';
import { BatchFlagValues, embedSpecs, scoreSpec, SCORE_FILE_FLAGS } from './batch-flags';
import { EMBED_FLAGS } from './embed';

export const submit = defineCommand<{ queue: string; 'queue-name': string; attempts: number; json?: boolean }>({
  name: 'submit',
  summary: 'enqueue the shards of an embed/score job on a Redis (BullMQ) queue',
  usage: "abe-clip submit --queue redis://127.0.0.1:6379 -- embed|score [that command's flags]",
  positionals: true,
  flags: [
    { name: 'queue', type: 'string', required: true, placeholder: 'URL', help: 'Redis URL, redis://HOST:PORT[/DB]' },
    { name: 'queue-name', type: 'string', default: DEFAULT_QUEUE_NAME, placeholder: 'NAME', help: 'BullMQ queue name' },
    { name: 'attempts', type: 'int', min: 1, default: 3, placeholder: 'N', help: 'tries per shard before it is marked failed' },
    { name: 'json', type: 'boolean', help: 'print the result as JSON' },
  ],
  notes:
    "The job's flags are those of `abe-clip embed` or `abe-clip score` (file mode); its manifest is created now,\n" +
    'and workers (`abe-clip worker --queue URL`) refuse anything that does not match it.\n',
  async exec(f, io) {
    const [cmd, ...rest] = f._;
    if (cmd !== 'embed' && cmd !== 'score') throw new UsageError('submit', 'give the job after --: embed … or score …');
    const jf = parseFlags(rest, cmd === 'embed' ? EMBED_FLAGS : [...CONFIG_FLAGS, ...SCORE_FILE_FLAGS]) as unknown as BatchFlagValues;
    const specs = cmd === 'embed' ? embedSpecs(jf) : [scoreSpec(jf)];
    const connection = redisConnection(f.queue);
    const queue = new Queue(f['queue-name'], { connection });
    const pool = new ModelPool();
    const results: SubmitResult[] = [];
    try {
      for (const spec of specs) {
        const job = await openJob(spec, pool);
        try {
          results.push(await submitJob(queue, job, f.attempts));
        } finally {
          job.dispose();
        }
      }
    } finally {
      await queue.close();
      pool.dispose();
    }
    if (f.json) io.stdout.write(JSON.stringify(results, null, 2) + '\n');
    for (const r of results)
      io.stderr.write(`submitted ${r.queued} shards (${r.alreadyDone} already done, ${r.shards} in all) → ${r.out}\n`);
    return 0;
  },
});
