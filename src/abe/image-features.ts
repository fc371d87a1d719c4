/**
 * The image side: pixels → ImageFeatures (g_I, patch features, regions with their embeddings), cached by content
 * (features.ts), computed in batched passes for the union of what a list of configurations needs.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors';
import { encodeTokenSubsets, VisionTransformer } from '../clip/vision';
import { contentHash, FeatureCache, ImageFeatures, ImageRegions, regionKey } from './features';
import type { AbeModel } from './model';
import { AbeOptions, hiddenIndex, regionStartIndex } from './options';
import { imagePass, ImagePassOutput, l2normalize, patchKey } from './patches';
import { findRegions, FindOptions, maskImage, randomMasks } from './regions';

export interface CacheOptions {
  /** Directory of the on-disk feature cache (one JSON file per image under a folder per model); none by default. */
  dir?: string;
  /** Identity of the model for the disk cache; default: a fingerprint of its config and outputs. */
  modelId?: string;
  /** Images kept in the in-memory cache (default 10,000; 0 disables it). */
  maxEntries?: number;
}

export type ImagesInput = tf.Tensor4D | readonly ImageFeatures[];

/** What a configuration needs of an image: patch-feature keys and region keys (with their source features). */
export interface Needs {
  patches: string[];
  regions: { key: string; source: string; start: number }[];
}

export function needsOf(model: AbeModel, o: AbeOptions): Needs {
  const c = model.config;
  const patches: string[] = [];
  const regions: { key: string; source: string; start: number }[] = [];
  if (o.fuse !== 'none') patches.push(patchKey(o.patchFeatures, hiddenIndex(o.patchLayer, c.vision.layers, 'patchLayer')));
  if (o.regionFeatures !== 'none') {
    const source = patchKey(o.regionSource, c.vision.layers);
    patches.push(source);
    const start = regionStartIndex(o, c.vision.layers);
    regions.push({
      key: regionKey(source, o.maxRegions, o.regionDilation, o.regionFeatures, o.regionProposal, findOptionsOf(o), start),
      source,
      start,
    });
  }
  return { patches, regions };
}

/** The finder's switches of a configuration (regions.ts FindOptions). */
export function findOptionsOf(o: AbeOptions): FindOptions {
  return { background: o.regionBackground, minSize: o.regionMinSize, split: o.regionSplit, ring: o.regionRing };
}

/**
 * Embeddings [Σ masks · E] (L2-normalised) of the given region masks of images in `px` (rows of the chunk):
 * `tokens` = one token-subset pass per mask (CLS + the mask's patch tokens), `crop` = one pass of the image with
 * everything outside the mask painted with the median background pixel; all masks in batched calls. Used for the
 * regions the finder yields and for given masks (true boxes in the attribution ablations). `tokens` passes take
 * their first hidden state (index regionStart · layers) from `state` ([chunk rows, 1+P, W]) when given; without it,
 * index 0 is the chunk's embedded patches and a later index costs one more full pass of the chunk.
 */
