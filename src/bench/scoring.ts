/**
 * ABE scoreMatrix throughput with cached image features and cached phrase/caption embeddings: the cost a user
 * pays per N×M matrix once the encoders have run. Image features are synthesised (random unit vectors of the
 * right shapes: scoring time does not depend on their values); captions come from a small attribute world,
 * so a warm-up call fills the scorer's text caches and the timed calls measure scoring alone.
 */
import * as crypto from 'crypto';
import { AbeScorer } from '../abe/scorer';
import type { ImageFeatures } from '../abe/features';
import { hiddenIndex } from '../abe/options';
import { patchKey } from '../abe/patches';
import type { AbeModel } from '../abe/model';
import { forceGc, rssSampler } from './memory';
import { measure, MeasureOptions, Timing } from './stats';

export interface ScoreBenchResult extends Timing {
  n: number;
  m: number;
  /** Distinct captions among the m (the rest repeat them). */
  distinctCaptions: number;
  pairsPerSecond: number;
  /** Highest resident set size sampled during the timed calls, bytes. */
  peakRssBytes: number;
  /** Resident set size just before the timed calls, bytes. */
  rssBeforeBytes: number;
}

const COLORS = ['red', 'blue', 'green', 'yellow'];
const SHAPES = ['cube', 'sphere', 'cylinder', 'cone'];

/** m captions "a {c1} {s1} and a {c2} {s2}" cycling over `distinct` different ones. */
export function benchCaptions(m: number, distinct: number): string[] {
  const all: string[] = [];
  for (const c1 of COLORS)
    for (const s1 of SHAPES)
      for (const c2 of COLORS)
        for (const s2 of SHAPES) {
          if (c1 !== c2 && s1 !== s2) all.push(`a ${c1} ${s1} and a ${c2} ${s2}`);
        }
  const pick = all.filter((_, i) => i % Math.max(1, Math.floor(all.length / distinct)) === 0).slice(0, distinct);
  return Array.from({ length: m }, (_, i) => pick[i % pick.length]);
}

function unit(n: number, dim: number, seed: number): Float32Array {
  const out = new Float32Array(n * dim);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) / 4294967296 - 0.5;
  }
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += out[r * dim + j] ** 2;
    const k = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) out[r * dim + j] *= k;
  }
  return out;
}

/** Synthetic cached features of n images for the scorer's options. */
export function benchFeatures(scorer: AbeScorer, n: number): ImageFeatures[] {
  const c = scorer.model.config,
    o = scorer.options;
  const P = (c.vision.resolution / c.vision.patchSize) ** 2,
    E = c.embedDim;
  const key = patchKey(o.patchFeatures, hiddenIndex(o.patchLayer, c.vision.layers, 'patchLayer'));
  return Array.from({ length: n }, (_, i) => ({
    key: crypto.createHash('sha256').update(`bench-${i}`).digest('hex'),
    E,
    P,
    embed: unit(1, E, 1000 + i),
    patches: { [key]: unit(P, E, 5000 + i) },
    regions: {},
  }));
}

/** Time scoreMatrix(N images × M captions) after one warm-up call; RSS is sampled during the timed calls. */
export async function benchScoring(
  model: AbeModel,
  n: number,
  m: number,
  distinct: number,
  opts: MeasureOptions,
): Promise<ScoreBenchResult> {
  const scorer = new AbeScorer(model);
  const feats = benchFeatures(scorer, n);
  const captions = benchCaptions(m, distinct);
  await scorer.scoreMatrix(feats, captions); // fills the caption and phrase caches
  forceGc();
  const rssBeforeBytes = process.memoryUsage.rss();
  const rss = rssSampler();
  let t: Timing, peak: number;
  try {
    t = await measure(() => scorer.scoreMatrix(feats, captions), { ...opts, warmup: 0 });
  } finally {
    peak = rss.stop();
  }
  return {
    ...t,
    n,
    m,
    distinctCaptions: new Set(captions).size,
    pairsPerSecond: (n * m * 1000) / t.medianMs,
    peakRssBytes: peak,
    rssBeforeBytes,
  };
}
