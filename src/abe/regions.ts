/**
 * Region re-encoding (METHOD.md "Extension", ours): regions found from the image alone, each re-encoded by the
 * image encoder with the rest of the image painted over, and the caption's groups assigned to distinct regions.
 * Region finding and assignment work on a few dozen numbers per image or pair, on the host.
 */

/** Per-image regions on the patch grid. */
export interface RegionSet {
  /** Foreground patches (before dilation), [P] 0/1. */
  foreground: Uint8Array;
  /** One [P] 0/1 mask per region (dilated), largest component first. */
  masks: Uint8Array[];
}

/** Exact Otsu threshold over the values: maximises the between-class variance; foreground = value > t. */
export function otsuThreshold(values: ArrayLike<number>): number {
  const v = Float64Array.from(values).sort();
  const n = v.length;
  if (n < 2 || v[0] === v[n - 1]) return Infinity;
  let total = 0;
  for (const x of v) total += x;
  let best = -1,
    t = v[0],
    sumLow = 0;
  for (let i = 0; i < n - 1; i++) {
    sumLow += v[i];
    if (v[i] === v[i + 1]) continue;
    const w0 = (i + 1) / n,
      w1 = 1 - w0;
    const m0 = sumLow / (i + 1),
      m1 = (total - sumLow) / (n - i - 1);
    const between = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (between > best) {
      best = between;
      t = (v[i] + v[i + 1]) / 2;
    }
  }
  return t;
}

/** The 8-neighbours (or with `cross`, the 4 edge neighbours) of patch j on a [grid, grid] patch grid (fewer at the border). */
function neighbours(j: number, grid: number, cross = false): number[] {
  const r = Math.floor(j / grid),
    c = j % grid;
  const out: number[] = [];
  for (let dr = -1; dr <= 1; dr++)
    for (let dc = -1; dc <= 1; dc++) {
      const rr = r + dr,
        cc = c + dc;
      if ((dr || dc) && !(cross && dr && dc) && rr >= 0 && cc >= 0 && rr < grid && cc < grid) out.push(rr * grid + cc);
    }
  return out;
}

/** 8-connected components of a [g,g] 0/1 mask, largest first (ties: the one whose first patch comes first). */
export function components(mask: Uint8Array, grid: number): number[][] {
  const seen = new Uint8Array(mask.length);
  const out: number[][] = [];
  for (let s = 0; s < mask.length; s++) {
    if (!mask[s] || seen[s]) continue;
    const comp: number[] = [];
    const stack = [s];
    seen[s] = 1;
    while (stack.length) {
      const j = stack.pop()!;
      comp.push(j);
      for (const k of neighbours(j, grid)) {
        if (mask[k] && !seen[k]) {
          seen[k] = 1;
          stack.push(k);
        }
      }
    }
    comp.sort((a, b) => a - b);
    out.push(comp);
  }
  return out.sort((a, b) => b.length - a.length || a[0] - b[0]);
}

export function dilate(mask: Uint8Array, grid: number, steps: number, ring: 'square' | 'cross' = 'square'): Uint8Array {
  let cur = mask;
  for (let s = 0; s < steps; s++) {
    const next = cur.slice();
    for (let j = 0; j < cur.length; j++) {
      if (!cur[j]) continue;
      for (const k of neighbours(j, grid, ring === 'cross')) next[k] = 1;
    }
    cur = next;
  }
  return cur;
}

/**
 * 2-means on [feature, position] of the patches of one component. Positions are scaled to [0, 1] over the
 * grid so that they weigh like a unit-vector feature difference. Deterministic start: the patch farthest
 * from the component's mean, then the patch farthest from that one.
 */
