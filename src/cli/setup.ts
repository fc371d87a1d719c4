/**
 * What the scoring subcommands share: the model and configuration flags, `--set key=value` option overrides
 * (typed from the scorer's option defaults), and opening a model + scorer + feature cache from them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_OPTIONS, NAMED_CONFIGS, resolveOptions } from '../abe/options';
import type { AbeOptions } from '../abe/options';
import { BUNDLED_MODELS, loadClip, resolveModelPath } from '../clip/load';
import { DatasetError, InputError, OptionsError, UsageError, WeightsFormatError } from '../errors';
import { captionProblem, CaptionReport, captionReport, captionWarnings } from '../eval/captions';
import { weightsContentId } from '../io/content-hash';
import { ModelScorer } from '../eval/scoring';
import type { ScorerConfig } from '../eval/scoring';
import type { ChunkScorer } from '../eval/runner';
import { ScorerPool } from '../eval/scorer-pool';
import { availableCores } from '../parallel/pool';
import { setTensorflowThreads } from '../tensor/tensorflow';
import { backendInfo } from '../backend';
import type { FlagSpec } from './args';
import { loadDataset } from '../eval/datasets';
import type { DatasetKind } from '../eval/datasets';
import type { PairDataset } from '../eval/types';
import { bundledBenchmark } from './paths';

export interface ConfigFlags {
  weights: string;
  configs: string;
  set: string[];
  cache: string;
  'no-cache'?: boolean;
}

export const CONFIG_FLAGS: FlagSpec[] = [
  {
    name: 'weights',
    type: 'string',
    default: 'toy-shapes',
    placeholder: 'W',
    help: 'model: a converted folder, .safetensors, .pt, HF/open_clip folder, or a bundled name',
  },
  {
    name: 'configs',
    type: 'string',
    default: Object.keys(NAMED_CONFIGS).join(','),
    placeholder: 'LIST',
    help: `configurations to compare (${Object.keys(NAMED_CONFIGS).join(', ')})`,
  },
  {
    name: 'set',
    type: 'string',
    multiple: true,
    placeholder: 'KEY=VALUE',
    help: 'override an ABE option in every non-clip configuration, e.g. --set topK=2',
  },
  { name: 'cache', type: 'string', default: '.abe-cache', placeholder: 'DIR', help: 'image-feature cache folder' },
  { name: 'no-cache', type: 'boolean', help: 'do not read or write the feature cache' },
];

/** How many cores a scoring command uses. */
export const THREADS_FLAG: FlagSpec = {
  name: 'threads',
  type: 'int',
  min: 1,
  placeholder: 'N',
  help: 'cores to use (default: all, or env ABE_THREADS): eval/ablate/demo score images on N worker threads; TensorFlow runs N intra-op threads otherwise',
};

/**
 * The cores a command uses: `--threads`, else ABE_THREADS, else every core. Call before initBackend: with a
 * worker pool (`pooled`, N > 1) each worker's TensorFlow gets one intra-op thread (TensorFlow reads the count
 * once, at load, for the whole process), else TensorFlow gets N.
 * @throws UsageError for an ABE_THREADS that is not a positive integer.
 */
export function applyThreads(flag: number | undefined, pooled: boolean): number {
  let n = flag;
  if (n === undefined && process.env.ABE_THREADS !== undefined) {
    n = Number(process.env.ABE_THREADS);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new UsageError('ABE_THREADS', `expected a positive integer, got '${process.env.ABE_THREADS}'`);
  }
  const threads = n ?? availableCores();
  setTensorflowThreads(pooled && threads > 1 ? 1 : threads);
  return threads;
}

/** The values of DATASET_FLAGS (and `--dataset`). */
export interface DatasetFlags {
  data?: string;
  images?: string;
  'caption-map'?: string;
  limit?: number;
  strict?: boolean;
  'allow-outside-images'?: boolean;
}

/** The benchmark file the flags name (toy: the bundled one by default), with every given path checked to exist. */
export function datasetPath(kind: DatasetKind, f: DatasetFlags): string {
  const data = f.data ?? (kind === 'toy' ? bundledBenchmark() : undefined);
  if (!data) throw new UsageError('--data', `is required for --dataset ${kind}`);
  requirePath('--data', data);
  if (f.images) requirePath('--images', f.images, 'folder');
  if (f['caption-map']) requirePath('--caption-map', f['caption-map'], 'file');
  return data;
}

