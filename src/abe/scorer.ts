/**
 * AbeScorer: CLIP and ABE-CLIP scores of N images × M captions (or of a list of pairs), with reusable image
 * features. Everything it returns is plain typed arrays (row-major, shapes documented): the caller disposes
 * nothing, and every call leaves tf.memory().numTensors unchanged.
 *
 *   const scorer = new AbeScorer(model, 'abe');                  // or options, or 'abe+regions'
 *   const feats = await scorer.imageFeatures(pixels);             // [n,3,R,R] → ImageFeatures[] (cached)
 *   const { clip, abe } = await scorer.scoreMatrix(feats, ['a red cube and a blue sphere']);  // [N·M]
 *
 * It only wires three parts together: the image-feature extractor (image-features.ts), the text-feature builder
 * (text-features.ts, one bounded cache) and the pure scoring functions (score.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import { InputError, OptionsError } from '../errors';
import type { CaptionInput } from './captions';
import type { ImageFeatures } from './features';
import { CacheOptions, ImageFeatureExtractor, ImagesInput, needsOf } from './image-features';
import type { AbeModel } from './model';
import { AbeOptions, ConfigName, hiddenIndex, resolveOptions } from './options';
import { FeatureKeys, ScoreContext, scoreBlock, ScoreParts, scorePairsOf } from './score';
import { TextFeatureBuilder } from './text-features';

export type { CacheOptions } from './image-features';
export type { ScoreParts } from './score';
export type { GroupInfo } from './text-features';

/** Per-call options: any AbeOptions override, plus `parts`. */
/**
 * Per-call options: any AbeOptions override, plus `parts`, and `truncate`: cut captions longer than the
 * model's context length (as openai `clip.tokenize(truncate=True)`) instead of throwing TokenizerError, the
 * default, which matches `model.encodeTexts` and `tokenize`.
 */
export type ScoreOptions = Partial<AbeOptions> & { parts?: boolean; truncate?: boolean };

export interface ScoreResult {
  /** N images, M captions. */
  n: number;
  m: number;
  /** [N·M] row-major: S_clip and S_abe (the configuration the options select). */
  clip: Float32Array;
  abe: Float32Array;
  parts?: ScoreParts;
  /** The resolved options used. */
  options: AbeOptions;
}

export interface PairResult {
  /** [pairs] */
  clip: Float32Array;
  abe: Float32Array;
  options: AbeOptions;
}

export class AbeScorer {
  readonly model: AbeModel;
  readonly options: AbeOptions;
  private readonly images: ImageFeatureExtractor;
  private readonly texts: TextFeatureBuilder;

  constructor(model: AbeModel, options?: Partial<AbeOptions> | ConfigName, cache: CacheOptions & { textEntries?: number } = {}) {
    this.model = model;
    this.options = resolveOptions(options);
    this.check(this.options);
    this.images = new ImageFeatureExtractor(model, cache);
    this.texts = new TextFeatureBuilder(model, cache.textEntries);
  }

  /** Model-dependent validation: layers and patches. */
  private check(o: AbeOptions): { patchIndex: number; refineIndex: number } {
    const c = this.model.config;
    const patchIndex = hiddenIndex(o.patchLayer, c.vision.layers, 'patchLayer');
    const refineIndex = hiddenIndex(o.refineLayer, c.text.layers, 'refineLayer');
    const P = (c.vision.resolution / c.vision.patchSize) ** 2;
    if (o.topK > P) throw new InputError('options', `topK ${o.topK} exceeds the model's ${P} patches`);
    return { patchIndex, refineIndex };
  }

  private resolve(opts?: ScoreOptions | Partial<AbeOptions>): AbeOptions {
    const { parts: _p, truncate, ...rest } = (opts ?? {}) as ScoreOptions;
    if (truncate !== undefined && typeof truncate !== 'boolean')
      throw new OptionsError('options', `truncate must be true or false, got ${JSON.stringify(truncate)}`);
    const o = resolveOptions(rest, this.options);
    this.check(o);
    return o;
  }

  private get ctx(): ScoreContext {
    return { E: this.model.config.embedDim, logitScale: this.model.logitScale };
  }

  private keys(o: AbeOptions): FeatureKeys {
    const nd = needsOf(this.model, o);
    return { patch: o.fuse !== 'none' ? nd.patches[0] : undefined, region: nd.regions[0]?.key };
  }

  /**
   * Features of images [n,3,R,R] (normalised pixels) for the scorer's options — or for every configuration in
   * `configs` (the union of what they need: ablations compute all variants in one pass). Cached by content.
   */
  async imageFeatures(pixels: tf.Tensor4D, configs?: Partial<AbeOptions> | Partial<AbeOptions>[]): Promise<ImageFeatures[]> {
    const list = configs === undefined ? [this.options] : (Array.isArray(configs) ? configs : [configs]).map((x) => this.resolve(x));
    return this.images.extract(pixels, list, this.options.imageBatchSize);
  }

  /**
   * Scores of every image against every caption. Captions are strings (groups from the phrase parser) or
   * {text, groups}. Returns [N·M] row-major arrays; with `opts.parts`, the per-group details.
   */
  async scoreMatrix(images: ImagesInput, captions: readonly CaptionInput[], opts?: ScoreOptions): Promise<ScoreResult> {
    const o = this.resolve(opts);
    const feats = await this.images.featuresFor(images, o, this.options.imageBatchSize);
    const t = await this.texts.build(captions, o, this.check(o).refineIndex, opts?.truncate === true);
    const r = await scoreBlock(this.ctx, feats, t, o, this.keys(o), Boolean(opts?.parts));
    return { n: feats.length, m: t.M, clip: r.clip, abe: r.abe, parts: r.parts, options: o };
  }

  /**
   * Scores of (image, caption) pairs: `pairs[j] = [imageIndex, captionIndex]` into `images` and `captions`.
   * The same algorithm as scoreMatrix, run on small blocks of the pairs' images × captions. Returns [pairs] arrays.
   */
  async scorePairs(
    images: ImagesInput,
    captions: readonly CaptionInput[],
    pairs: ReadonlyArray<readonly [number, number]>,
    opts?: Partial<AbeOptions> & { truncate?: boolean },
  ): Promise<PairResult> {
    const o = this.resolve(opts);
    const feats = await this.images.featuresFor(images, o, this.options.imageBatchSize);
    const t = await this.texts.build(captions, o, this.check(o).refineIndex, opts?.truncate === true);
    const N = feats.length,
      M = t.M;
    if (!Array.isArray(pairs)) throw new InputError('pairs', 'expected an array of [imageIndex, captionIndex]');
    pairs.forEach((p, j) => {
      if (
        !Array.isArray(p) ||
        p.length !== 2 ||
        !Number.isInteger(p[0]) ||
        !Number.isInteger(p[1]) ||
        p[0] < 0 ||
        p[0] >= N ||
        p[1] < 0 ||
        p[1] >= M
      ) {
        throw new InputError(`pairs[${j}]`, `expected [imageIndex 0..${N - 1}, captionIndex 0..${M - 1}], got ${JSON.stringify(p)}`);
      }
    });
    const r = await scorePairsOf(this.ctx, feats, t, pairs, o, this.keys(o));
    return { clip: r.clip, abe: r.abe, options: o };
  }

  /** Entries held by the in-memory text cache (bounded; see TextFeatureBuilder). */
  get textCacheSize(): number {
    return this.texts.size;
  }

  /** Drop the in-memory image and text caches (the disk cache is left alone). */
  clearCaches(): void {
    this.images.clear();
    this.texts.clear();
  }
}
