import { expect } from 'chai';
import { OptionsError } from '../../src/errors';
import { DEFAULT_OPTIONS, hiddenIndex, NAMED_CONFIGS, resolveOptions } from '../../src/abe/options';

describe('abe/options', () => {
  it('defaults resolve and validate', () => {
    expect(resolveOptions()).to.deep.equal(DEFAULT_OPTIONS);
  });
  it('named configurations resolve: clip has no local term, abe has no regions, abe+regions re-encodes regions (ungated phrase term), v1 keeps the old switches', () => {
    for (const name of Object.keys(NAMED_CONFIGS)) expect(() => resolveOptions(name)).not.to.throw();
    expect(resolveOptions('clip').fuse).to.equal('none');
    expect(resolveOptions('clip').regionFeatures).to.equal('none');
    expect(resolveOptions('abe+regions').regionFeatures).to.not.equal('none');
    expect(resolveOptions('abe+regions').regionTerm).to.equal('phrase-all');
    expect(resolveOptions('abe+regions-v1')).to.include({
      regionFeatures: 'crop',
      regionTerm: 'phrase',
      regionAssignBy: 'phrase',
      lambda: 0.5,
      fuse: 'binding-difference',
    });
    // v1 keeps the first finder (median background, one split, no size threshold): its region keys and scores are unchanged.
    expect(resolveOptions('abe+regions-v1')).to.include({
      regionBackground: 'median',
      regionSplit: 'one',
      regionMinSize: 0,
      maxRegions: 2,
    });
    expect(resolveOptions('abe').regionFeatures).to.equal('none');
  });
  it('unknown keys, unknown names, wrong types and out-of-range values throw OptionsError naming the key', () => {
    const bad: unknown[] = [
      { topk: 1 },
      { topK: 0 },
      { topK: 1.5 },
      { lambda: NaN },
      { refine: 'contextualised' },
      { fuse: 'max' },
      { template: 'no placeholder' },
      { template: '{} and {}' },
      { gamma: -1 },
      { maxRegions: 0 },
      { scoreChunk: 0 },
      { fuse: 'convex', lambda: 1.5 },
      'abe++',
      [1, 2],
      { regionBackground: 'mode' },
      { regionSplit: 'some' },
      { regionAssignBy: 'shape' },
      { regionMinSize: 1.5 },
      { regionMinSize: -0.1 },
      { regionStart: 1 },
      { regionStart: -0.5 },
      { regionStart: 'half' },
      { regionRing: 'diamond' },
    ];
    for (const b of bad) {
      expect(() => resolveOptions(b as never), JSON.stringify(b)).to.throw(OptionsError);
    }
    expect(() => resolveOptions({ topk: 1 } as never)).to.throw(/topk/);
  });
  it('overrides merge onto a base', () => {
    const o = resolveOptions({ topK: 3 }, resolveOptions({ lambda: 2 }));
    expect(o.topK).to.equal(3);
    expect(o.lambda).to.equal(2);
  });
  it('hiddenIndex: negative counts from the end, out of range throws', () => {
    expect(hiddenIndex(-1, 12, 'patchLayer')).to.equal(12);
    expect(hiddenIndex(-2, 2, 'refineLayer')).to.equal(1);
    expect(hiddenIndex(0, 2, 'x')).to.equal(0);
    expect(() => hiddenIndex(3, 2, 'x')).to.throw(OptionsError);
    expect(() => hiddenIndex(-4, 2, 'x')).to.throw(OptionsError);
  });
});