/** The benchmark's items, from `datasetPath`'s file and the other dataset flags. */
export function openDataset(kind: DatasetKind, data: string, f: DatasetFlags): PairDataset {
  return loadDataset(kind, {
    data,
    images: f.images,
    captionMap: f['caption-map'],
    limit: f.limit,
    allowOutsideImages: f['allow-outside-images'] === true,
  });
}

/** Where a benchmark's items and images come from (eval and ablate). */
export const DATASET_FLAGS: FlagSpec[] = [
  {
    name: 'data',
    type: 'string',
    placeholder: 'PATH',
    help: 'annotation file or folder (toy: default the bundled benchmark; retrieval: captions file)',
  },
  { name: 'images', type: 'string', placeholder: 'DIR', help: 'folder the image names are relative to' },
  { name: 'caption-map', type: 'string', placeholder: 'FILE', help: 'ABC-6K: JSON {caption: image file} or JSONL {caption, image}' },
  { name: 'limit', type: 'int', min: 1, placeholder: 'N', help: 'use the first N items (spread over the subsets)' },
  {
    name: 'strict',
    type: 'boolean',
    help: 'fail when an image is missing or undecodable, or a caption is too long or has no word (default: report them and go on)',
  },
  { name: 'allow-outside-images', type: 'boolean', help: 'accept image paths outside the images/data folder (absolute or ../)' },
];

/** Parse one option value by the type of its default; unknown keys are usage errors. */
export function parseOptionValue(key: string, raw: string, where: string): string | number {
  if (!(key in DEFAULT_OPTIONS)) {
    throw new UsageError(where, `unknown option '${key}' (known: ${Object.keys(DEFAULT_OPTIONS).join(', ')})`);
  }
  const def = (DEFAULT_OPTIONS as unknown as Record<string, unknown>)[key];
  if (typeof def === 'number') {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(where, `${key} needs a number, got '${raw}'`);
    return v;
  }
  return raw;
}

export function parseSets(sets: string[]): Partial<AbeOptions> {
  const o: Record<string, string | number> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set ${s}`, 'expected KEY=VALUE');
    o[s.slice(0, eq)] = parseOptionValue(s.slice(0, eq), s.slice(eq + 1), `--set ${s}`);
  }
  return o as Partial<AbeOptions>;
}

export function parseConfigs(list: string): string[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!names.length) throw new UsageError('--configs', 'is empty');
  for (const n of names) {
    if (!(n in NAMED_CONFIGS))
      throw new UsageError('--configs', `unknown configuration '${n}' (known: ${Object.keys(NAMED_CONFIGS).join(', ')})`);
  }
  return [...new Set(names)];
}

/** A user-given path that must exist: a usage error (exit 2) naming the flag when it does not. */
export function requirePath(flag: string, p: string, what = 'file or folder'): void {
  if (!fs.existsSync(p)) throw new UsageError(`${flag} ${p}`, `no such ${what}`);
}

export interface CheckedConfig {
  names: string[];
  overrides: Partial<AbeOptions>;
  /** The weights path (a bundled name resolved to its folder). */
  modelPath: string;
}

/**
 * Everything about the model and configuration flags that can be checked without loading the model: the
 * configuration names, every `--set` (typed and range-checked against each configuration) and the weights
 * path. All are usage errors (exit 2), raised before anything slow starts.
 */
export function checkConfigFlags(f: Pick<ConfigFlags, 'weights' | 'configs' | 'set'>, extra: Partial<AbeOptions> = {}): CheckedConfig {
  const names = parseConfigs(f.configs);
  const overrides = { ...parseSets(f.set ?? []), ...extra };
  for (const n of names) {
    if (n === 'clip') continue;
    try {
      resolveOptions(overrides, resolveOptions(n as never), n);
    } catch (e) {
      if (e instanceof OptionsError)
        throw new UsageError(
          f.set?.length ? `--set ${f.set.join(' --set ')}` : '--configs',
          `${e.problem}${names.length > 1 ? ` (configuration ${n})` : ''}`,
        );
      throw e;
    }
  }
  if (!fs.existsSync(f.weights) && !(BUNDLED_MODELS as readonly string[]).includes(f.weights)) {
    throw new UsageError(`--weights ${f.weights}`, `no such file or folder, and not a bundled model (${BUNDLED_MODELS.join(', ')})`);
  }
  // A bundled name whose folder is missing is a broken installation (exit 1), not a usage error.
  return { names, overrides, modelPath: resolveModelPath(f.weights) };
}

export interface OpenScorer {
  /** The in-process scorer (features, explain, retrieval). */
  scorer: ModelScorer;
  /** What runPairs scores chunks with: a ScorerPool of `threads` workers, or `scorer` itself when threads = 1. */
  chunks: ChunkScorer;
  /** Workers scoring chunks (1 = in-process). */
  threads: number;
  modelLabel: string;
  /** The model's text context length (tokens, SOT and EOT included). */
  contextLength: number;
  cacheLine(): string;
  dispose(): void;
}

/**
 * How many model workers a scoring command starts for `threads` cores: one per core on a CPU backend, none on a
 * GPU (a worker per core would put one model and one device context per core on the same GPU; the device does
 * the parallel work in-process). 1 = the in-process scorer.
 */
export function modelWorkers(threads: number, device: { gpu: boolean } | undefined): number {
  return device?.gpu ? 1 : Math.max(1, threads);
}

/**
 * A chunk scorer on `threads` workers (ScorerPool) for runPairs, or null for the in-process scorer (one thread,
 * or a GPU backend: modelWorkers). The workers use the backend this thread chose.
 */
export async function openChunkScorer(
  weights: string,
  configs: ScorerConfig[],
  cacheDir: string | undefined,
  modelId: string | undefined,
  threads: number,
  io: { stderr: NodeJS.WritableStream },
): Promise<ScorerPool | null> {
  const info = backendInfo();
  if (threads > 1 && modelWorkers(threads, info?.device) === 1) {
    io.stderr.write(`${info!.name} runs on a GPU: scoring in-process on the device (no model worker per core)\n`);
  }
  threads = modelWorkers(threads, info?.device);
  if (threads <= 1) return null;
  const t0 = Date.now();
  const pool = await ScorerPool.create({ weights, configs, cacheDir, modelId, backend: backendInfo()?.name }, threads);
  io.stderr.write(`${threads} scorer worker threads started in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return pool;
}

