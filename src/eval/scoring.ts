/**
 * Model-backed scoring for the evaluation runner: loads (and crops) images, gets their features once from
 * one AbeScorer for every configuration compared (the scorer caches them in memory and, with a cache folder,
 * on disk), and scores each configuration with its own resolved options. The `clip` configuration is the
 * S_clip every ABE call returns alongside S_abe.
 */
import * as tf from '@tensorflow/tfjs';
import type { AbeModel } from '../abe/model';
import { AbeScorer } from '../abe/scorer';
import type { ImageFeatures } from '../abe/features';
import type { ScoreParts } from '../abe/scorer';
import { AbeOptions, NAMED_CONFIGS, resolveOptions } from '../abe/options';
import { AbeClipError, ImageDecodeError, OptionsError } from '../errors';
import type { PreprocessConfig } from '../config/clip';
import { decodeImage, DecodedImage } from '../image/decode';
import { loadImages } from '../image/loader';
import { preprocess } from '../image/preprocess';
import { Progress, ProgressSink } from './progress';
import type { ChunkScorer, ImageRef } from './runner';
import type { Crop } from './types';

/** Images scored together against the union of their captions (see `score`). */
const SCORE_GROUP = 8;

export interface ScorerConfig {
  /** Column name in reports: a named configuration (clip, abe, abe+regions) or any label (ablation points). */
  name: string;
  /** The named configuration the overrides apply to (default: `name`). */
  base?: string;
  /** Option overrides on top of the named configuration. */
  overrides?: Partial<AbeOptions>;
}

export interface ModelScorerOptions {
  configs: ScorerConfig[];
  /** Folder of the on-disk feature cache; none = memory only. */
  cacheDir?: string;
  /** Identity of the model for the disk cache (default: the scorer's fingerprint). */
  modelId?: string;
}

/** PIL `Image.crop` semantics: the box is rounded, and parts outside the image are black. */
export function cropImage(img: DecodedImage, c: Crop): DecodedImage {
  const x0 = Math.round(c.x),
    y0 = Math.round(c.y),
    w = Math.max(1, Math.round(c.x + c.w) - x0),
    h = Math.max(1, Math.round(c.y + c.h) - y0);
  const ch = img.channels;
  const data = new Uint8Array(w * h * ch);
  for (let y = 0; y < h; y++) {
    const sy = y0 + y;
    if (sy < 0 || sy >= img.height) continue;
    for (let x = 0; x < w; x++) {
      const sx = x0 + x;
      if (sx < 0 || sx >= img.width) continue;
      data.set(img.data.subarray((sy * img.width + sx) * ch, (sy * img.width + sx + 1) * ch), (y * w + x) * ch);
    }
  }
  return { ...img, width: w, height: h, data };
}

export class ModelScorer implements ChunkScorer {
  readonly configs: string[];
  /** config → resolved options ('clip' → the options of the plain CLIP configuration). */
  readonly options: Record<string, AbeOptions>;
  readonly abe: AbeScorer;
  private readonly model: AbeModel;
  private readonly cacheDir?: string;
  /** Configurations that need an ABE call (clip comes with any of them). */
  private readonly abeConfigs: string[];

  constructor(model: AbeModel, opts: ModelScorerOptions) {
    if (!opts.configs.length) throw new OptionsError('configs', 'no configuration to score');
    this.model = model;
    this.configs = opts.configs.map((c) => c.name);
    this.options = {};
    for (const c of opts.configs) {
      const base = c.base ?? c.name;
      if (!(base in NAMED_CONFIGS))
        throw new OptionsError('configs', `unknown configuration '${base}' (known: ${Object.keys(NAMED_CONFIGS).join(', ')})`);
      if (c.name in this.options) throw new OptionsError('configs', `configuration '${c.name}' given twice`);
      this.options[c.name] = resolveOptions(c.overrides ?? {}, resolveOptions(base as never), c.name);
    }
    this.abeConfigs = this.configs.filter((c) => c !== 'clip');
    // The base options only decide defaults; every call passes a configuration's full options.
    this.abe = new AbeScorer(model, this.options[this.abeConfigs[0] ?? 'clip'], { dir: opts.cacheDir, modelId: opts.modelId });
    this.cacheDir = opts.cacheDir;
  }

  cacheLine(): string {
    return this.cacheDir ? `image features cached in ${this.cacheDir}` : 'image feature cache: off';
  }

  private get R(): number {
    return this.model.config.vision.resolution;
  }

  private pre(): PreprocessConfig {
    return { ...this.model.preprocess };
  }

  /**
   * Pixels [k,3,R,R] of the images that decode; `failed` maps the key of each image that does not to its
   * error. Cropped images are decoded, cropped (PIL semantics) and preprocessed one by one.
   */
  async loadPixels(images: ImageRef[]): Promise<{ pixels: tf.Tensor4D; ok: number[]; failed: Map<string, string> }> {
    const failed = new Map<string, string>();
    const plain = images.map((r, i) => [r, i] as const).filter(([r]) => !r.crop);
    const cropped = images.map((r, i) => [r, i] as const).filter(([r]) => r.crop);
    const per = 3 * this.R * this.R;
    const rows = new Map<number, Float32Array>();
    if (plain.length) {
      const got = await loadImages(
        plain.map(([r]) => r.path),
        { ...this.pre(), onError: 'skip' },
      );
      try {
        const data = got.pixels.dataSync() as Float32Array;
        got.ok.forEach((j, row) => rows.set(plain[j][1], data.subarray(row * per, (row + 1) * per)));
      } finally {
        got.pixels.dispose();
      }
      for (const e of got.errors) failed.set(plain[e.index][0].key, e.error.problem);
    }
    for (const [r, i] of cropped) {
      try {
        const img = await decodeImage(r.path, {}, r.path);
        rows.set(i, preprocess(cropImage(img, r.crop!), this.pre()));
      } catch (e) {
        if (!(e instanceof AbeClipError)) throw e;
        failed.set(r.key, e.problem);
      }
    }
    const ok = images.map((_, i) => i).filter((i) => rows.has(i));
    const buf = new Float32Array(ok.length * per);
    ok.forEach((i, k) => buf.set(rows.get(i)!, k * per));
    return { pixels: tf.tensor4d(buf, [ok.length, 3, this.R, this.R]), ok, failed };
  }

