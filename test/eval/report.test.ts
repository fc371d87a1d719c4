import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { UsageError } from '../../src/errors';
import { captionReport } from '../../src/eval/captions';
import {
  formatTable,
  imageProblemsJson,
  imageProblemsMarkdown,
  prepareOutDir,
  reportJson,
  reportMarkdown,
  splitHalfLine,
  summarise,
  toCsv,
  toMarkdownTable,
} from '../../src/eval/report';
import type { RunResult } from '../../src/eval/runner';
import type { PairDataset, PairItem } from '../../src/eval/types';

function item(id: string, kind: string, split: string, image = `${id}.png`): PairItem {
  return { id, kind, split, image, positive: 'p', negative: 'n' };
}

// Four items in two cells; clip right on 2 of them, abe on 3 (one discordant pair in abe's favour).
const items = [item('a', 'swap', 'seen'), item('b', 'swap', 'seen'), item('c', 'swap', 'unseen'), item('d', 'repl', 'unseen')];
const run: RunResult = {
  configs: ['clip', 'abe'],
  scored: [
    { item: items[0], scores: { clip: [2, 1], abe: [2, 1] } },
    { item: items[1], scores: { clip: [1, 2], abe: [3, 2] } },
    { item: items[2], scores: { clip: [1, 1], abe: [1, 1] } }, // a tie is wrong (strictly greater needed)
    { item: items[3], scores: { clip: [5, 0], abe: [5, 0] } },
  ],
  missing: [{ file: '/x/missing.png', items: 2 }],
  failed: [],
  seconds: 1.5,
};
const ds: PairDataset = { name: 'pairs', source: 'pairs.jsonl', items };