export async function openScorer(
  f: ConfigFlags,
  io: { stderr: NodeJS.WritableStream },
  extra: Partial<AbeOptions> = {},
  threads = 1,
): Promise<OpenScorer> {
  const { names, overrides, modelPath } = checkConfigFlags(f, extra);
  const t0 = Date.now();
  const model = await loadClip(f.weights);
  const rel = path.relative(process.cwd(), modelPath);
  const shown = rel && !rel.startsWith('..') ? rel : path.resolve(modelPath);
  io.stderr.write(
    `model: ${f.weights}${modelPath !== f.weights ? ` (${shown})` : ''}, loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  let scorer: ModelScorer;
  const configs = names.map((n) => ({ name: n, overrides: n === 'clip' ? {} : overrides }));
  const cacheDir = f['no-cache'] ? undefined : f.cache;
  // The disk cache is keyed by the weights' content (never their path): another model behind the same path, or
  // the same model moved, gets the right features. The pool's workers use the same id.
  const modelId = cacheDir === undefined ? undefined : weightsContentId(modelPath, cacheDir, (p) => new WeightsFormatError(modelPath, p));
  try {
    scorer = new ModelScorer(model, { configs, modelId, cacheDir });
  } catch (e) {
    model.dispose();
    // Options that only the loaded model can check (topK against its patch count, layer indices).
    if (e instanceof InputError || e instanceof OptionsError)
      throw new UsageError(f.set?.length ? `--set ${f.set.join(' --set ')}` : `--weights ${f.weights}`, e.problem);
    throw e;
  }
  let pool: ScorerPool | null;
  try {
    pool = await openChunkScorer(f.weights, configs, cacheDir, modelId, threads, io);
  } catch (e) {
    scorer.dispose();
    model.dispose();
    throw e;
  }
  return {
    scorer,
    chunks: pool ?? scorer,
    threads: pool ? pool.workers : 1,
    modelLabel: f.weights,
    contextLength: model.config.text.contextLength,
    cacheLine: () => scorer.cacheLine(),
    dispose: () => {
      void pool?.close();
      scorer.dispose();
      model.dispose();
    },
  };
}

/**
 * The caption policy of every command (src/eval/captions): count the truncated and word-less captions, warn
 * on stderr, and with `strict` fail — a usage error when the captions came from flags (`--text`), a dataset
 * error (exit 1) when they came from a file.
 */
export function checkCaptions(
  captions: Iterable<string>,
  contextLength: number,
  opts: { strict?: boolean; source: string; fromFlags?: boolean },
  io: { stderr: NodeJS.WritableStream },
): CaptionReport {
  const r = captionReport(captions, contextLength);
  const problem = opts.strict ? captionProblem(r) : null;
  if (problem) throw opts.fromFlags ? new UsageError(opts.source, problem) : new DatasetError(opts.source, problem);
  for (const line of captionWarnings(r)) io.stderr.write(line + '\n');
  return r;
}
