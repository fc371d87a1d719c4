import { expect } from 'chai';
import { assignRegions, components, dilate, findRegions, maskImage, otsuThreshold, splitTwoMeans } from '../../src/abe/regions';
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
    expect(components(m, 4)).to.deep.equal([[3, 7, 11], [0, 5]]);
  });
  it('dilate grows by the 8-neighbourhood', () => {
    const m = new Uint8Array(16); m[5] = 1;
    expect(Array.from(dilate(m, 4, 1)).reduce((a, b) => a + b, 0)).to.equal(9);
    expect(Array.from(dilate(m, 4, 0))).to.deep.equal(Array.from(m));
  });
  it('splitTwoMeans separates two feature clusters of one component', () => {
    const E = 2;
    const feats = new Float32Array(16 * E);
    const patches = [0, 1, 2, 3];
    [[1, 0], [1, 0], [0, 1], [0, 1]].forEach((v, k) => feats.set(v, patches[k] * E));
    const parts = splitTwoMeans(patches, feats, E, 4);
    expect(parts.map((p) => p.slice().sort())).to.have.deep.members([[0, 1], [2, 3]]);
  });
  it('findRegions finds two distinct objects on a uniform background', () => {
    const P = 64, E = 3, g = 8;
    const f = new Float32Array(P * E);
    for (let j = 0; j < P; j++) f.set([1, 0, 0], j * E);
    for (const j of [9, 10, 17, 18]) f.set([0, 1, 0], j * E); // object A (rows 1–2, cols 1–2)
    for (const j of [45, 46, 53, 54]) f.set([0, 0, 1], j * E); // object B (rows 5–6, cols 5–6)
    const r = findRegions(f, P, E, 2, 0);
    expect(r.masks).to.have.length(2);
    const sets = r.masks.map((m) => Array.from(m).flatMap((v, j) => (v ? [j] : [])));
    expect(sets).to.have.deep.members([[9, 10, 17, 18], [45, 46, 53, 54]]);
    expect(findRegions(f, P, E, 2, 1).masks[0].reduce((a, b) => a + b, 0)).to.equal(16);
    void g;
  });
  it('maskImage keeps the region and paints the rest with the median background pixel', () => {
    const R = 4, grid = 2;
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
      const K = 1 + Math.floor(r() * 3), Rmax = 3, count = 1 + Math.floor(r() * 3);
      const sims = Float32Array.from({ length: K * Rmax }, () => r());
      const a = assignRegions(sims, 0, K, Rmax, count, 'joint', 4096)!;
      // brute force
      let best = -Infinity;
      const need = Math.min(K, count);
      const rec = (k: number, used: number[], sum: number) => {
        if (k === K) { if (new Set(used).size === need && sum > best) best = sum; return; }
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
});
