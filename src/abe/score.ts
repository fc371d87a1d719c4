/**
 * Pure scoring functions (no caches, no model calls): S_clip and S_abe of a block of images × captions from their
 * features (ImageFeatures, TextSide), with the per-group parts. `scoreBlock` is the one scoring algorithm:
 * `scorePairs` runs it on small blocks (the distinct images × distinct captions of a chunk of pairs) and picks the
 * pairs out, so the two entry points cannot disagree.
 */
import * as tf from '@tensorflow/tfjs';
import { concatRows, dotAt } from '../tensor/host';
import { alignRows, distinctTextRows, TextRows } from './align';
import type { ImageFeatures } from './features';
import { disposeFusion, fuse, fusionTensors, membership } from './fuse';
import type { AbeOptions } from './options';
import { regionPairTerm } from './regions';
import { GroupInfo, subText, TextSide } from './text-features';

/** What scoring needs of the model: the embedding size and exp(logit_scale). */
export interface ScoreContext {
  E: number;
  logitScale: number;
}

/** Feature keys of the configuration (features.ts): the patch-feature key and the region key, when on. */
export interface FeatureKeys {
  patch?: string;
  region?: string;
}

/**
 * Per-group details ("parts") for explain and analysis. Q = all groups of all captions in caption order;
 * arrays are row-major with the image first ([N·Q] = image i, group q at i·Q + q).
 */
export interface ScoreParts {
  groups: GroupInfo[];
  /** Patch-level term, [N·Q] each: l_p, l_o, Δ = l_p − l_o; null when the patch-level term is off (fuse: none). */
  lp: Float32Array | null;
  lo: Float32Array | null;
  delta: Float32Array | null;
  /** [N·Q·topK] chosen patch indices (0..P−1, row-major on the patch grid); null when the patch term is off. */
  R: Int32Array | null;
  topK: number;
  /** [N·Q·P] sim_p = p_k·v_j for every patch (the heatmap of group q on image i); null when the patch term is off. */
  simP: Float32Array | null;
  /**
   * Region path (null when regions are off), [N·Q] each: the region index assigned to the group (−1: none; an index
   * into `regionMasks[i].masks`), its p_k·r, its o_k·r, and the group's term (`regionTerm`: p_k·r; `centered`:
   * p_k·r − o_k·r, 0 without attributes). The caption's region term is `regionLambda · s ·` the mean of
   * `regionGroupTerm` over ALL its groups.
   */
  region: Int32Array | null;
  regionSim: Float32Array | null;
  regionObjectSim: Float32Array | null;
  regionGroupTerm: Float32Array | null;
  /** [N] number of regions found per image; null when regions are off. */
  regionCount: Int32Array | null;
  /** Per image: its regions' [P] 0/1 masks on the patch grid (dilated) and the foreground before dilation; null when off. */
  regionMasks: { masks: Uint8Array[]; foreground: Uint8Array }[] | null;
  /** [M] groups dropped per caption (past the context length). */
  dropped: Int32Array;
}

/** Budget for one scoring chunk's similarity tensor [U, n·P] (float32 bytes). */
const SCORE_SIM_BYTES = 16 * 1024 * 1024;

/**
 * S_clip and S_abe [N·M] (row-major) of images × captions, in chunks of images; with `wantParts`, the per-group
 * details. Leaves no tensors behind.
 */
