import { expect } from 'chai';
import { aroMacroAccuracy, winogroundScores } from '../../src/eval/metrics';
import type { RunResult } from '../../src/eval/runner';

const item = (id: string, meta: Record<string, unknown>) => ({
  id,
  kind: 'k',
  split: 'all',
  image: id,
  positive: 'p',
  negative: 'n',
  meta,
});

describe('eval/metrics: data-set headline metrics', () => {
  it('Winoground text / image / group scores from the two items of each example', () => {
    // Example 0: S(c0,i0)=3, S(c1,i0)=1, S(c1,i1)=2, S(c0,i1)=0 → text ✓, image ✓ (3>0, 2>1).
    // Example 1: S(c0,i0)=3, S(c1,i0)=1, S(c1,i1)=2, S(c0,i1)=4 → text ✗ (2<4), image ✗ (3<4).
    // Example 2: S(c0,i0)=1, S(c1,i0)=2, S(c1,i1)=5, S(c0,i1)=0 → text ✗ (1<2), image ✓ (1>0, 5>2).
    const s = (i0: [number, number], i1: [number, number]) => [i0, i1];
    const ex = [s([3, 1], [2, 0]), s([3, 1], [2, 4]), s([1, 2], [5, 0])];
    const run: RunResult = {
      configs: ['clip'],
      missing: [],
      failed: [],
      seconds: 0,
      scored: ex.flatMap(([a, b], k) => [
        { item: item(`${k}-i0`, { example: k, which: 0 }), scores: { clip: a } },
        { item: item(`${k}-i1`, { example: k, which: 1 }), scores: { clip: b } },
      ]),
    };
    expect(winogroundScores(run)).to.deep.equal({ clip: { examples: 3, text: 1 / 3, image: 2 / 3, group: 1 / 3 } });
  });
  it('ARO macro accuracy: mean of per-attribute-pair accuracies', () => {
    const run: RunResult = {
      configs: ['clip'],
      missing: [],
      failed: [],
      seconds: 0,
      scored: [
        { item: item('a', { attributes: ['red', 'blue'] }), scores: { clip: [1, 0] } },
        { item: item('b', { attributes: ['red', 'blue'] }), scores: { clip: [0, 1] } },
        { item: item('c', { attributes: ['big', 'small'] }), scores: { clip: [1, 0] } },
      ],
    };
    expect(aroMacroAccuracy(run)).to.deep.equal({ clip: { pairs: 2, macro: 0.75 } });
  });
});
