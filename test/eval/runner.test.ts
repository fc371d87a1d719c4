import { expect } from 'chai';
import { DatasetError } from '../../src/errors';
import { loadToy } from '../../src/eval/datasets/toy';
import { ChunkScorer, ImageRef, runPairs } from '../../src/eval/runner';
import type { PairDataset } from '../../src/eval/types';
import { fixturePath } from '../helpers/paths';

/** Scores = caption length (clip) and its negation (abe), so which caption wins is known in advance. */
function fakeScorer(opts: { failKey?: string } = {}): ChunkScorer & { calls: ImageRef[][] } {
  const calls: ImageRef[][] = [];
  return {
    configs: ['clip', 'abe'],
    calls,
    async score(images, captions) {
      calls.push(images);
      const failed = new Map<string, string>();
      if (opts.failKey) for (const im of images) if (im.key.includes(opts.failKey)) failed.set(im.key, 'broken');
      return {
        scores: {
          clip: captions.map((cs) => cs.map((c) => c.length)),
          abe: captions.map((cs) => cs.map((c) => -c.length)),
        },
        failed,
      };
    },
  };
}

const quiet = { write: () => true, isTTY: false };

describe('eval/runner runPairs (fake scorer)', () => {
  const ds = loadToy(fixturePath('datasets', 'toy-items.jsonl'));

  it('encodes each image once, returns every item in dataset order with [pos, neg] per config', async () => {
    const s = fakeScorer();
    const r = await runPairs(ds, s, { chunk: 3, progress: quiet });
    expect(s.calls.flat().map((x) => x.path.slice(-8))).to.deep.equal(['0000.png', '0001.png', '0002.png', '0003.png']);
    expect(s.calls.map((c) => c.length)).to.deep.equal([3, 1]);
    expect(r.scored.map((x) => x.item.id)).to.deep.equal(ds.items.map((i) => i.id));
    const first = r.scored[0];
    expect(first.scores.clip).to.deep.equal([first.item.positive.length, first.item.negative.length]);
    expect(first.scores.abe).to.deep.equal([-first.item.positive.length, -first.item.negative.length]);
    expect(r.missing).to.deep.equal([]);
  });

  it('missing image files are listed with their item counts and the rest is scored; --strict makes it an error', async () => {
    const broken: PairDataset = {
      ...ds,
      items: ds.items.map((it) => (it.image.endsWith('0002.png') ? { ...it, image: '/nonexistent/x.png' } : it)),
    };
    const r = await runPairs(broken, fakeScorer(), { progress: quiet });
    expect(r.missing).to.deep.equal([{ file: '/nonexistent/x.png', items: 3 }]);
    expect(r.scored).to.have.length(9);
    let err: unknown;
    try {
      await runPairs(broken, fakeScorer(), { strict: true, progress: quiet });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(DatasetError);
    expect((err as Error).message).to.match(/1 image file\(s\) missing \(--strict\), first: \/nonexistent\/x\.png/);
  });

  it('undecodable images are listed, their items skipped', async () => {
    const r = await runPairs(ds, fakeScorer({ failKey: '0001' }), { progress: quiet });
    expect(r.failed).to.have.length(1);
    expect(r.failed[0]).to.deep.include({ error: 'broken', items: 3 });
    expect(r.scored).to.have.length(9);
  });

  it('crops make distinct image keys', async () => {
    const s = fakeScorer();
    const two: PairDataset = {
      ...ds,
      items: [ds.items[0], { ...ds.items[1], image: ds.items[0].image, crop: { x: 0, y: 0, w: 8, h: 8 } }],
    };
    await runPairs(two, s, { progress: quiet });
    expect(s.calls[0]).to.have.length(2);
    expect(s.calls[0][1].crop).to.deep.equal({ x: 0, y: 0, w: 8, h: 8 });
  });

  it('writes plain progress lines when not on a TTY', async () => {
    const lines: string[] = [];
    await runPairs(ds, fakeScorer(), { chunk: 1, progress: { isTTY: false, write: (s: string) => lines.push(s) }, label: 'toy' });
    expect(lines.every((l) => l.endsWith('\n') && !l.includes('\r'))).to.equal(true);
    expect(lines[lines.length - 1]).to.match(/^toy: 100%  12\/12 items .* in \d+:\d\d\n$/);
  });

  it('a concurrent scorer (concurrency 3, chunks finishing out of order) keeps at most 3 calls in flight, gives the same items, scores, order and failure list as one at a time', async () => {
    const serial = await runPairs(ds, fakeScorer({ failKey: '0002' }), { chunk: 1, progress: quiet });
    const base = fakeScorer({ failKey: '0002' });
    let inFlight = 0,
      most = 0,
      call = 0;
    const delays = [30, 5, 15, 1];
    const concurrent: ChunkScorer = {
      configs: base.configs,
      concurrency: 3,
      async score(images, captions) {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, delays[call++ % delays.length]));
        inFlight--;
        return base.score(images, captions);
      },
    };
    const r = await runPairs(ds, concurrent, { chunk: 1, progress: quiet });
    expect(most).to.equal(3);
    expect(r.scored).to.deep.equal(serial.scored);
    expect(r.failed).to.deep.equal(serial.failed);
    expect(r.failed).to.have.length(1);
  });

  it('with a concurrent scorer and no chunk given, chunks are small enough for ≥ 4 per lane (4 images on 2 lanes: one chunk, at the minimum of 4)', async () => {
    const s = Object.assign(fakeScorer(), { concurrency: 2 });
    await runPairs(ds, s, { progress: quiet });
    expect(s.calls.map((c) => c.length)).to.deep.equal([4]);
  });
});