describe('eval/report', () => {
  const sum = summarise(run, { halvings: 20 });

  it('cells per (kind, split), per kind, per split and overall, with counts; ties count as wrong', () => {
    const byName = new Map(sum.cells.map((c) => [`${c.kind}/${c.split}`, c]));
    expect([...byName.keys()]).to.deep.equal([
      'swap/seen',
      'swap/unseen',
      'swap/all',
      'repl/unseen',
      'repl/all',
      'all/seen',
      'all/unseen',
      'all/all',
    ]);
    expect(byName.get('swap/seen')).to.deep.include({ n: 2, correct: { clip: 1, abe: 2 }, accuracy: { clip: 0.5, abe: 1 } });
    expect(byName.get('swap/unseen')!.correct).to.deep.equal({ clip: 0, abe: 0 });
    expect(byName.get('all/all')).to.deep.include({ n: 4, correct: { clip: 2, abe: 3 } });
    expect(byName.get('all/all')!.vsBaseline.abe).to.deep.equal({ onlyA: 1, onlyB: 0, p: 1 });
    expect(sum.baseline).to.equal('clip');
  });

  it('text, markdown and CSV tables carry every config side by side', () => {
    const t = formatTable(sum).split('\n');
    expect(t[0]).to.match(/^kind\s+split\s+n\s+clip\s+abe\s+p\(abe\)$/);
    expect(t.find((l) => /^swap\s+seen/.test(l))).to.match(/0\.500 \(1\)\s+1\.000 \(2\)/);
    const md = toMarkdownTable(sum).split('\n');
    expect(md[0]).to.equal('| kind | split | n | clip | abe | p(abe) |');
    expect(md[1]).to.equal('| --- | --- | ---: | ---: | ---: | ---: |');
    const csv = toCsv(sum).trim().split('\n');
    expect(csv[0]).to.equal('kind,split,n,clip_accuracy,clip_correct,abe_accuracy,abe_correct,abe_vs_clip_p');
    expect(csv[1]).to.equal('swap,seen,2,0.5,1,1,2,1');
  });

  it('report.json holds every item as {id, kind, split, image, positive, negative, clip: [pos, neg], abe: [pos, neg]} and the missing files', () => {
    const j = reportJson(run, sum, { command: 'eval', dataset: ds, model: 'm', backend: 'cpu', options: {} });
    expect((j.items as unknown[])[1]).to.deep.equal({
      id: 'b',
      kind: 'swap',
      split: 'seen',
      image: 'b.png',
      positive: 'p',
      negative: 'n',
      clip: [1, 2],
      abe: [3, 2],
    });
    expect(Object.keys((j.items as object[])[1])).to.deep.equal(['id', 'kind', 'split', 'image', 'positive', 'negative', 'clip', 'abe']);
    expect(j).to.not.have.property('captionCheck');
    expect(j.missingImages).to.deep.equal({ count: 1, items: 2, files: ['/x/missing.png'] });
    expect(j.cells).to.have.length(8);
  });

  it('markdown report names the missing images and embeds the figures', () => {
    const md = reportMarkdown(run, sum, { command: 'eval', dataset: ds, model: 'm', backend: 'cpu', options: {} }, ['accuracy.png']);
    expect(md).to.contain('1 image file(s) missing').and.contain('`/x/missing.png`').and.contain('![accuracy](accuracy.png)');
  });

  it('the caption check (2 of 3 distinct captions: one over 8 tokens, one punctuation only) is in report.json and report.md', () => {
    const captions = captionReport(['p', 'one two three four five six seven eight nine', '?!', 'p'], 8);
    expect(captions.checked).to.equal(3);
    const ctx = { command: 'eval', dataset: ds, model: 'm', backend: 'cpu', options: {}, captions };
    const j = reportJson(run, sum, ctx);
    // 9 words of one token each + SOT + EOT = 11 tokens.
    expect(j.captionCheck).to.deep.equal({
      contextLength: 8,
      checked: 3,
      truncated: 1,
      empty: 1,
      truncatedCaptions: [{ caption: 'one two three four five six seven eight nine', tokens: 11 }],
      emptyCaptions: ['?!'],
    });
    expect(reportMarkdown(run, sum, ctx)).to.contain("**Captions:** 1 of 3 truncated to the model's 8-token context; 1 with no word");
  });

  it('split-half line: a zero full-set gain says there is no sign to reproduce (not "same sign in 0%")', () => {
    const r = { halvings: 50, meanGain: 0, sdGain: 0.1, agreement: 0, fullGain: 0 };
    expect(splitHalfLine(r))
      .to.match(/^no gain on the full set, so there is no sign for the halves to reproduce/)
      .and.not.contain('same sign');
    expect(splitHalfLine({ ...r, fullGain: 0.25, agreement: 0.8 })).to.contain(
      'the full-set gain (25.0 points) has the same sign in both halves in 80% of 50 halvings',
    );
    expect(splitHalfLine({ ...r, fullGain: -0.25, agreement: 0.8 })).to.contain('the full-set loss (-25.0 points)');
  });

  it('undecodable images are listed in markdown with their error, in the same shape for every report', () => {
    const md = imageProblemsMarkdown({ missing: [], failed: [{ file: 'x.png', error: 'corrupt PNG', items: 3 }] }, 'ablation.json');
    expect(md.join('\n')).to.contain('**1 image(s) could not be decoded** and were skipped:').and.contain('- `x.png`: corrupt PNG');
    expect(imageProblemsJson({ missing: [{ file: 'm.png', items: 2 }], failed: [] })).to.deep.equal({
      missingImages: { count: 1, items: 2, files: ['m.png'] },
      undecodableImages: [],
    });
  });

  it('prepareOutDir creates the folder, and an unwritable --out is a UsageError naming it', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-report-'));
    try {
      expect(fs.existsSync(prepareOutDir(path.join(tmp, 'a', 'b')))).to.equal(true);
      const file = path.join(tmp, 'file');
      fs.writeFileSync(file, 'x');
      expect(() => prepareOutDir(path.join(file, 'sub'))).to.throw(UsageError, /--out .*file\/sub: cannot write there/);
      expect(() => prepareOutDir(file)).to.throw(UsageError, /exists and is not a folder/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
