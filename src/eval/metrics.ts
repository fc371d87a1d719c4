/**
 * Evaluation statistics: pairwise accuracy, the paired McNemar exact test, split-half stability, Recall@K; and the
 * data-set headline metrics beyond per-subset accuracy:
 * - Winoground: text, image and group scores per configuration (each example's two items hold the four
 *   scores S(c0,i0), S(c1,i0), S(c1,i1), S(c0,i1) that the official metrics need);
 * - ARO VG-Attribution: the macro accuracy over attribute pairs (ARO's headline number) besides the micro one.
 */
import { rng } from '../random';
import type { RunResult } from './runner';

export { rng };

export function accuracy(correct: ArrayLike<boolean>): number {
  if (!correct.length) return NaN;
  let c = 0;
  for (let i = 0; i < correct.length; i++) if (correct[i]) c++;
  return c / correct.length;
}

/** log(n choose k) via lgamma-free summation (exact enough for n up to millions). */
function logChoose(n: number, k: number): number {
  k = Math.min(k, n - k);
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

export interface McNemarResult {
  /** Items A got right and B got wrong. */
  onlyA: number;
  /** Items B got right and A got wrong. */
  onlyB: number;
  /** Two-sided exact binomial p-value on the discordant pairs (1 when there are none). */
  p: number;
}

/**
 * McNemar's exact test for two methods scored on the same items: under H0 the discordant items split
 * Binomial(n, 1/2); p = min(1, 2·P[X ≤ min(b, c)]).
 */
export function mcnemarExact(a: ArrayLike<boolean>, b: ArrayLike<boolean>): McNemarResult {
  if (a.length !== b.length) throw new RangeError(`mcnemarExact: ${a.length} vs ${b.length} items`);
  let onlyA = 0,
    onlyB = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && !b[i]) onlyA++;
    else if (b[i] && !a[i]) onlyB++;
  }
  const n = onlyA + onlyB;
  if (n === 0) return { onlyA, onlyB, p: 1 };
  const k = Math.min(onlyA, onlyB);
  let tail = 0;
  for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2);
  return { onlyA, onlyB, p: Math.min(1, 2 * tail) };
}

export interface SplitHalfResult {
  halvings: number;
  /** Mean over halvings of the gain (accuracy B − A) on each half. */
  meanGain: number;
  /** Standard deviation of the per-half gains. */
  sdGain: number;
  /** Fraction of halvings in which both halves show a gain of the same sign as the full-set gain (0 when that gain is 0). */
  agreement: number;
  /** The gain on the full set (accuracy B − A); when 0 there is no sign to agree with. */
  fullGain: number;
}

/**
 * Split-half stability of the gain of B over A: split the groups (e.g. images; items of one image stay
 * together) at random into two halves `halvings` times and see whether the gain holds in both halves.
 */
export function splitHalf(
  a: ArrayLike<boolean>,
  b: ArrayLike<boolean>,
  groups: ArrayLike<string | number>,
  opts: { halvings?: number; seed?: number } = {},
): SplitHalfResult {
  const halvings = opts.halvings ?? 500;
  const rand = rng(opts.seed ?? 1);
  const ids = [...new Set(Array.from(groups))];
  const full = accuracy(b) - accuracy(a);
  const sign = Math.sign(full);
  const gains: number[] = [];
  let agree = 0;
  const pos = new Map(ids.map((g, k) => [g, k]));
  const side = new Uint8Array(ids.length);
  for (let h = 0; h < halvings; h++) {
    const order = ids.map((_, k) => k);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    order.forEach((k, r) => {
      side[k] = r < order.length / 2 ? 0 : 1;
    });
    const cnt = [0, 0],
      ca = [0, 0],
      cb = [0, 0];
    for (let i = 0; i < a.length; i++) {
      const s = side[pos.get(groups[i])!];
      cnt[s]++;
      if (a[i]) ca[s]++;
      if (b[i]) cb[s]++;
    }
    const g = [0, 1].map((s) => (cnt[s] ? (cb[s] - ca[s]) / cnt[s] : 0));
    gains.push(...g);
    if (sign !== 0 && Math.sign(g[0]) === sign && Math.sign(g[1]) === sign) agree++;
  }
  const mean = gains.reduce((x, y) => x + y, 0) / gains.length;
  const sd = Math.sqrt(gains.reduce((x, y) => x + (y - mean) ** 2, 0) / Math.max(1, gains.length - 1));
  return { halvings, meanGain: mean, sdGain: sd, agreement: agree / halvings, fullGain: full };
}

export interface RecallResult {
  /** Image → text: fraction of images with one of their captions in the top K. */
  imageToText: Record<string, number>;
  /** Text → image: fraction of captions whose image is in the top K. */
  textToImage: Record<string, number>;
  /** 0-based rank of each query's best true match (0 = first): [nImages] image → text, [nCaptions] text → image. */
  ranks: { imageToText: number[]; textToImage: number[] };
}

/**
 * The K of `ks` at which Recall@K is 1 by construction: text → image when K ≥ the number of images; image → text
 * when K exceeds every image's count of other images' captions (a true caption always ranks within them).
 */
export function trivialKs(
  nImages: number,
  captionImage: ArrayLike<number>,
  ks: number[] = [1, 5, 10],
): { imageToText: number[]; textToImage: number[] } {
  const own = new Array<number>(nImages).fill(0);
  for (let c = 0; c < captionImage.length; c++) own[captionImage[c]]++;
  const worst = Math.max(0, ...own.map((o) => captionImage.length - o));
  return { imageToText: ks.filter((k) => k > worst), textToImage: ks.filter((k) => k >= nImages) };
}