export async function scoreBlock(
  ctx: ScoreContext,
  feats: readonly ImageFeatures[],
  t: TextSide,
  o: AbeOptions,
  keys: FeatureKeys,
  wantParts: boolean,
): Promise<{ clip: Float32Array; abe: Float32Array; parts?: ScoreParts }> {
  const pk = keys.patch!;
  const N = feats.length,
    M = t.M,
    Q = t.Q,
    E = ctx.E;
  const clip = new Float32Array(N * M),
    abe = new Float32Array(N * M);
  const patchOn = o.fuse !== 'none' && Q > 0;
  const regionOn = o.regionFeatures !== 'none' && Q > 0;
  const P0 = feats[0]?.P ?? 0;
  const parts: ScoreParts | undefined = wantParts
    ? {
        groups: t.groups,
        topK: o.topK,
        lp: patchOn ? new Float32Array(N * Q) : null,
        lo: patchOn ? new Float32Array(N * Q) : null,
        delta: patchOn ? new Float32Array(N * Q) : null,
        R: patchOn ? new Int32Array(N * Q * o.topK) : null,
        simP: patchOn ? new Float32Array(N * Q * P0) : null,
        region: regionOn ? new Int32Array(N * Q).fill(-1) : null,
        regionSim: regionOn ? new Float32Array(N * Q) : null,
        regionObjectSim: regionOn ? new Float32Array(N * Q) : null,
        regionGroupTerm: regionOn ? new Float32Array(N * Q) : null,
        regionCount: regionOn ? new Int32Array(N) : null,
        regionMasks: regionOn ? [] : null,
        dropped: Int32Array.from(t.caps, (c) => c.dropped),
      }
    : undefined;
  if (N === 0 || M === 0) return { clip, abe, parts };
  const s = ctx.logitScale;
  // Text operands pre-transposed to [E, ·]: on wasm a transposed matMul operand takes a ~10× slower kernel.
  const GTt = tf.tidy(() => tf.tensor2d(t.gT, [M, E]).transpose()) as tf.Tensor2D;
  // Each distinct p_k / o_k once (captions repeat objects, benchmarks repeat captions).
  const distinct = patchOn ? distinctTextRows(t.p, t.o, Q, E) : null;
  const rows: TextRows | null = distinct && {
    texts: tf.tensor2d(distinct.rows, [distinct.rows.length / E, E]),
    phrase: tf.tensor1d(distinct.phrase, 'int32'),
    object: tf.tensor1d(distinct.object, 'int32'),
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
      const extra = regionOn ? regionTerm(ctx, chunk, t, keys.region!, o, s0, parts) : null;
      const res = tf.tidy(() => {
        const GI = tf.tensor2d(concatRows(chunk.map((f) => f.embed)), [n, E]);
        const clipT = tf.matMul(GI, GTt).mul(s) as tf.Tensor2D;
        let al = null;
        if (patchOn) {
          const P = chunk[0].P;
          const V = tf.tensor3d(concatRows(chunk.map((f) => f.patches[pk])), [n, P, E]);
          al = alignRows(V, rows!, o.locate, o.topK, wantParts);
        }
        const ex = extra ? tf.tensor2d(extra, [n, M]) : null;
        // The first readings (phrase, object, caption) add the region term only to captions with attributes.
        const gated = !['phrase-all', 'centered', 'centered-same'].includes(o.regionTerm);
        const abeT = fuse(clipT, al?.lp ?? null, al?.delta ?? null, ft, o.fuse, o.lambda, s, ex, gated);
        return { clipT, abeT, lp: al?.lp, lo: al?.lo, delta: al?.delta, R: al?.R, simP: al?.simP } as tf.TensorContainerObject;
      }) as Record<string, tf.Tensor | undefined>;
      try {
        clip.set(res.clipT!.dataSync() as Float32Array, s0 * M);
        abe.set(res.abeT!.dataSync() as Float32Array, s0 * M);
        if (parts && patchOn) {
          parts.lp!.set(res.lp!.dataSync() as Float32Array, s0 * Q);
          parts.lo!.set(res.lo!.dataSync() as Float32Array, s0 * Q);
          parts.delta!.set(res.delta!.dataSync() as Float32Array, s0 * Q);
          parts.R!.set(res.R!.dataSync() as Int32Array, s0 * Q * o.topK);
          parts.simP!.set(res.simP!.dataSync() as Float32Array, s0 * Q * P0);
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
  return { clip, abe, parts };
}

/**
 * The region term [n·M] (already × regionLambda · s) of a chunk of images: p_k·r and o_k·r for every group and
 * region (one product), then `regionPairTerm` per (image, caption) over its few groups and regions.
 */
export function regionTerm(
  ctx: ScoreContext,
  chunk: readonly ImageFeatures[],
  t: TextSide,
  key: string,
  o: AbeOptions,
  s0: number,
  parts?: ScoreParts,
): Float32Array {
  const n = chunk.length,
    M = t.M,
    Q = t.Q,
    E = ctx.E,
    Rmax = o.maxRegions;
  const counts = chunk.map((f) => f.regions[key].masks.length);
  const re = new Float32Array(n * Rmax * E);
  chunk.forEach((f, i) => re.set(f.regions[key].embeds, i * Rmax * E));
  const sims = tf.tidy(
    () =>
      tf
        .matMul(tf.tensor2d(re, [n * Rmax, E]), tf.concat([tf.tensor2d(t.pRegion, [Q, E]), tf.tensor2d(t.oRegion, [Q, E])], 0).transpose())
        .dataSync() as Float32Array,
  ); // [n·Rmax, 2Q]
  const out = new Float32Array(n * M);
  const scale = o.regionLambda * ctx.logitScale;
  for (let i = 0; i < n; i++) {
    if (parts) {
      parts.regionCount![s0 + i] = counts[i];
      parts.regionMasks!.push({ masks: chunk[i].regions[key].masks, foreground: chunk[i].regions[key].foreground });
    }
    for (let m = 0; m < M; m++) {
      const q0 = t.start[m],
        K = t.start[m + 1] - q0;
      const at = (k: number, r: number, obj: number) => sims[(i * Rmax + r) * 2 * Q + obj * Q + q0 + k];
      const v = pairRegion(at, q0, K, counts[i], t, o, (r) => dotAt(chunk[i].regions[key].embeds, r * E, t.gT, m * E, E));
      if (!v) continue;
      out[i * M + m] = scale * v.mean;
      if (parts) regionParts(parts, (s0 + i) * Q + q0, v, at, K);
    }
  }
  return out;
}

/** One pair's region term from its similarities `at(k, r, 0 = phrase | 1 = object)`. */
export function pairRegion(
  at: (k: number, r: number, obj: number) => number,
  q0: number,
  K: number,
  count: number,
  t: TextSide,
  o: AbeOptions,
  captionSim: (r: number) => number,
): ReturnType<typeof regionPairTerm> {
  const Rmax = o.maxRegions;
  const bp = new Float32Array(K * Rmax),
    bo = new Float32Array(K * Rmax);
  for (let k = 0; k < K; k++)
    for (let r = 0; r < count; r++) {
      bp[k * Rmax + r] = at(k, r, 0);
      bo[k * Rmax + r] = at(k, r, 1);
    }
  return regionPairTerm(bp, bo, (k) => t.table.hasAttr[q0 + k] === 1, K, Rmax, count, o, captionSim);
}

function regionParts(
  parts: ScoreParts,
  row: number,
  v: NonNullable<ReturnType<typeof regionPairTerm>>,
  at: (k: number, r: number, obj: number) => number,
  K: number,
): void {
  for (let k = 0; k < K; k++) {
    const r = v.regions[k];
    parts.region![row + k] = r;
    parts.regionSim![row + k] = at(k, r, 0);
    parts.regionObjectSim![row + k] = at(k, r, 1);
    parts.regionGroupTerm![row + k] = v.terms[k];
  }
}

/** Cells (distinct images × distinct captions) of one scorePairs block, at most. */
const PAIR_BLOCK_CELLS = 4096;

/**
 * Scores of (image, caption) pairs: the pairs, sorted by image, are cut into chunks whose distinct images ×
 * distinct captions stay under PAIR_BLOCK_CELLS; each chunk is one `scoreBlock` and its pairs are picked out.
 * The cost grows with the pairs (each block is bounded), and the numbers are scoreBlock's.
 */
export async function scorePairsOf(
  ctx: ScoreContext,
  feats: readonly ImageFeatures[],
  t: TextSide,
  pairs: ReadonlyArray<readonly [number, number]>,
  o: AbeOptions,
  keys: FeatureKeys,
): Promise<{ clip: Float32Array; abe: Float32Array }> {
  const J = pairs.length;
  const clip = new Float32Array(J),
    abe = new Float32Array(J);
  const order = Array.from({ length: J }, (_, j) => j).sort((a, b) => pairs[a][0] - pairs[b][0] || pairs[a][1] - pairs[b][1]);
  for (let j0 = 0; j0 < J;) {
    const imgs = new Map<number, number>(),
      caps = new Map<number, number>();
    let j1 = j0;
    for (; j1 < J; j1++) {
      const [i, m] = pairs[order[j1]];
      const ni = imgs.size + (imgs.has(i) ? 0 : 1),
        nm = caps.size + (caps.has(m) ? 0 : 1);
      if (j1 > j0 && ni * nm > PAIR_BLOCK_CELLS) break;
      if (!imgs.has(i)) imgs.set(i, imgs.size);
      if (!caps.has(m)) caps.set(m, caps.size);
    }
    const sub = subText(t, [...caps.keys()], ctx.E);
    const r = await scoreBlock(
      ctx,
      [...imgs.keys()].map((i) => feats[i]),
      sub,
      o,
      keys,
      false,
    );
    for (let j = j0; j < j1; j++) {
      const [i, m] = pairs[order[j]];
      const at = imgs.get(i)! * sub.M + caps.get(m)!;
      clip[order[j]] = r.clip[at];
      abe[order[j]] = r.abe[at];
    }
    j0 = j1;
    if (j0 < J) await tf.nextFrame();
  }
  return { clip, abe };
}
