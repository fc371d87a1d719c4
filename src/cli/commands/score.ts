/** `abe-clip score`: CLIP and ABE scores of every image × caption, as a table or JSON. */
import { deviceReport, initBackend } from '../../backend';
import { ImageDecodeError, UsageError } from '../../errors';
import { captionJson } from '../../eval/captions';
import { defineCommand } from '../command';
import { backendLine, columns } from '../format';
import { applyThreads, checkCaptions, checkConfigFlags, CONFIG_FLAGS, ConfigFlags, openScorer, requirePath, THREADS_FLAG } from '../setup';
import { BatchFlagValues, isFileMode, SCORE_FILE_FLAGS, scoreSpec } from './batch-flags';
import { runSpecsHere } from './batch-run';

export const score = defineCommand<
  ConfigFlags & BatchFlagValues & { image: string[]; text: string[]; json?: boolean; backend?: string; threads?: number }
>({
  name: 'score',
  summary: 'CLIP and ABE scores of images × captions',
  usage: 'abe-clip score --weights W --image a.jpg [--image b.png …] --text "a red cube" [--text …] [--json]',
  flags: [
    { name: 'image', type: 'string', multiple: true, placeholder: 'FILE', help: 'image file' },
    { name: 'text', type: 'string', multiple: true, placeholder: 'CAPTION', help: 'caption' },
    ...SCORE_FILE_FLAGS,
    { name: 'json', type: 'boolean', help: 'print JSON {images, texts, configs, scores: {config: [[…]]}, captions} instead of a table' },
    ...CONFIG_FLAGS,
    THREADS_FLAG,
  ],
  notes:
    "Scores are logits: logit_scale · cos(image, text) for clip, plus the configuration's ABE term.\n" +
    "Captions longer than the model's context (77 tokens for ViT-B/32, 32 for toy-shapes) are truncated and\n" +
    'captions with no word are scored, both with a warning; --strict makes them an error.\n' +
    'Example:\n  abe-clip score --image data/toy-shapes/images/seen_0000.png --text "a orange star and a cyan circle" --text "a cyan star and a orange circle"\n',
  async exec(f, io) {
    if (isFileMode(f)) return runSpecsHere([scoreSpec(f)], f, io);
    if (!f.image?.length)
      throw new UsageError('--image', 'is required (or score files: --pairs FILE, or --texts FILE with --images/--from; see --help)');
    if (!f.text?.length) throw new UsageError('--text', 'is required');
    for (const im of f.image) requirePath('--image', im, 'file');
    checkConfigFlags(f);
    applyThreads(f.threads, false);
    const backend = await initBackend({ backend: f.backend, source: '--backend' });
    if (!f.json) io.stderr.write(backendLine(backend) + '\n');
    const s = await openScorer(f, f.json ? { stderr: { write: () => true } as unknown as NodeJS.WritableStream } : io);
    try {
      const refs = f.image.map((p) => ({ key: p, path: p }));
      const { feats, ok, failed } = await s.scorer.features(refs);
      // The file exists and was named correctly: a corrupt image is a failure (exit 1), not a usage error.
      if (failed.size) {
        const [k, e] = [...failed][0];
        throw new ImageDecodeError(k, e);
      }
      const caps = checkCaptions(f.text, s.contextLength, { strict: f.strict, source: '--text', fromFlags: true }, io);
      const { scores } = await s.scorer.scoreFeatures(feats, f.text);
      const M = f.text.length;
      if (f.json) {
        const out: Record<string, number[][]> = {};
        for (const cfg of s.scorer.configs) out[cfg] = ok.map((_, r) => Array.from(scores[cfg].subarray(r * M, (r + 1) * M)));
        io.stdout.write(
          JSON.stringify(
            {
              model: f.weights,
              backend: backend.name,
              device: deviceReport(backend),
              images: f.image,
              texts: f.text,
              configs: s.scorer.configs,
              scores: out,
              captions: captionJson(caps),
            },
            null,
            2,
          ) + '\n',
        );
        return 0;
      }
      const rows = [['image', 'text', ...s.scorer.configs]];
      f.image.forEach((im, r) =>
        f.text.forEach((t, m) => rows.push([im, t, ...s.scorer.configs.map((cfg) => scores[cfg][r * M + m].toFixed(3))])),
      );
      io.stdout.write(
        columns(
          rows,
          rows[0].map((_, j) => j >= 2),
        ) + '\n',
      );
    } finally {
      s.dispose();
    }
    return 0;
  },
});