export async function encodeRegions(
  model: AbeModel,
  px: tf.Tensor4D,
  chunkHost: Float32Array,
  list: readonly { row: number; masks: readonly Uint8Array[]; foreground: Uint8Array }[],
  o: AbeOptions,
  state?: tf.Tensor3D,
): Promise<Float32Array> {
  const c = model.config;
  const R = c.vision.resolution,
    grid = R / c.vision.patchSize,
    E = c.embedDim,
    size = 3 * R * R;
  const masked: Float32Array[] = [];
  const owner: number[] = [],
    subsets: Int32Array[] = [];
  for (const { row, masks, foreground } of list) {
    for (const m of masks) {
      if (o.regionFeatures === 'tokens') {
        owner.push(row);
        subsets.push(Int32Array.from(Array.from(m).flatMap((v, j) => (v ? [j] : []))));
      } else masked.push(maskImage(chunkHost.subarray(row * size, (row + 1) * size), R, grid, m, foreground));
    }
  }
  let embeds: Float32Array = new Float32Array(0);
  if (o.regionFeatures === 'tokens' && subsets.length) {
    const v = model.vision as unknown;
    if (!(v instanceof VisionTransformer)) throw new InputError('options', "regionFeatures 'tokens' needs a ClipModel's vision tower");
    const layer = regionStartIndex(o, c.vision.layers);
    let own: ImagePassOutput | null = null;
    if (layer > 0 && !state) own = await imagePass(model, px, [], o.imageBatchSize, [layer]);
    const hidden = state ?? own?.states.get(layer);
    const start = hidden ? { hidden, layer } : undefined;
    try {
      embeds = new Float32Array(subsets.length * E);
      for (let s0 = 0; s0 < subsets.length; s0 += o.imageBatchSize) {
        const d = tf.tidy(
          () =>
            l2normalize(
              encodeTokenSubsets(v, px, owner.slice(s0, s0 + o.imageBatchSize), subsets.slice(s0, s0 + o.imageBatchSize), start),
            ).dataSync() as Float32Array,
        );
        embeds.set(d, s0 * E);
        await tf.nextFrame();
      }
    } finally {
      if (own) tf.dispose([own.embeds, ...own.states.values()]);
    }
  } else if (masked.length) {
    const all = new Float32Array(masked.length * size);
    masked.forEach((m, k) => all.set(m, k * size));
    const mpx = tf.tensor4d(all, [masked.length, 3, R, R]);
    try {
      const out = await model.encodeImages(mpx, { batchSize: o.imageBatchSize, tokens: false });
      embeds = tf.tidy(() => l2normalize(out.embeds).dataSync() as Float32Array);
      tf.dispose([out.embeds, out.tokens, ...(out.hidden ?? [])]);
    } finally {
      mpx.dispose();
    }
  }
  return embeds;
}

export class ImageFeatureExtractor {
  private readonly cache: FeatureCache;
  private fixedModelId: string | null;

  constructor(
    private readonly model: AbeModel,
    cache: CacheOptions = {},
  ) {
    this.cache = new FeatureCache(cache.maxEntries ?? 10_000, cache.dir ?? null);
    this.fixedModelId = cache.modelId ?? null;
  }