export function splitTwoMeans(patches: readonly number[], feats: Float32Array, E: number, grid: number, iters = 20): number[][] {
  const D = E + 2;
  const x = patches.map((j) => {
    const v = new Float64Array(D);
    for (let e = 0; e < E; e++) v[e] = feats[j * E + e];
    v[E] = Math.floor(j / grid) / Math.max(1, grid - 1);
    v[E + 1] = (j % grid) / Math.max(1, grid - 1);
    return v;
  });
  const dist = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let d = 0; d < D; d++) s += (a[d] - b[d]) ** 2;
    return s;
  };
  const mean = new Float64Array(D);
  for (const v of x) for (let d = 0; d < D; d++) mean[d] += v[d] / x.length;
  const far = (from: Float64Array) => {
    let bi = 0,
      bd = -1;
    x.forEach((v, i) => {
      const dd = dist(v, from);
      if (dd > bd) {
        bd = dd;
        bi = i;
      }
    });
    return bi;
  };
  const a0 = far(mean);
  const b0 = far(x[a0]);
  if (a0 === b0) return [patches.slice()];
  let c = [x[a0].slice(), x[b0].slice()];
  let label = new Int32Array(x.length);
  for (let it = 0; it < iters; it++) {
    const next = Int32Array.from(x, (v) => (dist(v, c[0]) <= dist(v, c[1]) ? 0 : 1));
    const changed = it === 0 || next.some((l, i) => l !== label[i]);
    label = next;
    const sums = [new Float64Array(D), new Float64Array(D)],
      counts = [0, 0];
    x.forEach((v, i) => {
      counts[label[i]]++;
      for (let d = 0; d < D; d++) sums[label[i]][d] += v[d];
    });
    if (!counts[0] || !counts[1]) return [patches.slice()];
    c = sums.map((s, k) => s.map((t) => t / counts[k]));
    if (!changed) break;
  }
  const parts: number[][] = [[], []];
  patches.forEach((j, i) => parts[label[i]].push(j));
  return parts.sort((a, b) => b.length - a.length || a[0] - b[0]);
}

/**
 * How regions are found beyond the count and the dilation (options.ts: regionBackground, regionMinSize, regionSplit).
 * The defaults reproduce the first finder (`median`, 0, `one`).
 */
export interface FindOptions {
  /**
   * The background reference feature: `median` = the median patch feature (assumes the background covers most
   * patches); `border` = the median over the grid's border ring only (assumes only that the background reaches the
   * image border somewhere more often than the objects do: a large object or many objects do not become background).
   */
  background: 'median' | 'border';
  /** Components smaller than this fraction of the patches are dropped (noise of textured backgrounds), unless none is left. */
  minSize: number;
  /**
   * `one`: a single component is split by 2-means (the first finder: two objects assumed); `all`: split and merge —
   * any piece is split while its two halves' mean features differ more (1 − cos) than the foreground threshold
   * itself (the halves differ from each other as an object differs from the background), then touching pieces that
   * differ less are merged again; the largest maxRegions pieces are kept. No count is assumed.
   */
  split: 'one' | 'all';
  /** Dilation neighbourhood: `square` (8 neighbours, a full ring) or `cross` (4 edge neighbours: corners stay out). */
  ring: 'square' | 'cross';
}

export const FIND_DEFAULTS: Readonly<FindOptions> = Object.freeze({ background: 'median', minSize: 0, split: 'one', ring: 'square' });

function medianFeature(feats: Float32Array, rows: readonly number[], E: number): Float32Array {
  const med = new Float32Array(E);
  const col = new Float64Array(rows.length);
  const n = rows.length;
  for (let e = 0; e < E; e++) {
    rows.forEach((j, k) => {
      col[k] = feats[j * E + e];
    });
    col.sort();
    med[e] = n % 2 ? col[(n - 1) / 2] : (col[n / 2 - 1] + col[n / 2]) / 2;
  }
  return med;
}

function meanFeature(feats: Float32Array, rows: readonly number[], E: number): Float64Array {
  const m = new Float64Array(E);
  for (const j of rows) for (let e = 0; e < E; e++) m[e] += feats[j * E + e] / rows.length;
  return m;
}

