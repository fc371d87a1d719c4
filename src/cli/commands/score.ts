/** `abe-clip score`: CLIP and ABE scores of every image × caption, as a table or JSON. */
import * as fs from 'fs';
import { initBackend } from '../../backend';
import { UsageError } from '../../errors';
import { defineCommand } from '../command';
import { backendLine, columns } from '../format';
import { applyThreads, CONFIG_FLAGS, ConfigFlags, openScorer, THREADS_FLAG } from '../setup';

export const score = defineCommand<ConfigFlags & { image: string[]; text: string[]; json?: boolean; backend?: string; threads?: number }>({
  name: 'score',
  summary: 'CLIP and ABE scores of images × captions',
  usage: 'abe-clip score --weights W --image a.jpg [--image b.png …] --text "a red cube" [--text …] [--json]',
  flags: [
    { name: 'image', type: 'string', multiple: true, required: true, placeholder: 'FILE', help: 'image file' },
    { name: 'text', type: 'string', multiple: true, required: true, placeholder: 'CAPTION', help: 'caption' },
    { name: 'json', type: 'boolean', help: 'print JSON {images, texts, configs, scores: {config: [[…]]}} instead of a table' },
    ...CONFIG_FLAGS,
    THREADS_FLAG,
  ],
  notes: 'Scores are logits: logit_scale · cos(image, text) for clip, plus the configuration\'s ABE term.\n' +
    'Example:\n  abe-clip score --image data/toy-shapes/images/seen_0000.png --text "a orange star and a cyan circle" --text "a cyan star and a orange circle"\n',
  async exec(f, io) {
    for (const im of f.image) if (!fs.existsSync(im)) throw new UsageError(`--image ${im}`, 'no such file');
    applyThreads(f.threads, false);
    const backend = await initBackend({ backend: f.backend });
    if (!f.json) io.stderr.write(backendLine(backend) + '\n');
    const s = await openScorer(f, f.json ? { stderr: { write: () => true } as unknown as NodeJS.WritableStream } : io);
    try {
      const refs = f.image.map((p) => ({ key: p, path: p }));
      const { feats, ok, failed } = await s.scorer.features(refs);
      if (failed.size) { const [k, e] = [...failed][0]; throw new UsageError(`--image ${k}`, `cannot be decoded: ${e}`); }
      const { scores } = await s.scorer.scoreFeatures(feats, f.text);
      const M = f.text.length;
      if (f.json) {
        const out: Record<string, number[][]> = {};
        for (const cfg of s.scorer.configs) out[cfg] = ok.map((_, r) => Array.from(scores[cfg].subarray(r * M, (r + 1) * M)));
        io.stdout.write(JSON.stringify({ model: f.weights, backend: backend.name, images: f.image, texts: f.text, configs: s.scorer.configs, scores: out }, null, 2) + '\n');
        return 0;
      }
      const rows = [['image', 'text', ...s.scorer.configs]];
      f.image.forEach((im, r) => f.text.forEach((t, m) => rows.push([im, t, ...s.scorer.configs.map((cfg) => scores[cfg][r * M + m].toFixed(3))])));
      io.stdout.write(columns(rows, rows[0].map((_, j) => j >= 2)) + '\n');
    } finally {
      s.dispose();
    }
    return 0;
  },
});
