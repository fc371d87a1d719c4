/**
 * AbeScorer: CLIP and ABE-CLIP scores of N images × M captions (or of a list of pairs), with reusable image
 * features. Everything it returns is plain typed arrays (row-major, shapes documented): the caller disposes
 * nothing, and every call leaves tf.memory().numTensors unchanged.
 *
 *   const scorer = new AbeScorer(model, 'abe');                  // or options, or 'abe+regions'
 *   const feats = await scorer.imageFeatures(pixels);             // [n,3,R,R] → ImageFeatures[] (cached)
 *   const { clip, abe } = await scorer.scoreMatrix(feats, ['a red cube and a blue sphere']);  // [N·M]
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors';
import { concatRows } from '../tensor/host';
import { alignRows, distinctTextRows, gatherLast, TextRows } from './align';
import { CaptionInput, prepareCaption, PreparedCaption } from './captions';
import { contentHash, FeatureCache, ImageFeatures, ImageRegions, regionKey } from './features';
import { disposeFusion, fuse, fuseScores, fusionTensors, GroupTable, membership } from './fuse';
import type { AbeModel } from './model';
import { AbeOptions, ConfigName, hiddenIndex, resolveOptions } from './options';
import { imagePass, l2normalize, patchKey } from './patches';
import { EmbeddingCache, refine } from './refine';
import { assignRegions, findRegions, maskImage } from './regions';

export interface CacheOptions {
  /** Directory of the on-disk feature cache (one JSON file per image under a folder per model); none by default. */
  dir?: string;
  /** Identity of the model for the disk cache; default: a fingerprint of its config and outputs. */
  modelId?: string;
  /** Images kept in the in-memory cache (default 10,000; 0 disables it). */
  maxEntries?: number;
}

/** Per-call options: any AbeOptions override, plus `parts`. */
export type ScoreOptions = Partial<AbeOptions> & { parts?: boolean };

export interface GroupInfo {
  /** Caption index and the group's index within the caption. */
  caption: number;
  group: number;
  attributes: string[];
  object: string;
  positions: number[];
  objectLast: number;
}

/** Per-group details ("parts"), Q = all groups of all captions in caption order; arrays are row-major. */
export interface ScoreParts {
  groups: GroupInfo[];
  /** [N·Q] each; null when the patch-level term is off (fuse: none). */
  lp: Float32Array | null;
  lo: Float32Array | null;
  delta: Float32Array | null;
  /** [N·Q·topK] chosen patch indices (0..P−1, row-major on the patch grid); null when the patch term is off. */
  R: Int32Array | null;
  topK: number;
  /** Region path: [N·Q] region index chosen for the group (−1: none) and its p_k·r; null when regions are off. */
  region: Int32Array | null;
  regionSim: Float32Array | null;
  /** [N] number of regions found per image; null when regions are off. */
  regionCount: Int32Array | null;
  /** [M] groups dropped per caption (past the context length). */
  dropped: Int32Array;
}

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

/** Text side of one call: the prepared captions and their features, all host arrays. */
interface TextSide {
  caps: PreparedCaption[];
  M: number;
  Q: number;
  gT: Float32Array; // [M·E]
  p: Float32Array; // [Q·E] per the refinement mode (patch-level term)
  /** [Q·E] isolated phrase embeddings E_T(template(A O)) for the region term (global vs global embeddings). */
  pRegion: Float32Array;
  o: Float32Array; // [Q·E]
  table: GroupTable;
  groups: GroupInfo[];
  /** First group of each caption, [M+1]. */
  start: Int32Array;
}

type ImagesInput = tf.Tensor4D | readonly ImageFeatures[];

/** Budget for one scoring chunk's similarity tensor [U, n·P] (float32 bytes). */
const SCORE_SIM_BYTES = 16 * 1024 * 1024;

