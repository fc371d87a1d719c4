/**
 * Issue 15: in `eval`, a caption over maxCaptionChars skips its item (recorded under `failed`) instead of
 * stopping the run, and a NaN/Inf score stops the run with a NumericalError naming the item — it is never
 * counted as a wrong answer. The fake scorer's scores are caption lengths, known in advance.
 */
import { expect } from 'chai';
import { DatasetError, NumericalError } from '../../src/errors';
import { loadToy } from '../../src/eval/datasets/toy';
import { ChunkScorer, runPairs } from '../../src/eval/runner';
import type { PairDataset } from '../../src/eval/types';
import { getLimits } from '../../src/limits';
import { fixturePath } from '../helpers/paths';

const quiet = { write: () => true, isTTY: false };

function scorer(score: (caption: string) => number): ChunkScorer {
  return {
    configs: ['clip'],
    async score(_images, captions) {
      return { scores: { clip: captions.map((cs) => cs.map(score)) }, failed: new Map() };
    },
  };
}

describe('eval/runner: oversized captions and non-finite scores', () => {
  const ds = loadToy(fixturePath('datasets', 'toy-items.jsonl'));

  it('a 10 MB caption skips only its item (listed with the reason); the others are scored; --strict refuses it', async () => {
    const huge = 'a red cube '.repeat(1_000_000);
    expect(huge.length).to.be.greaterThan(getLimits().maxCaptionChars);
    const bad: PairDataset = { ...ds, items: ds.items.map((it, k) => (k === 4 ? { ...it, negative: huge } : it)) };
    const r = await runPairs(
      bad,
      scorer((c) => c.length),
      { progress: quiet },
    );
    expect(r.scored).to.have.length(ds.items.length - 1);
    expect(r.scored.map((s) => s.item.id)).to.not.include(ds.items[4].id);
    expect(r.failed).to.have.length(1);
    expect(r.failed[0].file).to.contain(`(item ${ds.items[4].id})`);
    expect(r.failed[0].error).to.match(/caption of 11000000 characters exceeds maxCaptionChars=1000000; item skipped/);
    let err: unknown;
    try {
      await runPairs(
        bad,
        scorer((c) => c.length),
        { strict: true, progress: quiet },
      );
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(DatasetError);
  });

  it('a NaN score → NumericalError naming the item and config (not a wrong answer)', async () => {
    const target = ds.items[2];
    let err: unknown;
    try {
      await runPairs(
        ds,
        scorer((c) => (c === target.negative ? NaN : c.length)),
        { progress: quiet },
      );
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(NumericalError);
    expect((err as Error).message).to.match(new RegExp(`item ${target.id}.*config 'clip' scored .*NaN: not finite`));
  });
});
