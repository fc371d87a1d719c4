/**
 * A batch job as plain JSON (what `submit` puts on the queue and every worker rebuilds the job from), and the
 * resolution of each scoring configuration's full options (recorded in the manifest: options decide outputs).
 */
import { AbeOptions, NAMED_CONFIGS, resolveOptions } from '../abe/options';
import { UsageError } from '../errors';

export type NpyDtypeName = 'float16' | 'float32';

interface CommonSpec {
  /** Output folder (absolute). */
  out: string;
  weights: string;
  shardSize: number;
  /** Images per encoder call. */
  batch: number;
  strict: boolean;
}

export interface EmbedImagesSpec extends CommonSpec {
  kind: 'embed-images';
  images: string[];
  dtype: NpyDtypeName;
  /** Configurations whose ABE image features are stored with the embeddings (none: embeddings only). */
  features: string[];
  set: Partial<AbeOptions>;
}

export interface EmbedTextsSpec extends CommonSpec {
  kind: 'embed-texts';
  texts: string;
  dtype: NpyDtypeName;
}

export interface ScoreSpec extends CommonSpec {
  kind: 'score';
  configs: string[];
  set: Partial<AbeOptions>;
  /** Pairs mode: a CSV/JSONL of image, caption[, id]; image paths relative to `imageRoot`. */
  pairs?: string;
  imageRoot?: string;
  /** Matrix mode: images × the captions of `texts`. */
  images?: string[];
  texts?: string;
  /** An `embed` output folder (its `images` job) whose stored features are reused. */
  from?: string;
}

export type JobSpec = EmbedImagesSpec | EmbedTextsSpec | ScoreSpec;

export function checkConfigNames(names: readonly string[], flag: string): void {
  for (const n of names) {
    if (!(n in NAMED_CONFIGS)) throw new UsageError(flag, `unknown configuration '${n}' (known: ${Object.keys(NAMED_CONFIGS).join(', ')})`);
  }
}

/** Full options of named configuration `name` with `--set` overrides (which never apply to `clip`). */
export function configOptions(name: string, set: Partial<AbeOptions>): AbeOptions {
  return resolveOptions({ ...NAMED_CONFIGS[name], ...(name === 'clip' ? {} : set) });
}
