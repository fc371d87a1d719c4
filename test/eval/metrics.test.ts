import { expect } from 'chai';
import { accuracy, mcnemarExact, recallAtK, trivialKs, splitHalf } from '../../src/eval/metrics';

describe('eval/metrics', () => {
  it('accuracy counts strictly correct items; NaN for no items', () => {
    expect(accuracy([true, false, true, true])).to.equal(0.75);
    expect(accuracy([])).to.be.NaN;
  });

  describe('McNemar exact test (two-sided binomial on discordant pairs), exact to 1e-12', () => {
    const make = (onlyA: number, onlyB: number, both = 3): [boolean[], boolean[]] => {
      const a: boolean[] = [],
        b: boolean[] = [];
      for (let i = 0; i < onlyA; i++) {
        a.push(true);
        b.push(false);
      }
      for (let i = 0; i < onlyB; i++) {
        a.push(false);
        b.push(true);
      }
      for (let i = 0; i < both; i++) {
        a.push(true);
        b.push(true);
        a.push(false);
        b.push(false);
      }
      return [a, b];
    };
    it('b=0, c=5 → p = 2/2^5 = 0.0625', () => {
      const r = mcnemarExact(...make(0, 5));
      expect(r).to.include({ onlyA: 0, onlyB: 5 });
      expect(r.p).to.be.closeTo(0.0625, 1e-12);
    });
    it('b=1, c=9 → p = 2·11/1024', () => {
      expect(mcnemarExact(...make(1, 9)).p).to.be.closeTo(22 / 1024, 1e-12);
    });
    it('b=c → p = 1 (capped); no discordant items → p = 1', () => {
      expect(mcnemarExact(...make(4, 4)).p).to.equal(1);
      expect(mcnemarExact(...make(0, 0)).p).to.equal(1);
    });
    it('large n stays finite: b=400, c=500 → p ≈ 9.5e-4 (normal approx. 9.4e-4 with continuity correction)', () => {
      const p = mcnemarExact(...make(400, 500)).p;
      expect(p).to.be.greaterThan(5e-4).and.lessThan(1.5e-3);
    });
    it('rejects unequal lengths', () => {
      expect(() => mcnemarExact([true], [true, false])).to.throw(RangeError);
    });
  });

  it('splitHalf: a gain present on every image agrees in every halving; no gain → agreement 0', () => {
    const n = 40;
    const groups = Array.from({ length: n }, (_, i) => `img${Math.floor(i / 2)}`);
    const a = Array.from({ length: n }, (_, i) => i % 2 === 0); // half right
    const b = Array.from({ length: n }, () => true); // all right
    const r = splitHalf(a, b, groups, { halvings: 50, seed: 3 });
    expect(r.halvings).to.equal(50);
    expect(r.agreement).to.equal(1);
    expect(r.meanGain).to.be.closeTo(0.5, 1e-12);
    expect(splitHalf(a, a, groups, { halvings: 10 }).agreement).to.equal(0);
    expect(r.fullGain).to.be.closeTo(0.5, 1e-12);
    expect(splitHalf(a, a, groups, { halvings: 10 }).fullGain).to.equal(0);
  });

  describe('Recall@K both ways', () => {
    // 3 images; captions 0,1 → image 0, caption 2 → image 1, caption 3 → image 2.
    const cap = [0, 0, 1, 2];
    const sim = [
      0.9,
      0.1,
      0.5,
      0.2, // image 0: its caption 0 is top-1
      0.8,
      0.1,
      0.3,
      0.2, // image 1: caption 0 beats its caption 2 → rank 1 (0-based)
      0.1,
      0.2,
      0.3,
      0.4, // image 2: caption 3 top-1
    ];
    it("image→text uses the best-ranked of the image's captions", () => {
      const r = recallAtK(sim, 3, cap, [1, 2]);
      expect(r.imageToText).to.deep.equal({ 'R@1': 2 / 3, 'R@2': 1 });
    });
    it("text→image ranks the caption's image among all images", () => {
      const r = recallAtK(sim, 3, cap, [1, 2, 3]);
      // caption 0: image 0 top (rank 0); caption 1: column [0.1, 0.1, 0.2] → tied with image 1 and below image 2
      // (rank 2, ties count against); caption 2: column [0.5, 0.3, 0.3] → rank 2; caption 3: rank 0.
      expect(r.textToImage).to.deep.equal({ 'R@1': 2 / 4, 'R@2': 2 / 4, 'R@3': 1 });
    });
    it('per-query ranks (0-based best true match) as worked out above: i→t [0, 1, 0], t→i [0, 2, 2, 0]', () => {
      const r = recallAtK(sim, 3, cap, [1]);
      expect(r.ranks).to.deep.equal({ imageToText: [0, 1, 0], textToImage: [0, 2, 2, 0] });
    });
    it("trivialKs: t→i when K ≥ images; i→t when K exceeds every image's count of other captions", () => {
      // 3 images, 4 captions: other captions per image 2, 3, 3 → i→t rank < 4 always; t→i rank ≤ 2 < 3.
      expect(trivialKs(3, cap, [1, 2, 3, 4, 5])).to.deep.equal({ imageToText: [4, 5], textToImage: [3, 4, 5] });
      expect(
        trivialKs(
          100,
          Array.from({ length: 500 }, (_, i) => i % 100),
        ),
      ).to.deep.equal({ imageToText: [], textToImage: [] });
    });
    it('rejects a matrix of the wrong size', () => {
      expect(() => recallAtK([1, 2, 3], 3, cap)).to.throw(RangeError);
    });
  });
});