export class AbeScorer {
  readonly model: AbeModel;
  readonly options: AbeOptions;
  private readonly cache: FeatureCache;
  private readonly texts: EmbeddingCache = new Map();
  private readonly captionEmbeds: EmbeddingCache = new Map();
  /** Prepared captions by their JSON input (parsing and tokenising dominate repeated calls otherwise). */
  private readonly prepared = new Map<string, PreparedCaption>();
  /** contextual/none p_k of one caption, by caption key + γ + layer. */
  private readonly contextual: EmbeddingCache = new Map();
  private fixedModelId: string | null;

  constructor(model: AbeModel, options?: Partial<AbeOptions> | ConfigName, cache: CacheOptions = {}) {
    this.model = model;
    this.options = resolveOptions(options);
    this.check(this.options);
    this.cache = new FeatureCache(cache.maxEntries ?? 10_000, cache.dir ?? null);
    this.fixedModelId = cache.modelId ?? null;
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
    const { parts: _p, ...rest } = (opts ?? {}) as ScoreOptions;
    const o = resolveOptions(rest, this.options);
    this.check(o);
    return o;
  }

  /** Stable identity for the disk cache: config + logit scale + the embedding of a fixed image. */
  private async modelId(): Promise<string> {
    if (this.fixedModelId) return this.fixedModelId;
    const c = this.model.config;
    const R = c.vision.resolution;
    const probe = new Float32Array(3 * R * R).map((_, i) => Math.sin(i * 0.37));
    const px = tf.tensor4d(probe, [1, 3, R, R]);
    try {
      const out = await this.model.encodeImages(px, { tokens: false });
      const e = out.embeds.dataSync() as Float32Array;
      tf.dispose([out.embeds, out.tokens, ...(out.hidden ?? [])]);
      this.fixedModelId = contentHash(Float32Array.from([...e, this.model.logitScale])).slice(0, 16)
        + '-' + contentHash(new Float32Array(Object.values(c).filter((v) => typeof v === 'number') as number[])).slice(0, 8);
    } finally {
      px.dispose();
    }
    return this.fixedModelId;
  }

  private needs(o: AbeOptions): { patches: string[]; regions: { key: string; source: string }[] } {
    const c = this.model.config;
    const patches: string[] = [];
    const regions: { key: string; source: string }[] = [];
    if (o.fuse !== 'none') patches.push(patchKey(o.patchFeatures, hiddenIndex(o.patchLayer, c.vision.layers, 'patchLayer')));
    if (o.regionFeatures === 'crop') {
      const source = patchKey(o.regionSource, c.vision.layers);
      patches.push(source);
      regions.push({ key: regionKey(source, o.maxRegions, o.regionDilation), source });
    }
    return { patches, regions };
  }

