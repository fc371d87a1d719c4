/** Flags and spec building shared by the batch commands (embed, score over files, submit). */
import * as path from 'path';
import { UsageError } from '../../errors';
import type { FlagSpec } from '../args';
import type { JobSpec } from '../../batch/spec';
import { checkConfigNames } from '../../batch/spec';
import { parseSets } from '../setup';

export const BATCH_FLAGS: FlagSpec[] = [
  { name: 'out', type: 'string', placeholder: 'DIR', help: 'output folder (manifest.json + shards/NNNNN/); a rerun continues it' },
  {
    name: 'weights',
    type: 'string',
    default: 'toy-shapes',
    placeholder: 'W',
    help: 'model: a converted folder, .safetensors, .pt, HF/open_clip folder, or a bundled name',
  },
  { name: 'shard-size', type: 'int', min: 1, default: 1000, placeholder: 'N', help: 'items per output shard' },
  { name: 'batch', type: 'int', min: 1, default: 64, placeholder: 'N', help: 'images per encoder call' },
  { name: 'shard', type: 'string', placeholder: 'i/n', help: 'do only shards k with k mod n = i (Slurm arrays, Kubernetes Indexed Jobs)' },
  { name: 'strict', type: 'boolean', help: 'fail on a missing or undecodable image (default: record it and go on)' },
  { name: 'set', type: 'string', multiple: true, placeholder: 'KEY=VALUE', help: 'override an ABE option in every non-clip configuration' },
  { name: 'json', type: 'boolean', help: 'print the summary as JSON on stdout' },
];

export interface BatchFlagValues {
  out?: string;
  weights: string;
  'shard-size': number;
  batch: number;
  shard?: string;
  strict?: boolean;
  set?: string[];
  json?: boolean;
  images?: string[];
  texts?: string;
  dtype?: string;
  features?: string;
  configs?: string;
  pairs?: string;
  'image-root'?: string;
  from?: string;
}

const list = (s: string | undefined) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** embed flags → one spec per input kind (images → OUT/images, texts → OUT/texts). */
export function embedSpecs(f: BatchFlagValues): JobSpec[] {
  if (!f.out) throw new UsageError('--out', 'is required');
  if (!f.images?.length && !f.texts) throw new UsageError('embed', 'give --images (folder, list file or glob) and/or --texts FILE');
  const common = { weights: f.weights, shardSize: f['shard-size'], batch: f.batch, strict: Boolean(f.strict) };
  const dtype = (f.dtype ?? 'float32') as 'float16' | 'float32';
  const specs: JobSpec[] = [];
  if (f.images?.length) {
    const features = list(f.features);
    checkConfigNames(features, '--features');
    specs.push({
      kind: 'embed-images',
      ...common,
      out: path.resolve(f.out, 'images'),
      images: f.images.map((p) => path.resolve(p)),
      dtype,
      features,
      set: parseSets(f.set ?? []),
    });
  }
  if (f.texts) specs.push({ kind: 'embed-texts', ...common, out: path.resolve(f.out, 'texts'), texts: path.resolve(f.texts), dtype });
  return specs;
}

export function scoreSpec(f: BatchFlagValues): JobSpec {
  if (!f.out) throw new UsageError('--out', 'is required with --pairs, --images or --from');
  const configs = list(f.configs ?? 'clip,abe,abe+regions');
  if (!configs.length) throw new UsageError('--configs', 'is empty');
  checkConfigNames(configs, '--configs');
  if (f.pairs && (f.texts || f.images?.length))
    throw new UsageError('--pairs', 'cannot be combined with --texts/--images (pairs mode scores the listed pairs)');
  if (!f.pairs && !f.texts) throw new UsageError('score', 'give --pairs FILE, or --texts FILE with --images/--from');
  if (!f.pairs && !f.images?.length && !f.from) throw new UsageError('--texts', 'needs --images or --from (the images to score)');
  return {
    kind: 'score',
    weights: f.weights,
    shardSize: f['shard-size'],
    batch: f.batch,
    strict: Boolean(f.strict),
    out: path.resolve(f.out),
    configs: [...new Set(configs)],
    set: parseSets(f.set ?? []),
    ...(f.pairs ? { pairs: path.resolve(f.pairs), imageRoot: path.resolve(f['image-root'] ?? path.dirname(f.pairs)) } : {}),
    ...(f.images?.length ? { images: f.images.map((p) => path.resolve(p)) } : {}),
    ...(f.texts ? { texts: path.resolve(f.texts) } : {}),
    ...(f.from ? { from: path.resolve(f.from) } : {}),
  };
}

/** Flags of `score` over files (the `--image`/`--text` form stays as it was). */
export const SCORE_FILE_FLAGS: FlagSpec[] = [
  { name: 'pairs', type: 'string', placeholder: 'FILE', help: 'score the pairs of a CSV/JSONL (image, caption[, id]) into --out' },
  {
    name: 'image-root',
    type: 'string',
    placeholder: 'DIR',
    help: "folder the pairs' image paths are relative to (default: the pairs file's folder)",
  },
  { name: 'images', type: 'string', multiple: true, placeholder: 'SPEC', help: 'images × --texts: a folder, a list file or a quoted glob' },
  { name: 'texts', type: 'string', placeholder: 'FILE', help: 'captions, one a line (images × captions)' },
  { name: 'from', type: 'string', placeholder: 'DIR', help: 'an embed --out folder: reuse its stored features (embed --features …)' },
  { name: 'out', type: 'string', placeholder: 'DIR', help: 'output folder of a file-mode run (manifest.json + shards/NNNNN/scores.jsonl)' },
  { name: 'shard-size', type: 'int', min: 1, default: 1000, placeholder: 'N', help: 'pairs (or images) per output shard' },
  { name: 'batch', type: 'int', min: 1, default: 64, placeholder: 'N', help: 'images per encoder call' },
  { name: 'shard', type: 'string', placeholder: 'i/n', help: 'do only shards k with k mod n = i' },
  {
    name: 'strict',
    type: 'boolean',
    help: 'fail on a missing or undecodable image (file mode), or a caption longer than the context or with no word (default: record or warn, and go on)',
  },
];

export function isFileMode(f: BatchFlagValues): boolean {
  return Boolean(f.pairs || f.images?.length || f.texts || f.from || f.out);
}
