import { expect } from 'chai';
import {
  assignRegions,
  borderPatches,
  components,
  dilate,
  findRegions,
  maskImage,
  otsuThreshold,
  regionPairTerm,
  splitTwoMeans,
} from '../../src/abe/regions';
import { rng } from './tinyModel';

describe('abe/regions', () => {
  it('otsuThreshold separates two clusters and is Infinity on constant input', () => {
    const t = otsuThreshold([0.1, 0.12, 0.11, 0.9, 0.95, 0.13]);
    expect(t).to.be.greaterThan(0.13).and.lessThan(0.9);
    expect(otsuThreshold([0.5, 0.5, 0.5])).to.equal(Infinity);
    expect(otsuThreshold([])).to.equal(Infinity);
  });
  it('components are 8-connected, largest first', () => {
    // 4×4 grid: a diagonal pair (connected through the corner) and a 3-patch L.
    const m = new Uint8Array(16);
    for (const j of [0, 5, 3, 7, 11]) m[j] = 1;
    expect(components(m, 4)).to.deep.equal([
      [3, 7, 11],
      [0, 5],
    ]);
  });
  it('dilate grows by the 8-neighbourhood', () => {
    const m = new Uint8Array(16);
    m[5] = 1;
    expect(Array.from(dilate(m, 4, 1)).reduce((a, b) => a + b, 0)).to.equal(9);
    expect(Array.from(dilate(m, 4, 0))).to.deep.equal(Array.from(m));
  });
  it('dilate with the cross ring grows by the 4 edge neighbours (corners stay out; two steps reach them)', () => {
    const m = new Uint8Array(16);
    m[5] = 1;
    expect(Array.from(dilate(m, 4, 1, 'cross')).flatMap((v, j) => (v ? [j] : []))).to.deep.equal([1, 4, 5, 6, 9]);
    expect(Array.from(dilate(m, 4, 2, 'cross')).reduce((a, b) => a + b, 0)).to.equal(11); // Manhattan distance ≤ 2 on the grid
  });
  it('splitTwoMeans separates two feature clusters of one component', () => {
    const E = 2;
    const feats = new Float32Array(16 * E);
    const patches = [0, 1, 2, 3];
    [
      [1, 0],
      [1, 0],
      [0, 1],
      [0, 1],
    ].forEach((v, k) => feats.set(v, patches[k] * E));
    const parts = splitTwoMeans(patches, feats, E, 4);
    expect(parts.map((p) => p.slice().sort())).to.have.deep.members([
      [0, 1],
      [2, 3],
    ]);
  });
  it('findRegions finds two distinct objects on a uniform background', () => {
    const P = 64,
      E = 3,
      g = 8;
    const f = new Float32Array(P * E);
    for (let j = 0; j < P; j++) f.set([1, 0, 0], j * E);
    for (const j of [9, 10, 17, 18]) f.set([0, 1, 0], j * E); // object A (rows 1–2, cols 1–2)
    for (const j of [45, 46, 53, 54]) f.set([0, 0, 1], j * E); // object B (rows 5–6, cols 5–6)
    const r = findRegions(f, P, E, 2, 0);
    expect(r.masks).to.have.length(2);
    const sets = r.masks.map((m) => Array.from(m).flatMap((v, j) => (v ? [j] : [])));
    expect(sets).to.have.deep.members([
      [9, 10, 17, 18],
      [45, 46, 53, 54],
    ]);
    expect(findRegions(f, P, E, 2, 1).masks[0].reduce((a, b) => a + b, 0)).to.equal(16);
    void g;
  });
  it('maskImage keeps the region and paints the rest with the median background pixel', () => {
    const R = 4,
      grid = 2;
    const px = Float32Array.from({ length: 3 * R * R }, (_, i) => i);
    const mask = Uint8Array.from([1, 0, 0, 0]);
    const fg = Uint8Array.from([1, 0, 0, 0]);
    const out = maskImage(px, R, grid, mask, fg);
    expect(out[0]).to.equal(0); // kept (patch 0, top-left)
    // background of channel 0: patches 1..3 = {2,3,6,7,8..15}, median (9+10)/2
    expect(out[2]).to.equal(9.5);
  });
  it('assignRegions joint = brute force over injective maps; indep = per-group best; greedy on large K', () => {
    const r = rng(3);
    for (let trial = 0; trial < 200; trial++) {
      const K = 1 + Math.floor(r() * 3),
        Rmax = 3,
        count = 1 + Math.floor(r() * 3);
      const sims = Float32Array.from({ length: K * Rmax }, () => r());
      const a = assignRegions(sims, 0, K, Rmax, count, 'joint', 4096)!;
      // brute force
      let best = -Infinity;
      const need = Math.min(K, count);
      const rec = (k: number, used: number[], sum: number) => {
        if (k === K) {
          if (new Set(used).size === need && sum > best) best = sum;
          return;
        }
        for (let x = 0; x < count; x++) rec(k + 1, [...used, x], sum + sims[k * Rmax + x]);
      };
      rec(0, [], 0);
      expect(a.mean).to.be.closeTo(best / K, 1e-6);
      expect(new Set(a.regions).size).to.equal(need);
      const ind = assignRegions(sims, 0, K, Rmax, count, 'indep', 4096)!;
      for (let k = 0; k < K; k++) {
        for (let x = 0; x < count; x++) expect(sims[k * Rmax + ind.regions[k]]).to.be.at.least(sims[k * Rmax + x]);
      }
      const gr = assignRegions(sims, 0, K, Rmax, count, 'joint', 1)!;
      expect(new Set(gr.regions).size).to.equal(need);
      expect(gr.mean).to.be.at.most(a.mean + 1e-9);
    }
    expect(assignRegions(new Float32Array(4), 0, 2, 2, 0, 'joint', 10)).to.equal(null);
  });
  /** Patch features of an 8×8 grid: background [1,0,0,0] everywhere, then each object's patches set to its unit vector. */
  const scene = (objects: [number[], number[]][]) => {
    const P = 64,
      E = 4;
    const f = new Float32Array(P * E);
    for (let j = 0; j < P; j++) f.set([1, 0, 0, 0], j * E);
    for (const [v, patches] of objects) for (const j of patches) f.set(v, j * E);
    return { f, P, E };
  };
  const patchSets = (masks: Uint8Array[]) => masks.map((m) => Array.from(m).flatMap((v, j) => (v ? [j] : [])));
  const block = (r0: number, c0: number, h: number, w: number) => {
    const out: number[] = [];
    for (let r = r0; r < r0 + h; r++) for (let c = c0; c < c0 + w; c++) out.push(r * 8 + c);
    return out;
  };

  it('borderPatches: the 28 patches of the ring of an 8×8 grid', () => {
    const b = borderPatches(8);
    expect(b).to.have.length(28);
    expect(b.every((j) => [0, 7].includes(Math.floor(j / 8)) || [0, 7].includes(j % 8))).to.equal(true);
  });
  it('background border: an object covering most of the image is found (median: the object becomes background)', () => {
    const obj = block(1, 1, 6, 6); // 36 of 64 patches
    const { f, P, E } = scene([[[0, 1, 0, 0], obj]]);
    const border = findRegions(f, P, E, 4, 0, { background: 'border', split: 'all' });
    expect(patchSets(border.masks)).to.deep.equal([obj]);
    const median = findRegions(f, P, E, 4, 0, { background: 'median' });
    // The majority is the object, so the median finder takes the 28-patch ring as the foreground.
    expect(Array.from(median.foreground).reduce((a, b) => a + b, 0)).to.equal(28);
  });
  it('maxRegions 4: four separate objects give four regions (the count is what is found, at most maxRegions)', () => {
    const objs: [number[], number[]][] = [
      [[0, 1, 0, 0], block(0, 0, 2, 2)],
      [[0, 0, 1, 0], block(0, 5, 2, 2)],
      [[0, 0, 0, 1], block(5, 0, 2, 2)],
      [[0, 1, 1, 0], block(5, 5, 3, 3)],
    ];
    const { f, P, E } = scene(objs);
    const r4 = findRegions(f, P, E, 4, 0, { split: 'all' });
    expect(patchSets(r4.masks)).to.have.deep.members(objs.map(([, p]) => p));
    expect(patchSets(r4.masks)[0]).to.deep.equal(block(5, 5, 3, 3)); // largest first
    expect(findRegions(f, P, E, 2, 0).masks).to.have.length(2);
    expect(findRegions(f, P, E, 6, 0, { split: 'all' }).masks).to.have.length(4); // no object is split: each is uniform
  });
  it('split all: touching objects of different features are split, a uniform object is not', () => {
    // Three objects side by side in one 8-connected component (rows 2–4, cols 0–1 | 2–3 | 4–5).
    const objs: [number[], number[]][] = [
      [[0, 1, 0, 0], block(2, 0, 3, 2)],
      [[0, 0, 1, 0], block(2, 2, 3, 2)],
      [[0, 0, 0, 1], block(2, 4, 3, 2)],
    ];
    const { f, P, E } = scene(objs);
    expect(
      components(
        Uint8Array.from({ length: P }, (_, j) => (objs.some(([, p]) => p.includes(j)) ? 1 : 0)),
        8,
      ),
    ).to.have.length(1);
    expect(patchSets(findRegions(f, P, E, 4, 0, { split: 'all' }).masks)).to.have.deep.members(objs.map(([, p]) => p));
    expect(findRegions(f, P, E, 4, 0, { split: 'one' }).masks).to.have.length(2); // the first finder: one 2-means split
    const one = scene([[[0, 1, 0, 0], block(2, 0, 3, 6)]]);
    expect(patchSets(findRegions(one.f, one.P, one.E, 4, 0, { split: 'all' }).masks)).to.deep.equal([block(2, 0, 3, 6)]);
  });
  it('minSize drops components smaller than the fraction of the image (unless none is left)', () => {
    const { f, P, E } = scene([
      [[0, 1, 0, 0], block(1, 1, 3, 3)],
      [[0, 0, 1, 0], [63]],
    ]);
    expect(patchSets(findRegions(f, P, E, 4, 0, { split: 'all' }).masks)).to.deep.equal([block(1, 1, 3, 3), [63]]);
    expect(patchSets(findRegions(f, P, E, 4, 0, { minSize: 2 / 64, split: 'all' }).masks)).to.deep.equal([block(1, 1, 3, 3)]);
    const lone = scene([[[0, 0, 1, 0], [63]]]);
    expect(patchSets(findRegions(lone.f, lone.P, lone.E, 4, 0, { minSize: 0.5, split: 'all' }).masks)).to.deep.equal([[63]]);
  });
  it('regionPairTerm assign by both = the joint map maximising p·r + o·r (brute force), terms p·r on it', () => {
    const r = rng(5);
    for (let trial = 0; trial < 100; trial++) {
      const K = 1 + Math.floor(r() * 3),
        Rmax = 4,
        count = 1 + Math.floor(r() * 4);
      const bp = Float32Array.from({ length: K * Rmax }, () => r()),
        bo = Float32Array.from({ length: K * Rmax }, () => r());
      const v = regionPairTerm(bp, bo, () => true, K, Rmax, count, {
        regionAssign: 'joint',
        regionAssignBy: 'both',
        regionTerm: 'phrase-all',
        regionMaxMaps: 4096,
      })!;
      let best = -Infinity,
        bestMap: number[] = [];
      const need = Math.min(K, count);
      const rec = (k: number, used: number[], sum: number) => {
        if (k === K) {
          if (new Set(used).size === need && sum > best) {
            best = sum;
            bestMap = used;
          }
          return;
        }
        for (let x = 0; x < count; x++) rec(k + 1, [...used, x], sum + bp[k * Rmax + x] + bo[k * Rmax + x]);
      };
      rec(0, [], 0);
      const sumOf = (m: number[]) => m.reduce((a, x, k) => a + bp[k * Rmax + x] + bo[k * Rmax + x], 0);
      expect(sumOf(v.regions)).to.be.closeTo(best, 1e-5);
      expect(v.mean).to.be.closeTo(v.regions.reduce((a, x, k) => a + bp[k * Rmax + x], 0) / K, 1e-6);
      void bestMap;
    }
  });
  it('assign by both: a phrase does not take the region of another object that merely has its colour', () => {
    // "red star" (group 0) and "circle" (group 1); region 0 = a blue star, region 1 = a red circle.
    // p·r: red star fits the red circle best (colour); o·r: the star object fits region 0 far better.
    const bp = Float32Array.from([0.2, 0.35, 0.15, 0.25]),
      bo = Float32Array.from([0.4, 0.05, 0.05, 0.35]);
    const o = { regionAssign: 'joint', regionTerm: 'phrase-all', regionMaxMaps: 4096 } as const;
    expect(regionPairTerm(bp, bo, (k) => k === 0, 2, 2, 2, { ...o, regionAssignBy: 'phrase' })!.regions).to.deep.equal([1, 0]);
    const both = regionPairTerm(bp, bo, (k) => k === 0, 2, 2, 2, { ...o, regionAssignBy: 'both' })!;
    expect(both.regions).to.deep.equal([0, 1]);
    expect(both.mean).to.be.closeTo((0.2 + 0.25) / 2, 1e-6);
  });
});