  /**
   * Features of images [n,3,R,R] (normalised pixels) for the scorer's options — or for every configuration in
   * `configs` (the union of what they need: ablations compute all variants in one pass). Cached by content.
   */
  async imageFeatures(pixels: tf.Tensor4D, configs?: Partial<AbeOptions> | Partial<AbeOptions>[]): Promise<ImageFeatures[]> {
    const c = this.model.config;
    const R = c.vision.resolution;
    if (!(pixels instanceof tf.Tensor) || pixels.rank !== 4 || pixels.shape[1] !== 3 || pixels.shape[2] !== R || pixels.shape[3] !== R) {
      throw new InputError('pixels', `expected a tf.Tensor4D [n,3,${R},${R}]${pixels instanceof tf.Tensor ? `, got [${pixels.shape}]` : ''}`);
    }
    const list = configs === undefined ? [this.options] : (Array.isArray(configs) ? configs : [configs]).map((x) => this.resolve(x));
    const wantPatches = new Set<string>();
    const wantRegions = new Map<string, { key: string; source: string; o: AbeOptions }>();
    for (const o of list) {
      const nd = this.needs(o);
      nd.patches.forEach((k) => wantPatches.add(k));
      nd.regions.forEach((r) => wantRegions.set(r.key, { ...r, o }));
    }
    const n = pixels.shape[0];
    const P = (R / c.vision.patchSize) ** 2, E = c.embedDim, size = 3 * R * R;
    const host = pixels.dataSync() as Float32Array;
    const idFn = this.cacheDirUsed() ? await this.modelId() : '';
    const modelId = () => idFn;
    const feats: ImageFeatures[] = [];
    const todo: number[] = [];
    for (let i = 0; i < n; i++) {
      const key = contentHash(host.subarray(i * size, (i + 1) * size));
      let f = this.cache.get(key, modelId);
      if (!f || f.E !== E || f.P !== P) f = { key, E, P, embed: new Float32Array(0), patches: {}, regions: {} };
      feats.push(f);
      const missing = !f.embed.length || [...wantPatches].some((k) => !f!.patches[k]) || [...wantRegions.keys()].some((k) => !f!.regions[k]);
      if (missing) todo.push(i);
    }
    const bs = this.options.imageBatchSize;
    for (let s = 0; s < todo.length; s += bs) {
      const idx = todo.slice(s, s + bs);
      const chunkHost = new Float32Array(idx.length * size);
      idx.forEach((i, r) => chunkHost.set(host.subarray(i * size, (i + 1) * size), r * size));
      const px = tf.tensor4d(chunkHost, [idx.length, 3, R, R]);
      try {
        const keys = [...wantPatches].filter((k) => idx.some((i) => !feats[i].patches[k]));
        const out = await imagePass(this.model, px, keys, bs);
        try {
          const emb = out.embeds.dataSync() as Float32Array;
          const pd = new Map([...out.patches].map(([k, t]) => [k, t.dataSync() as Float32Array]));
          idx.forEach((i, r) => {
            const f = feats[i] as { embed: Float32Array };
            f.embed = emb.slice(r * E, (r + 1) * E);
            for (const [k, d] of pd) if (!feats[i].patches[k]) feats[i].patches[k] = d.slice(r * P * E, (r + 1) * P * E);
          });
        } finally {
          tf.dispose([out.embeds, ...out.patches.values()]);
        }
      } finally {
        px.dispose();
      }
      for (const rk of wantRegions.values()) await this.addRegions(feats, idx, chunkHost, rk.key, rk.source, rk.o);
      for (const i of idx) this.cache.put(feats[i], modelId);
    }
    return feats;
  }

  private cacheDirUsed(): boolean { return this.cache.dir !== null; }

  /** Regions of images `idx` and the embeddings of their masked images, one batched encoder pass. */
  private async addRegions(feats: ImageFeatures[], idx: number[], chunkHost: Float32Array, key: string, source: string, o: AbeOptions): Promise<void> {
    const c = this.model.config;
    const R = c.vision.resolution, grid = R / c.vision.patchSize, P = grid * grid, E = c.embedDim, size = 3 * R * R;
    const found = new Map<number, ReturnType<typeof findRegions>>();
    const masked: Float32Array[] = [];
    idx.forEach((i, r) => {
      if (feats[i].regions[key]) return;
      const reg = findRegions(feats[i].patches[source], P, E, o.maxRegions, o.regionDilation);
      found.set(i, reg);
      for (const m of reg.masks) masked.push(maskImage(chunkHost.subarray(r * size, (r + 1) * size), R, grid, m, reg.foreground));
    });
    let embeds: Float32Array = new Float32Array(0);
    if (masked.length) {
      const all = new Float32Array(masked.length * size);
      masked.forEach((m, k) => all.set(m, k * size));
      const px = tf.tensor4d(all, [masked.length, 3, R, R]);
      try {
        const out = await this.model.encodeImages(px, { batchSize: o.imageBatchSize, tokens: false });
        embeds = tf.tidy(() => l2normalize(out.embeds).dataSync() as Float32Array);
        tf.dispose([out.embeds, out.tokens, ...(out.hidden ?? [])]);
      } finally {
        px.dispose();
      }
    }
    let k = 0;
    for (const [i, reg] of found) {
      const count = reg.masks.length;
      const regions: ImageRegions = { foreground: reg.foreground, masks: reg.masks, embeds: embeds.slice(k * E, (k + count) * E) };
      feats[i].regions[key] = regions;
      k += count;
    }
  }