function cosDist(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0,
    na = 0,
    nb = 0;
  for (let e = 0; e < a.length; e++) {
    d += a[e] * b[e];
    na += a[e] * a[e];
    nb += b[e] * b[e];
  }
  return 1 - d / ((Math.sqrt(na) || 1) * (Math.sqrt(nb) || 1));
}

/** Repeatedly merges the two touching (8-neighbour) pieces whose mean features are closest, while closer than t. */
function mergeSimilar(pieces: number[][], feats: Float32Array, E: number, grid: number, t: number): number[][] {
  let out = pieces.map((p) => p.slice());
  const touch = (a: number[], b: number[]) => {
    const set = new Set(b);
    return a.some((j) => neighbours(j, grid).some((k) => set.has(k)));
  };
  for (;;) {
    let best: [number, number] | null = null,
      bd = t;
    const means = out.map((p) => meanFeature(feats, p, E));
    for (let a = 0; a < out.length; a++)
      for (let b = a + 1; b < out.length; b++) {
        const d = cosDist(means[a], means[b]);
        if (d <= bd && touch(out[a], out[b])) {
          bd = d;
          best = [a, b];
        }
      }
    if (!best) return out;
    const [a, b] = best;
    out = [...out.filter((_, k) => k !== a && k !== b), [...out[a], ...out[b]].sort((x, y) => x - y)];
  }
}

/** Patch indices of the border ring of a [g,g] grid (all of them when g ≤ 2). */
export function borderPatches(grid: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < grid; r++)
    for (let c = 0; c < grid; c++) if (r === 0 || c === 0 || r === grid - 1 || c === grid - 1) out.push(r * grid + c);
  return out;
}

/**
 * Regions of one image from its patch features f [P·E] (L2-normalised): d_j = 1 − cos(f_j, background reference),
 * Otsu on d, 8-connected components (largest first, at most maxRegions, the smallest dropped below `minSize`),
 * components split by 2-means (`split`), each dilated by `dilation` patches.
 */
export function findRegions(
  feats: Float32Array,
  P: number,
  E: number,
  maxRegions: number,
  dilation: number,
  opts: Partial<FindOptions> = {},
): RegionSet {
  const o = { ...FIND_DEFAULTS, ...opts };
  const grid = Math.round(Math.sqrt(P));
  const all = Array.from({ length: P }, (_, j) => j);
  const med = medianFeature(feats, o.background === 'border' ? borderPatches(grid) : all, E);
  const d = Float64Array.from(all, (j) => cosDist(feats.subarray(j * E, (j + 1) * E), med));
  const t = otsuThreshold(d);
  const foreground = Uint8Array.from(d, (x) => (x > t ? 1 : 0));
  let comps = components(foreground, grid);
  const least = Math.max(1, Math.ceil(o.minSize * P));
  if (comps.some((c) => c.length >= least)) comps = comps.filter((c) => c.length >= least);
  if (o.split === 'one') {
    if (comps.length === 1 && maxRegions > 1 && comps[0].length > 1) comps = splitTwoMeans(comps[0], feats, E, grid);
  } else {
    // Split and merge: split any piece whose 2-means halves differ like objects differ from the background (1 − cos
    // of their mean features > t), then merge touching pieces that do not (a 2-means cut can fall inside an object).
    const done = new Set<number[]>();
    for (;;) {
      const c = comps.find((x) => x.length > 1 && !done.has(x));
      if (!c) break;
      const parts = splitTwoMeans(c, feats, E, grid);
      if (parts.length === 2 && cosDist(meanFeature(feats, parts[0], E), meanFeature(feats, parts[1], E)) > t) {
        comps = [...comps.filter((x) => x !== c), ...parts];
      } else done.add(c);
    }
    comps = mergeSimilar(comps, feats, E, grid, t).sort((a, b) => b.length - a.length || a[0] - b[0]);
  }
  const masks = comps.slice(0, maxRegions).map((c) => {
    const m = new Uint8Array(P);
    for (const j of c) m[j] = 1;
    return dilate(m, grid, dilation, o.ring);
  });
  return { foreground, masks };
}