  clear(): void {
    this.cache.clear();
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
      this.fixedModelId =
        contentHash(Float32Array.from([...e, this.model.logitScale])).slice(0, 16) +
        '-' +
        contentHash(new Float32Array(Object.values(c).filter((v) => typeof v === 'number') as number[])).slice(0, 8);
    } finally {
      px.dispose();
    }
    return this.fixedModelId;
  }

  /** Features of images [n,3,R,R] for every configuration in `list` (the union of what they need). */
  async extract(pixels: tf.Tensor4D, list: readonly AbeOptions[], batchSize: number): Promise<ImageFeatures[]> {
    const c = this.model.config;
    const R = c.vision.resolution;
    if (!(pixels instanceof tf.Tensor) || pixels.rank !== 4 || pixels.shape[1] !== 3 || pixels.shape[2] !== R || pixels.shape[3] !== R) {
      throw new InputError(
        'pixels',
        `expected a tf.Tensor4D [n,3,${R},${R}]${pixels instanceof tf.Tensor ? `, got [${pixels.shape}]` : ''}`,
      );
    }
    const wantPatches = new Set<string>();
    const wantRegions = new Map<string, { key: string; source: string; start: number; o: AbeOptions }>();
    for (const o of list) {
      const nd = needsOf(this.model, o);
      nd.patches.forEach((k) => wantPatches.add(k));
      nd.regions.forEach((r) => wantRegions.set(r.key, { ...r, o }));
    }
    const n = pixels.shape[0];
    const P = (R / c.vision.patchSize) ** 2,
      E = c.embedDim,
      size = 3 * R * R;
    const host = pixels.dataSync() as Float32Array;
    const idFn = this.cache.dir !== null ? await this.modelId() : '';
    const modelId = () => idFn;
    const feats: ImageFeatures[] = [];
    const todo: number[] = [];
    for (let i = 0; i < n; i++) {
      const key = contentHash(host.subarray(i * size, (i + 1) * size));
      let f = this.cache.get(key, modelId);
      if (!f || f.E !== E || f.P !== P) f = { key, E, P, embed: new Float32Array(0), patches: {}, regions: {} };
      feats.push(f);
      const missing =
        !f.embed.length || [...wantPatches].some((k) => !f!.patches[k]) || [...wantRegions.keys()].some((k) => !f!.regions[k]);
      if (missing) todo.push(i);
    }
    for (let s = 0; s < todo.length; s += batchSize) {
      const idx = todo.slice(s, s + batchSize);
      const chunkHost = new Float32Array(idx.length * size);
      idx.forEach((i, r) => chunkHost.set(host.subarray(i * size, (i + 1) * size), r * size));
      const px = tf.tensor4d(chunkHost, [idx.length, 3, R, R]);
      try {
        const keys = [...wantPatches].filter((k) => idx.some((i) => !feats[i].patches[k]));
        const todoRegions = [...wantRegions.values()].filter((rk) => idx.some((i) => !feats[i].regions[rk.key]));
        // Token-subset passes start from a hidden state of this pass (index 0 = the embedded patches: not embedded twice).
        const states = [...new Set(todoRegions.filter((rk) => rk.o.regionFeatures === 'tokens').map((rk) => rk.start))];
        const out = await imagePass(this.model, px, keys, batchSize, states);
        try {
          const emb = out.embeds.dataSync() as Float32Array;
          const pd = new Map([...out.patches].map(([k, t]) => [k, t.dataSync() as Float32Array]));
          idx.forEach((i, r) => {
            const f = feats[i] as { embed: Float32Array };
            f.embed = emb.slice(r * E, (r + 1) * E);
            for (const [k, d] of pd) if (!feats[i].patches[k]) feats[i].patches[k] = d.slice(r * P * E, (r + 1) * P * E);
          });
          for (const rk of todoRegions) await this.addRegions(feats, idx, px, chunkHost, rk.key, rk.source, rk.o, out.states.get(rk.start));
        } finally {
          tf.dispose([out.embeds, ...out.patches.values(), ...out.states.values()]);
        }
      } finally {
        px.dispose();
      }
      for (const i of idx) this.cache.put(feats[i], modelId);
    }
    return feats;
  }

  /** `images` as features that have what `o` needs: computed from pixels, or checked (with a hint) when given. */
  featuresFor(images: ImagesInput, o: AbeOptions, batchSize: number): Promise<ImageFeatures[]> | ImageFeatures[] {
    if (images instanceof tf.Tensor) return this.extract(images as tf.Tensor4D, [o], batchSize);
    if (!Array.isArray(images)) throw new InputError('images', 'expected a tf.Tensor4D of pixels or an array of ImageFeatures');
    const nd = needsOf(this.model, o);
    images.forEach((f, i) => {
      if (!f || !(f.embed instanceof Float32Array)) throw new InputError(`images[${i}]`, 'is not an ImageFeatures object');
      for (const k of nd.patches)
        if (!f.patches[k])
          throw new InputError(`images[${i}]`, `has no '${k}' patch features; compute them with imageFeatures(pixels, options)`);
      for (const r of nd.regions)
        if (!f.regions[r.key])
          throw new InputError(`images[${i}]`, `has no regions '${r.key}'; compute them with imageFeatures(pixels, options)`);
    });
    return images as ImageFeatures[];
  }

  /**
   * Regions of images `idx` and their embeddings: `crop` = one pass of each masked full image, `tokens` = one
   * pass over each region's patch tokens (+ CLS); either way all regions of the chunk in batched calls.
   */
  private async addRegions(
    feats: ImageFeatures[],
    idx: number[],
    px: tf.Tensor4D,
    chunkHost: Float32Array,
    key: string,
    source: string,
    o: AbeOptions,
    state?: tf.Tensor3D,
  ): Promise<void> {
    const c = this.model.config;
    const P = (c.vision.resolution / c.vision.patchSize) ** 2,
      E = c.embedDim;
    const found = new Map<number, ReturnType<typeof findRegions>>();
    const list: { row: number; masks: Uint8Array[]; foreground: Uint8Array }[] = [];
    idx.forEach((i, row) => {
      if (feats[i].regions[key]) return;
      const reg = findRegions(feats[i].patches[source], P, E, o.maxRegions, o.regionDilation, findOptionsOf(o));
      if (o.regionProposal === 'random') reg.masks = randomMasks(reg.masks, P, parseInt(feats[i].key.slice(0, 8), 16));
      found.set(i, reg);
      list.push({ row, masks: reg.masks, foreground: reg.foreground });
    });
    const embeds = await encodeRegions(this.model, px, chunkHost, list, o, state);
    let k = 0;
    for (const [i, reg] of found) {
      const count = reg.masks.length;
      const regions: ImageRegions = { foreground: reg.foreground, masks: reg.masks, embeds: embeds.slice(k * E, (k + count) * E) };
      feats[i].regions[key] = regions;
      k += count;
    }
  }
}