/**
 * Recall@K both ways from a similarity matrix `sim` [nImages, nCaptions] (row-major).
 * Ties count against the query (a strictly higher score is needed to outrank), like argsort-based code.
 */
export function recallAtK(
  sim: ArrayLike<number>,
  nImages: number,
  captionImage: ArrayLike<number>,
  ks: number[] = [1, 5, 10],
): RecallResult {
  const nCap = captionImage.length;
  if (sim.length !== nImages * nCap) throw new RangeError(`recallAtK: sim has ${sim.length} values, expected ${nImages}×${nCap}`);
  const i2t: Record<string, number> = {},
    t2i: Record<string, number> = {};
  const rankI2T = new Array<number>(nImages).fill(Infinity);
  for (let i = 0; i < nImages; i++) {
    for (let c = 0; c < nCap; c++) {
      if (captionImage[c] !== i) continue;
      const s = sim[i * nCap + c];
      let rank = 0;
      for (let d = 0; d < nCap; d++) if (d !== c && sim[i * nCap + d] >= s && captionImage[d] !== i) rank++;
      rankI2T[i] = Math.min(rankI2T[i], rank);
    }
  }
  const rankT2I = new Array<number>(nCap);
  for (let c = 0; c < nCap; c++) {
    const gi = captionImage[c],
      s = sim[gi * nCap + c];
    let rank = 0;
    for (let i = 0; i < nImages; i++) if (i !== gi && sim[i * nCap + c] >= s) rank++;
    rankT2I[c] = rank;
  }
  for (const k of ks) {
    i2t[`R@${k}`] = rankI2T.filter((r) => r < k).length / nImages;
    t2i[`R@${k}`] = rankT2I.filter((r) => r < k).length / nCap;
  }
  return { imageToText: i2t, textToImage: t2i, ranks: { imageToText: rankI2T, textToImage: rankT2I } };
}

export interface WinogroundScores {
  examples: number;
  text: number;
  image: number;
  group: number;
}

export function winogroundScores(run: RunResult): Record<string, WinogroundScores> | undefined {
  const byEx = new Map<string, { i0?: Record<string, [number, number]>; i1?: Record<string, [number, number]> }>();
  for (const s of run.scored) {
    const m = s.item.meta as { example?: unknown; which?: number } | undefined;
    if (!m || m.example === undefined || (m.which !== 0 && m.which !== 1)) return undefined;
    const e = byEx.get(String(m.example)) ?? {};
    e[m.which === 0 ? 'i0' : 'i1'] = s.scores;
    byEx.set(String(m.example), e);
  }
  const complete = [...byEx.values()].filter((e) => e.i0 && e.i1);
  if (!complete.length) return undefined;
  const out: Record<string, WinogroundScores> = {};
  for (const cfg of run.configs) {
    let text = 0,
      image = 0,
      group = 0;
    for (const e of complete) {
      // i0: [S(c0,i0), S(c1,i0)]; i1: [S(c1,i1), S(c0,i1)].
      const [c0i0, c1i0] = e.i0![cfg],
        [c1i1, c0i1] = e.i1![cfg];
      const t = c0i0 > c1i0 && c1i1 > c0i1;
      const im = c0i0 > c0i1 && c1i1 > c1i0;
      text += +t;
      image += +im;
      group += +(t && im);
    }
    const n = complete.length;
    out[cfg] = { examples: n, text: text / n, image: image / n, group: group / n };
  }
  return out;
}

/** Mean over attribute pairs (`attributes` joined) of the per-pair accuracy, per configuration. */
export function aroMacroAccuracy(run: RunResult): Record<string, { pairs: number; macro: number }> | undefined {
  const groups = new Map<string, typeof run.scored>();
  for (const s of run.scored) {
    const a = (s.item.meta as { attributes?: string[] } | undefined)?.attributes;
    if (!a) return undefined;
    const k = a.join('_');
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(s);
  }
  if (!groups.size) return undefined;
  const out: Record<string, { pairs: number; macro: number }> = {};
  for (const cfg of run.configs) {
    let sum = 0;
    for (const g of groups.values()) sum += g.filter((s) => s.scores[cfg][0] > s.scores[cfg][1]).length / g.length;
    out[cfg] = { pairs: groups.size, macro: sum / groups.size };
  }
  return out;
}

/** The extras that apply to a dataset, for report.json and the terminal. */
export function datasetExtras(name: string, run: RunResult): { json: Record<string, unknown>; lines: string[] } {
  const json: Record<string, unknown> = {};
  const lines: string[] = [];
  if (name === 'winoground') {
    const w = winogroundScores(run);
    if (w) {
      json.winoground = w;
      lines.push('Winoground scores (text / image / group):');
      for (const [cfg, r] of Object.entries(w))
        lines.push(`  ${cfg}: ${r.text.toFixed(3)} / ${r.image.toFixed(3)} / ${r.group.toFixed(3)} over ${r.examples} examples`);
    }
  }
  if (name === 'aro-attribution') {
    const a = aroMacroAccuracy(run);
    if (a) {
      json.aroMacroAccuracy = a;
      lines.push('ARO macro accuracy over attribute pairs:');
      for (const [cfg, r] of Object.entries(a)) lines.push(`  ${cfg}: ${r.macro.toFixed(3)} over ${r.pairs} attribute pairs`);
    }
  }
  return { json, lines };
}