  /** Caption-side features for the options (p, o only when a local term is on). */
  private async textSide(captions: readonly CaptionInput[], o: AbeOptions): Promise<TextSide> {
    const c = this.model.config;
    const E = c.embedDim;
    const caps = this.prepare(captions);
    const M = caps.length;
    // g_T: one pass over the captions not seen before (keyed by their ids).
    const keyOf = (cap: PreparedCaption) => Array.from(cap.ids).join(',');
    const missing = new Map<string, PreparedCaption>();
    for (const cap of caps) if (!this.captionEmbeds.has(keyOf(cap))) missing.set(keyOf(cap), cap);
    if (missing.size) {
      const list = [...missing.values()];
      const L = c.text.contextLength;
      const ids = tf.tensor2d(Int32Array.from(list.flatMap((x) => Array.from(x.ids))), [list.length, L], 'int32');
      try {
        const out = await this.model.encodeTexts(ids, { batchSize: o.textBatchSize, tokens: false });
        const d = tf.tidy(() => l2normalize(out.embeds).dataSync() as Float32Array);
        tf.dispose([out.embeds, out.tokens, ...(out.hidden ?? [])]);
        list.forEach((x, r) => this.captionEmbeds.set(keyOf(x), d.slice(r * E, (r + 1) * E)));
      } finally {
        ids.dispose();
      }
    }
    const gT = new Float32Array(M * E);
    caps.forEach((cap, m) => gT.set(this.captionEmbeds.get(keyOf(cap))!, m * E));
    const groups: GroupInfo[] = [];
    const start = new Int32Array(M + 1);
    caps.forEach((cap, m) => {
      start[m] = groups.length;
      cap.groups.forEach((g, k) => groups.push({ caption: m, group: k, attributes: g.attributes, object: g.object, positions: g.positions, objectLast: g.objectLast }));
    });
    start[M] = groups.length;
    const Q = groups.length;
    const table: GroupTable = {
      caption: Int32Array.from(groups, (g) => g.caption),
      hasAttr: Uint8Array.from(groups, (g) => (g.attributes.length ? 1 : 0)),
      captions: M,
    };
    let p: Float32Array = new Float32Array(0), ob: Float32Array = new Float32Array(0), pRegion: Float32Array = p;
    const { refineIndex } = this.check(o);
    if (Q && o.fuse !== 'none') {
      const r = await refine(this.model, caps, o, refineIndex, this.texts, this.contextual);
      p = r.p; ob = r.o;
    }
    if (Q && o.regionFeatures !== 'none') {
      pRegion = o.fuse !== 'none' && o.refine === 'isolated' ? p
        : (await refine(this.model, caps, { ...o, refine: 'isolated' }, refineIndex, this.texts)).p;
    }
    return { caps, M, Q, gT, p, pRegion, o: ob, table, groups, start };
  }

  private prepare(captions: readonly CaptionInput[]): PreparedCaption[] {
    if (!Array.isArray(captions)) throw new InputError('captions', 'must be an array of captions (strings or {text, groups})');
    const L = this.model.config.text.contextLength;
    const out: PreparedCaption[] = new Array(captions.length);
    const todo: number[] = [];
    const keys = captions.map((c, i) => {
      let k: string;
      try { k = JSON.stringify(c); } catch { k = ''; }
      const hit = k ? this.prepared.get(k) : undefined;
      if (hit) out[i] = hit; else todo.push(i);
      return k;
    });
    if (todo.length) {
      for (const i of todo) {
        out[i] = prepareCaption(captions[i], L, `captions[${i}]`);
        if (keys[i]) this.prepared.set(keys[i], out[i]);
      }
      while (this.prepared.size > 100_000) this.prepared.delete(this.prepared.keys().next().value as string);
    }
    return out;
  }

