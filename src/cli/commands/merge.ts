/** `abe-clip merge`: check and combine the shards of a batch job (one or several output folders). */
import { UsageError } from '../../errors';
import { mergeOutputs } from '../../batch/merge';
import { defineCommand } from '../command';

export const merge = defineCommand<{ out?: string; json?: boolean }>({
  name: 'merge',
  summary: 'check and combine the shards of embed/score runs (missing or duplicate shards are errors)',
  usage: 'abe-clip merge DIR [DIR …] --out MERGED',
  positionals: true,
  flags: [
    {
      name: 'out',
      type: 'string',
      required: true,
      placeholder: 'DIR',
      help: 'folder for embeds.npy + meta.jsonl (embed) or scores.jsonl (score)',
    },
    { name: 'json', type: 'boolean', help: 'print the summary as JSON' },
  ],
  notes: 'Give the job folder (e.g. OUT/images), or one folder per --shard worker when each wrote its own.\n',
  async exec(f, io) {
    if (!f._.length) throw new UsageError('merge', 'give the output folder(s) to merge');
    const r = mergeOutputs(f._, f.out!);
    if (f.json) io.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else io.stderr.write(`merged ${r.shards} shards of ${r.kind}: ${r.rows} rows (${r.failed} failed items) → ${r.files.join(', ')}\n`);
    return 0;
  },
});