  /** Features of the images for every configuration (one encoder pass; cached by the scorer). */
  async features(images: ImageRef[]): Promise<{ feats: ImageFeatures[]; ok: number[]; failed: Map<string, string> }> {
    const { pixels, ok, failed } = await this.loadPixels(images);
    try {
      const feats = ok.length
        ? await this.abe.imageFeatures(
            pixels,
            this.configs.map((c) => this.options[c]),
          )
        : [];
      return { feats, ok, failed };
    } finally {
      pixels.dispose();
    }
  }

  /** Every configuration's [n·M] scores of features × captions. */
  async scoreFeatures(
    feats: ImageFeatures[],
    captions: string[],
    parts = false,
  ): Promise<{ scores: Record<string, Float32Array>; parts: Record<string, ScoreParts | undefined> }> {
    const scores: Record<string, Float32Array> = {};
    const allParts: Record<string, ScoreParts | undefined> = {};
    for (const cfg of this.abeConfigs) {
      // Evaluation truncates over-long captions as CLIP's benchmarks do; the commands count and report them.
      const r = await this.abe.scoreMatrix(feats, captions, { ...this.options[cfg], parts, truncate: true });
      scores[cfg] = r.abe;
      allParts[cfg] = r.parts;
      if (!scores.clip) scores.clip = r.clip;
    }
    if (!scores.clip) scores.clip = (await this.abe.scoreMatrix(feats, captions, { ...this.options.clip, truncate: true })).clip;
    return { scores, parts: allParts };
  }

  async score(images: ImageRef[], captions: string[][]): Promise<{ scores: Record<string, number[][]>; failed: Map<string, string> }> {
    const { feats, ok, failed } = await this.features(images);
    const out: Record<string, number[][]> = {};
    for (const cfg of this.configs) out[cfg] = images.map(() => []);
    // scoreMatrix scores every image against every caption of the call; with each image needing only its own
    // few captions, small groups of images keep that N×M work (and the per-group alignment) small.
    for (let g = 0; g < ok.length; g += SCORE_GROUP) {
      const rows = ok.slice(g, g + SCORE_GROUP);
      const union = [...new Set(rows.flatMap((i) => captions[i]))];
      const col = new Map(union.map((c, k) => [c, k]));
      const { scores } = await this.scoreFeatures(feats.slice(g, g + SCORE_GROUP), union);
      const M = union.length;
      for (const cfg of this.configs) {
        const s = scores[cfg];
        rows.forEach((i, r) => {
          out[cfg][i] = captions[i].map((c) => s[r * M + col.get(c)!]);
        });
      }
    }
    return { scores: out, failed };
  }

  /** Full image × caption matrices ([N·M] per configuration), for retrieval. Fails on any undecodable image. */
  async matrix(images: ImageRef[], captions: string[], progress?: ProgressSink): Promise<{ scores: Record<string, Float32Array> }> {
    const N = images.length,
      M = captions.length,
      chunk = 64;
    const scores: Record<string, Float32Array> = {};
    for (const cfg of this.configs) scores[cfg] = new Float32Array(N * M);
    const bar = progress ? new Progress('retrieval', N, 'images', progress) : undefined;
    for (let s = 0; s < N; s += chunk) {
      const part = images.slice(s, s + chunk);
      const { feats, ok, failed } = await this.features(part);
      if (failed.size) {
        const [k, e] = [...failed][0];
        throw new ImageDecodeError(k, e);
      }
      const r = await this.scoreFeatures(feats, captions);
      for (const cfg of this.configs) ok.forEach((i, row) => scores[cfg].set(r.scores[cfg].subarray(row * M, (row + 1) * M), (s + i) * M));
      bar?.tick(part.length);
    }
    bar?.finish();
    return { scores };
  }

  /**
   * One image × one caption with per-group parts for drawing: the model-input view as RGB bytes [R·R·3],
   * the patch grid, and per configuration the scores and parts.
   */
  async explain(
    image: ImageRef,
    caption: string,
  ): Promise<{
    rgb: Uint8Array;
    R: number;
    grid: number;
    feats: ImageFeatures;
    scores: Record<string, number>;
    parts: Record<string, ScoreParts | undefined>;
  }> {
    const { feats, failed } = await this.features([image]);
    if (failed.size) throw new ImageDecodeError(image.path, failed.get(image.key)!);
    const r = await this.scoreFeatures(feats, [caption], true);
    const scores: Record<string, number> = {};
    for (const cfg of this.configs) scores[cfg] = r.scores[cfg][0];
    const { pixels } = await this.loadPixels([image]);
    const px = pixels.dataSync() as Float32Array;
    pixels.dispose();
    const { mean, std } = this.pre();
    const R = this.R,
      rgb = new Uint8Array(R * R * 3);
    for (let c = 0; c < 3; c++)
      for (let j = 0; j < R * R; j++) {
        rgb[j * 3 + c] = Math.max(0, Math.min(255, Math.round((px[c * R * R + j] * std[c] + mean[c]) * 255)));
      }
    return { rgb, R, grid: R / this.model.config.vision.patchSize, feats: feats[0], scores, parts: r.parts };
  }

  dispose(): void {
    this.abe.clearCaches();
  }
}