  private featuresFor(images: ImagesInput, o: AbeOptions): Promise<ImageFeatures[]> | ImageFeatures[] {
    if (images instanceof tf.Tensor) return this.imageFeatures(images as tf.Tensor4D, o);
    if (!Array.isArray(images)) throw new InputError('images', 'expected a tf.Tensor4D of pixels or an array of ImageFeatures');
    const nd = this.needs(o);
    images.forEach((f, i) => {
      if (!f || !(f.embed instanceof Float32Array)) throw new InputError(`images[${i}]`, 'is not an ImageFeatures object');
      for (const k of nd.patches) if (!f.patches[k]) throw new InputError(`images[${i}]`, `has no '${k}' patch features; compute them with imageFeatures(pixels, options)`);
      for (const r of nd.regions) if (!f.regions[r.key]) throw new InputError(`images[${i}]`, `has no regions '${r.key}'; compute them with imageFeatures(pixels, options)`);
    });
    return images as ImageFeatures[];
  }

  /**
   * Scores of every image against every caption. Captions are strings (groups from the phrase parser) or
   * {text, groups}. Returns [N·M] row-major arrays; with `opts.parts`, the per-group details.
   */
  async scoreMatrix(images: ImagesInput, captions: readonly CaptionInput[], opts?: ScoreOptions): Promise<ScoreResult> {
    const o = this.resolve(opts);
    const feats = await this.featuresFor(images, o);
    const t = await this.textSide(captions, o);
    const N = feats.length, M = t.M, Q = t.Q, E = this.model.config.embedDim;
    const clip = new Float32Array(N * M), abe = new Float32Array(N * M);
    const wantParts = Boolean(opts?.parts);
    const patchOn = o.fuse !== 'none' && Q > 0;
    const regionOn = o.regionFeatures === 'crop' && Q > 0;
    const parts: ScoreParts | undefined = wantParts ? {
      groups: t.groups, topK: o.topK,
      lp: patchOn ? new Float32Array(N * Q) : null, lo: patchOn ? new Float32Array(N * Q) : null,
      delta: patchOn ? new Float32Array(N * Q) : null, R: patchOn ? new Int32Array(N * Q * o.topK) : null,
      region: regionOn ? new Int32Array(N * Q).fill(-1) : null, regionSim: regionOn ? new Float32Array(N * Q) : null,
      regionCount: regionOn ? new Int32Array(N) : null,
      dropped: Int32Array.from(t.caps, (c) => c.dropped),
    } : undefined;
    if (N === 0 || M === 0) return { n: N, m: M, clip, abe, parts, options: o };
    const { patches: [pk], regions: [rk] } = this.needs(o);
    const s = this.model.logitScale;
    // Text operands pre-transposed to [E, ·]: on wasm a transposed matMul operand takes a ~10× slower kernel.
    const GTt = tf.tidy(() => tf.tensor2d(t.gT, [M, E]).transpose()) as tf.Tensor2D;
    // Each distinct p_k / o_k once (captions repeat objects, benchmarks repeat captions).
    const distinct = patchOn ? distinctTextRows(t.p, t.o, Q, E) : null;
    const rows: TextRows | null = distinct && {
      texts: tf.tensor2d(distinct.rows, [distinct.rows.length / E, E]),
      phrase: tf.tensor1d(distinct.phrase, 'int32'), object: tf.tensor1d(distinct.object, 'int32'),
    };
    const ft = fusionTensors(membership(t.table), Q, M);
    // Images per chunk: scoreChunk at most, fewer when many text rows make the [U, n·P] similarity tensor (and,
    // locating by object, its gathered [Q, n, P] phrase rows) large — on wasm every temporary raises the heap's
    // high-water mark for good (the heap never shrinks).
    const simRows = rows ? rows.texts.shape[0] + (o.locate === 'object' ? Q : 0) : 0;
    const simBytesPerImage = patchOn ? feats[0].P * simRows * 4 : 0;
    const step = Math.max(1, Math.min(o.scoreChunk, simBytesPerImage ? Math.floor(SCORE_SIM_BYTES / simBytesPerImage) : o.scoreChunk));
    try {
      for (let s0 = 0; s0 < N; s0 += step) {
        const chunk = feats.slice(s0, s0 + step);
        const n = chunk.length;
        const extra = regionOn ? this.regionTerm(chunk, t, rk.key, o, s0, parts) : null;
        const res = tf.tidy(() => {
          const GI = tf.tensor2d(concatRows(chunk.map((f) => f.embed)), [n, E]);
          const clipT = tf.matMul(GI, GTt).mul(s) as tf.Tensor2D;
          let al = null;
          if (patchOn) {
            const P = chunk[0].P;
            const V = tf.tensor3d(concatRows(chunk.map((f) => f.patches[pk])), [n, P, E]);
            al = alignRows(V, rows!, o.locate, o.topK);
          }
          const ex = extra ? tf.tensor2d(extra, [n, M]) : null;
          const abeT = fuse(clipT, al?.lp ?? null, al?.delta ?? null, ft, o.fuse, o.lambda, s, ex);
          return { clipT, abeT, lp: al?.lp, lo: al?.lo, delta: al?.delta, R: al?.R } as tf.TensorContainerObject;
        }) as Record<string, tf.Tensor | undefined>;
        try {
          clip.set(res.clipT!.dataSync() as Float32Array, s0 * M);
          abe.set(res.abeT!.dataSync() as Float32Array, s0 * M);
          if (parts && patchOn) {
            parts.lp!.set(res.lp!.dataSync() as Float32Array, s0 * Q);
            parts.lo!.set(res.lo!.dataSync() as Float32Array, s0 * Q);
            parts.delta!.set(res.delta!.dataSync() as Float32Array, s0 * Q);
            parts.R!.set(res.R!.dataSync() as Int32Array, s0 * Q * o.topK);
          }
        } finally {
          tf.dispose(Object.values(res).filter((x): x is tf.Tensor => x !== undefined));
        }
        if (s0 + step < N) await tf.nextFrame();
      }
    } finally {
      tf.dispose([GTt, ...(rows ? [rows.texts, rows.phrase, rows.object] : [])]);
      disposeFusion(ft);
    }
    return { n: N, m: M, clip, abe, parts, options: o };
  }