/**
 * The image [3,R,R] (normalised, channels first) with every pixel outside the mask's patches replaced by the
 * median (per channel) of the background pixels (patches outside `foreground`; all pixels if none).
 */
export function maskImage(pixels: Float32Array, R: number, grid: number, mask: Uint8Array, foreground: Uint8Array): Float32Array {
  const p = R / grid;
  const patchOf = (y: number, x: number) => Math.floor(y / p) * grid + Math.floor(x / p);
  const out = new Float32Array(pixels.length);
  const hasBg = foreground.some((f) => !f);
  for (let ch = 0; ch < 3; ch++) {
    const base = ch * R * R;
    const bg: number[] = [];
    for (let y = 0; y < R; y++)
      for (let x = 0; x < R; x++) {
        if (!hasBg || !foreground[patchOf(y, x)]) bg.push(pixels[base + y * R + x]);
      }
    bg.sort((a, b) => a - b);
    const n = bg.length;
    const fill = n % 2 ? bg[(n - 1) / 2] : (bg[n / 2 - 1] + bg[n / 2]) / 2;
    for (let y = 0; y < R; y++)
      for (let x = 0; x < R; x++) {
        const i = base + y * R + x;
        out[i] = mask[patchOf(y, x)] ? pixels[i] : fill;
      }
  }
  return out;
}

/**
 * Best assignment of K groups to an image's `count` regions given sims [K·Rmax] (row k = group k), maximising
 * the summed similarity. `joint`: distinct regions while K ≤ count (when K > count every region is used and
 * groups share), all count^K maps enumerated while that is ≤ maxMaps, greedy beyond (highest (group, region)
 * pair first). `indep`: each group its best region. Returns the chosen region per group and the mean score,
 * or null when the image has no region.
 */
export function assignRegions(
  sims: Float32Array,
  offset: number,
  K: number,
  Rmax: number,
  count: number,
  mode: 'joint' | 'indep',
  maxMaps: number,
): { regions: number[]; mean: number } | null {
  if (count === 0 || K === 0) return null;
  const s = (k: number, r: number) => sims[offset + k * Rmax + r];
  if (mode === 'indep' || count === 1) {
    const regions: number[] = [];
    let sum = 0;
    for (let k = 0; k < K; k++) {
      let br = 0;
      for (let r = 1; r < count; r++) if (s(k, r) > s(k, br)) br = r;
      regions.push(br);
      sum += s(k, br);
    }
    return { regions, mean: sum / K };
  }
  const need = Math.min(K, count);
  if (count ** K <= maxMaps) {
    const sigma = new Array<number>(K).fill(0);
    let best: number[] | null = null,
      bestSum = -Infinity;
    const used = new Int32Array(count);
    const total = count ** K;
    for (let code = 0; code < total; code++) {
      let c = code,
        distinct = 0,
        sum = 0;
      used.fill(0);
      for (let k = 0; k < K; k++) {
        const r = c % count;
        c = Math.floor(c / count);
        sigma[k] = r;
        sum += s(k, r);
        if (!used[r]++) distinct++;
      }
      if (distinct === need && sum > bestSum) {
        bestSum = sum;
        best = sigma.slice();
      }
    }
    return { regions: best!, mean: bestSum / K };
  }
  // Greedy: take the highest remaining (group, free region) pair; once regions run out, groups take their best.
  const regions = new Array<number>(K).fill(-1);
  const free = new Uint8Array(count).fill(1);
  let sum = 0;
  for (let step = 0; step < K; step++) {
    let bk = -1,
      br = -1,
      bv = -Infinity;
    const anyFree = free.some((f) => f);
    for (let k = 0; k < K; k++) {
      if (regions[k] >= 0) continue;
      for (let r = 0; r < count; r++)
        if ((!anyFree || free[r]) && s(k, r) > bv) {
          bv = s(k, r);
          bk = k;
          br = r;
        }
    }
    regions[bk] = br;
    free[br] = 0;
    sum += bv;
  }
  return { regions, mean: sum / K };
}

