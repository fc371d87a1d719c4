/** `abe-clip rank`: top-k images per caption by CLIP over an embed output, and the same after ABE reranking. */
import { initBackend } from '../../backend';
import { UsageError } from '../../errors';
import { writeFileAtomic } from '../../batch/atomic';
import { readTexts } from '../../batch/inputs';
import { rankCaptions } from '../../batch/rank';
import { ModelPool } from '../../batch/run';
import { checkConfigNames } from '../../batch/spec';
import { defineCommand } from '../command';
import { backendLine } from '../format';
import { parseSets } from '../setup';

export const rank = defineCommand<{
  from?: string;
  texts?: string;
  text?: string[];
  k: number;
  pool: number;
  config: string;
  weights: string;
  set?: string[];
  out?: string;
  json?: boolean;
  backend?: string;
}>({
  name: 'rank',
  summary: 'top-k images per caption by CLIP over an embed output, reranked by ABE',
  usage: 'abe-clip rank --from EMB --texts FILE [--k 10] [--pool 100] [--config abe+regions] [--out ranks.jsonl]',
  flags: [
    { name: 'from', type: 'string', required: true, placeholder: 'DIR', help: 'an embed --out folder (with --features for --config)' },
    { name: 'texts', type: 'string', placeholder: 'FILE', help: 'captions, one a line' },
    { name: 'text', type: 'string', multiple: true, placeholder: 'CAPTION', help: 'a caption (repeatable)' },
    { name: 'k', type: 'int', min: 1, default: 10, placeholder: 'K', help: 'results per caption in each ranking' },
    { name: 'pool', type: 'int', min: 1, default: 100, placeholder: 'N', help: 'CLIP candidates per caption that ABE reranks' },
    { name: 'config', type: 'string', default: 'abe+regions', placeholder: 'NAME', help: 'reranking configuration (abe, abe+regions)' },
    { name: 'weights', type: 'string', default: 'toy-shapes', placeholder: 'W', help: 'the model the folder was embedded with' },
    { name: 'set', type: 'string', multiple: true, placeholder: 'KEY=VALUE', help: "ABE option override (must match the embed run's)" },
    {
      name: 'out',
      type: 'string',
      placeholder: 'FILE',
      help: 'write JSONL {caption, config, clip: [{image, clip}], reranked: [{image, clip, score}]} here (default: stdout)',
    },
    { name: 'json', type: 'boolean', help: 'JSONL on stdout (the default without --out)' },
  ],
  async exec(f, io) {
    checkConfigNames([f.config], '--config');
    const texts = [...(f.texts ? readTexts(f.texts) : []), ...(f.text ?? [])];
    if (!texts.length) throw new UsageError('rank', 'give --texts FILE or --text CAPTION');
    io.stderr.write(backendLine(await initBackend({ backend: f.backend })) + '\n');
    const pool = new ModelPool();
    try {
      const rows = await rankCaptions(await pool.get(f.weights), {
        from: f.from!,
        texts,
        k: f.k,
        pool: Math.max(f.pool, f.k),
        config: f.config,
        weights: f.weights,
        set: parseSets(f.set ?? []),
      });
      const text = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
      if (f.out) {
        writeFileAtomic(f.out, text);
        io.stderr.write(`ranked ${rows.length} captions → ${f.out}\n`);
      } else io.stdout.write(text);
    } finally {
      pool.dispose();
    }
    return 0;
  },
});