  /**
   * The region term [n·M] (already × regionLambda · s) of a chunk of images: p_k·r for every group and region
   * (one product), then the assignment per (image, caption) over its few groups and regions.
   */
  private regionTerm(chunk: ImageFeatures[], t: TextSide, key: string, o: AbeOptions, s0: number, parts?: ScoreParts): Float32Array {
    const n = chunk.length, M = t.M, Q = t.Q, E = this.model.config.embedDim, Rmax = o.maxRegions;
    const counts = chunk.map((f) => f.regions[key].masks.length);
    const re = new Float32Array(n * Rmax * E);
    chunk.forEach((f, i) => re.set(f.regions[key].embeds, i * Rmax * E));
    const sims = tf.tidy(() => tf.matMul(tf.tensor2d(re, [n * Rmax, E]), tf.tensor2d(t.pRegion, [Q, E]).transpose()).dataSync() as Float32Array); // [n·Rmax, Q]
    const out = new Float32Array(n * M);
    const scale = o.regionLambda * this.model.logitScale;
    const buf = new Float32Array(64 * Rmax);
    for (let i = 0; i < n; i++) {
      if (parts) parts.regionCount![s0 + i] = counts[i];
      for (let m = 0; m < M; m++) {
        const q0 = t.start[m], K = t.start[m + 1] - q0;
        const b = K * Rmax <= buf.length ? buf : new Float32Array(K * Rmax);
        for (let k = 0; k < K; k++) for (let r = 0; r < Rmax; r++) b[k * Rmax + r] = sims[(i * Rmax + r) * Q + q0 + k];
        const a = assignRegions(b, 0, K, Rmax, counts[i], o.regionAssign, o.regionMaxMaps);
        if (!a) continue;
        out[i * M + m] = scale * a.mean;
        if (parts) a.regions.forEach((r, k) => { parts.region![(s0 + i) * Q + q0 + k] = r; parts.regionSim![(s0 + i) * Q + q0 + k] = b[k * Rmax + r]; });
      }
    }
    return out;
  }

