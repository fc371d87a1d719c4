import { expect } from 'chai';
import { measure, median, summarize } from '../../src/bench/stats';

describe('bench/stats', () => {
  it('median of odd and even counts; summarize spread = (max − min) / median', () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    const s = summarize([10, 20, 30]);
    expect(s).to.include({ medianMs: 20, minMs: 10, maxMs: 30, spread: 1, repeats: 3 });
  });
  it('measure runs warm-up + repeats calls and stops early on a budget', async () => {
    let calls = 0;
    const t = await measure(
      () => {
        calls++;
      },
      { warmup: 2, repeats: 4 },
    );
    expect(calls).to.equal(6);
    expect(t.repeats).to.equal(4);
    calls = 0;
    const b = await measure(() => new Promise((r) => setTimeout(r, 5)), { warmup: 0, repeats: 50, budgetMs: 1, minRepeats: 2 });
    expect(b.repeats).to.equal(2);
  });
});