/** The switches of the region term (options.ts). */
export interface RegionTermOptions {
  regionAssign: 'joint' | 'indep';
  regionAssignBy: 'phrase' | 'object' | 'both';
  regionTerm: 'phrase' | 'phrase-all' | 'centered' | 'centered-same' | 'object' | 'caption';
  regionMaxMaps: number;
}

/**
 * The region term of one (image, caption) pair — the one implementation both scoreMatrix and scorePairs use.
 * `bp`, `bo` [K·Rmax]: p_k·r and o_k·r of the caption's K groups against the image's `count` regions;
 * `hasAttr(k)`: whether group k names attributes. The groups are assigned to regions (by `regionAssignBy`: p_k·r,
 * o_k·r, or `both` p_k·r + o_k·r — the object phrase's shape evidence keeps a phrase from taking the region of
 * another object that merely has its colour), then
 * each group's term is p_k·r (`phrase`), or for a group with attributes (0 without): `centered` p_k·r − max_r' o_k·r'
 * (the phrase on its region against the attribute-free object phrase at the object's best region), `centered-same`
 * p_k·r − o_k·r (both on the assigned region);
 * the result is their mean over all K groups (ablations: `object` o_k·r, `caption` g_T·r of the assigned region). Null when the image has no region or the caption no group.
 */
export function regionPairTerm(
  bp: Float32Array,
  bo: Float32Array,
  hasAttr: (k: number) => boolean,
  K: number,
  Rmax: number,
  count: number,
  o: RegionTermOptions,
  captionSim: (r: number) => number = () => 0,
): { regions: number[]; terms: Float32Array; mean: number } | null {
  const by = o.regionAssignBy === 'object' ? bo : o.regionAssignBy === 'both' ? bp.map((v, i) => v + bo[i]) : bp;
  const a = assignRegions(by, 0, K, Rmax, count, o.regionAssign, o.regionMaxMaps);
  if (!a) return null;
  const terms = new Float32Array(K);
  let sum = 0;
  a.regions.forEach((r, k) => {
    const i = k * Rmax + r;
    let bestO = -Infinity;
    for (let q = 0; q < count; q++) bestO = Math.max(bestO, bo[k * Rmax + q]);
    const v =
      o.regionTerm === 'centered'
        ? hasAttr(k)
          ? bp[i] - bestO
          : 0
        : o.regionTerm === 'centered-same'
          ? hasAttr(k)
            ? bp[i] - bo[i]
            : 0
          : o.regionTerm === 'object'
            ? bo[i]
            : o.regionTerm === 'caption'
              ? captionSim(r)
              : bp[i]; // phrase, phrase-all
    terms[k] = v;
    sum += v;
  });
  return { regions: a.regions, terms, mean: sum / K };
}

/**
 * Ablation `regionProposal: random`: for each found region, a random set of the same number of patches
 * (seeded by `seed`, so an image always gets the same sets).
 */
export function randomMasks(found: readonly Uint8Array[], P: number, seed: number): Uint8Array[] {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  return found.map((m) => {
    const size = m.reduce((a, b) => a + b, 0);
    const order = Array.from({ length: P }, (_, j) => j);
    for (let j = P - 1; j > 0; j--) {
      const k = Math.floor(next() * (j + 1));
      [order[j], order[k]] = [order[k], order[j]];
    }
    const out = new Uint8Array(P);
    for (const j of order.slice(0, size)) out[j] = 1;
    return out;
  });
}