  /**
   * Scores of (image, caption) pairs: `pairs[j] = [imageIndex, captionIndex]` into `images` and `captions`.
   * Per pair only its own groups are aligned (rows of [G,P,E] × [G,E,2]); same numbers as scoreMatrix.
   * Returns [pairs] arrays.
   */
  async scorePairs(images: ImagesInput, captions: readonly CaptionInput[], pairs: ReadonlyArray<readonly [number, number]>, opts?: Partial<AbeOptions>): Promise<PairResult> {
    const o = this.resolve(opts);
    const feats = await this.featuresFor(images, o);
    const t = await this.textSide(captions, o);
    const N = feats.length, M = t.M, E = this.model.config.embedDim;
    if (!Array.isArray(pairs)) throw new InputError('pairs', 'expected an array of [imageIndex, captionIndex]');
    pairs.forEach((p, j) => {
      if (!Array.isArray(p) || p.length !== 2 || !Number.isInteger(p[0]) || !Number.isInteger(p[1]) || p[0] < 0 || p[0] >= N || p[1] < 0 || p[1] >= M) {
        throw new InputError(`pairs[${j}]`, `expected [imageIndex 0..${N - 1}, captionIndex 0..${M - 1}], got ${JSON.stringify(p)}`);
      }
    });
    const J = pairs.length;
    const clip = new Float32Array(J), abe = new Float32Array(J);
    if (J === 0) return { clip, abe, options: o };
    const patchOn = o.fuse !== 'none' && t.Q > 0;
    const regionOn = o.regionFeatures === 'crop' && t.Q > 0;
    const { patches: [pk], regions: [rk] } = this.needs(o);
    const s = this.model.logitScale;
    const mem = membership(t.table);
    const PT = patchOn ? tf.tensor2d(t.p, [t.Q, E]) : null;
    const OT = patchOn ? tf.tensor2d(t.o, [t.Q, E]) : null;
    const chunkPairs = Math.max(1, o.scoreChunk * 16);
    try {
      for (let j0 = 0; j0 < J; j0 += chunkPairs) {
        const chunk = pairs.slice(j0, j0 + chunkPairs);
        const C = chunk.length;
        // Rows: Kmax per pair (its caption's groups, then zero-weight padding), so that per-pair sums are a
        // reshape + sum (UnsortedSegmentSum has no wasm kernel).
        const imgs = [...new Set(chunk.map((p) => p[0]))];
        const local = new Map(imgs.map((i, k) => [i, k]));
        let Kmax = 1;
        for (const [, m] of chunk) Kmax = Math.max(Kmax, t.start[m + 1] - t.start[m]);
        const rowImg: number[] = [], rowQ: number[] = [], wAll: number[] = [], wAttr: number[] = [];
        chunk.forEach(([i, m]) => {
          for (let k = 0; k < Kmax; k++) {
            const q = t.start[m] + k, real = q < t.start[m + 1];
            rowImg.push(local.get(i)!); rowQ.push(real ? q : 0);
            wAll.push(real ? mem.allMean[q * M + m] : 0); wAttr.push(real ? mem.attrMean[q * M + m] : 0);
          }
        });
        const G = rowQ.length;
        const extra = new Float32Array(C);
        if (regionOn) {
          const scale = o.regionLambda * s, Rmax = o.maxRegions;
          chunk.forEach(([i, m], c) => {
            const f = feats[i].regions[rk.key], K = t.start[m + 1] - t.start[m];
            const b = new Float32Array(K * Rmax);
            for (let k = 0; k < K; k++) for (let r = 0; r < f.masks.length; r++) b[k * Rmax + r] = dot(f.embeds, r * E, t.pRegion, (t.start[m] + k) * E, E);
            const a = assignRegions(b, 0, K, Rmax, f.masks.length, o.regionAssign, o.regionMaxMaps);
            if (a) extra[c] = scale * a.mean;
          });
        }
        const res = tf.tidy(() => {
          const GI = tf.tensor2d(concatRows(chunk.map(([i]) => feats[i].embed)), [C, E]);
          const GTp = tf.tensor2d(concatRows(chunk.map(([, m]) => t.gT.subarray(m * E, (m + 1) * E))), [C, E]);
          const clipT = tf.sum(tf.mul(GI, GTp), 1).mul(s) as tf.Tensor1D;
          let meanLp: tf.Tensor1D | null = null, meanDelta: tf.Tensor1D | null = null;
          if (patchOn && t.Q > 0) {
            const P = feats[imgs[0]].P;
            const V = tf.tensor3d(concatRows(imgs.map((i) => feats[i].patches[pk])), [imgs.length, P, E]);
            const Vg = tf.gather(V, tf.tensor1d(rowImg, 'int32')); // [G,P,E]
            const qIdx = tf.tensor1d(rowQ, 'int32');
            const texts = tf.stack([tf.gather(PT!, qIdx), tf.gather(OT!, qIdx)], 2); // [G,E,2]
            const sims = tf.matMul(Vg, texts).transpose([0, 2, 1]); // [G,2,P]
            const simP = sims.slice([0, 0, 0], [G, 1, P]).reshape([G, P]);
            const simO = sims.slice([0, 1, 0], [G, 1, P]).reshape([G, P]);
            const topO = tf.topk(simO, o.topK, true);
            const lo = topO.values.mean(1);
            const lp = o.locate === 'object' ? gatherLast(simP, topO.indices).mean(1) : tf.topk(simP, o.topK, true).values.mean(1);
            meanLp = tf.mul(lp, tf.tensor1d(wAll)).reshape([C, Kmax]).sum(1) as tf.Tensor1D;
            meanDelta = tf.mul(tf.sub(lp, lo), tf.tensor1d(wAttr)).reshape([C, Kmax]).sum(1) as tf.Tensor1D;
          }
          const fused = tf.tensor1d(Uint8Array.from(chunk, ([, m]) => mem.fused[m]), 'bool');
          const abeT = fuseScores(clipT, meanLp, meanDelta, fused, patchOn ? o.fuse : 'none', o.lambda, s, regionOn ? tf.tensor1d(extra) : null);
          return { clipT, abeT };
        });
        clip.set(res.clipT.dataSync() as Float32Array, j0);
        abe.set(res.abeT.dataSync() as Float32Array, j0);
        tf.dispose([res.clipT, res.abeT]);
        if (j0 + chunkPairs < J) await tf.nextFrame();
      }
    } finally {
      tf.dispose([...(PT ? [PT] : []), ...(OT ? [OT] : [])]);
    }
    return { clip, abe, options: o };
  }

  /** Drop the in-memory image and text caches (the disk cache is left alone). */
  clearCaches(): void {
    this.cache.clear();
    this.texts.clear();
    this.captionEmbeds.clear();
    this.prepared.clear();
    this.contextual.clear();
  }
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
  return s;
}
