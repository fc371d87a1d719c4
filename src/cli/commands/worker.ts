/** `abe-clip worker`: take shards from a BullMQ/Redis queue and write them (exactly once) to their output folders. */
import { initBackend } from '../../backend';
import { DEFAULT_QUEUE_NAME, redisConnection, runWorker } from '../../batch/queue';
import { defineCommand } from '../command';
import { backendLine } from '../format';

export const worker = defineCommand<{
  queue: string;
  'queue-name': string;
  'lock-ms': number;
  'stalled-ms': number;
  'exit-when-idle'?: boolean;
  json?: boolean;
  backend?: string;
}>({
  name: 'worker',
  summary: 'process queued shards (retries, stalled-job recovery, exactly-once output)',
  usage: 'abe-clip worker --queue redis://127.0.0.1:6379 [--exit-when-idle]',
  flags: [
    { name: 'queue', type: 'string', required: true, placeholder: 'URL', help: 'Redis URL, redis://HOST:PORT[/DB]' },
    { name: 'queue-name', type: 'string', default: DEFAULT_QUEUE_NAME, placeholder: 'NAME', help: 'BullMQ queue name' },
    {
      name: 'lock-ms',
      type: 'int',
      min: 1000,
      default: 60000,
      placeholder: 'MS',
      help: "job lock: a dead worker's shard is given to another after this long",
    },
    { name: 'stalled-ms', type: 'int', min: 500, default: 30000, placeholder: 'MS', help: 'how often to look for stalled jobs' },
    { name: 'exit-when-idle', type: 'boolean', help: 'exit when nothing is waiting or running (batch clusters, tests)' },
    { name: 'json', type: 'boolean', help: 'print the summary as JSON' },
  ],
  async exec(f, io) {
    const backend = await initBackend({ backend: f.backend });
    io.stderr.write(`worker ${process.pid}: ${backendLine(backend)}\n`);
    const stats = await runWorker({
      connection: redisConnection(f.queue),
      queueName: f['queue-name'],
      lockMs: f['lock-ms'],
      stalledMs: f['stalled-ms'],
      exitWhenIdle: Boolean(f['exit-when-idle']),
      log: (l) => io.stderr.write(l + '\n'),
    });
    if (f.json) io.stdout.write(JSON.stringify(stats) + '\n');
    io.stderr.write(
      `worker ${process.pid}: done — ${stats.written} shards written, ${stats.skipped} already done, ${stats.lost} finished elsewhere, ${stats.failed} failures\n`,
    );
    return 0;
  },
});
