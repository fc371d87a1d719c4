/**
 * report.html's builders without a browser (the browser tier drives the page itself): captions cannot break out of
 * the data script, the item table's correctness bits equal the summary's rule on the exact scores (not the rounded
 * display values), large runs go to the sidecar and the left-out count is stated.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expect } from 'chai';
import { itemTable, MAX_ITEMS, reportHtml, SIDECAR, writeHtmlReport } from '../../src/eval/html/page';
import { scriptJson } from '../../src/eval/html/escape';
import { summarise } from '../../src/eval/report';
import type { RunResult } from '../../src/eval/runner';

function run(n: number, caption = 'a red cube'): RunResult {
  return {
    configs: ['clip', 'abe'],
    missing: [],
    failed: [],
    seconds: 0,
    scored: Array.from({ length: n }, (_, k) => ({
      item: { id: `i${k}`, image: `/data/img${k % 5}.png`, positive: caption, negative: 'a blue cube', kind: 'k', split: 's' },
      // Differences below the display rounding (1e-4): the page must still count them as the summary does.
      scores: { clip: [1 + (k % 2) * 1e-6, 1] as [number, number], abe: [1, 1 + 1e-6] as [number, number] },
    })),
  };
}

describe('report.html builders', () => {
  it('scriptJson: a caption holding </script> or <!-- cannot close or comment out the data script', () => {
    const s = scriptJson({ c: '</script><script>alert(1)</script><!--' });
    expect(s).to.not.include('<');
    expect(JSON.parse(s).c).to.equal('</script><script>alert(1)</script><!--');
  });

  it('item table: correctness from the exact scores (clip right on odd items only, abe never), image paths relative to the page', () => {
    const t = itemTable(run(4), '/data/out', {});
    expect(t.right.clip).to.equal('0101');
    expect(t.right.abe).to.equal('0000');
    expect(t.images[t.image[0]]).to.equal('../img0.png');
  });

  it('page: the hostile caption appears only escaped; the summary table rows equal the summary cells', () => {
    const r = run(6, '</script><img src=x onerror=alert(1)>');
    const sum = summarise(r, { halvings: 4 });
    const html = reportHtml({
      json: { command: 'eval', dataset: { name: 'd', source: 'f' } },
      sum,
      table: itemTable(r, '/tmp', {}),
      title: 't',
      sidecar: false,
    });
    expect(html).to.not.include('<img src=x');
    expect(html.match(/<tr data-kind=/g)).to.have.length(sum.cells.length);
  });

  it(`runs above ${MAX_ITEMS} items: the page keeps the first ${MAX_ITEMS}, says how many are left out, and data goes to ${SIDECAR}`, () => {
    const r = run(MAX_ITEMS + 3);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-html-'));
    try {
      const t = itemTable(r, dir, {});
      expect(t.id).to.have.length(MAX_ITEMS);
      expect(t.leftOut).to.equal(3);
      const files = writeHtmlReport(dir, {
        json: { command: 'eval', dataset: {} },
        sum: summarise(r, { halvings: 2 }),
        table: t,
        title: 't',
      });
      expect(files.map((f) => path.basename(f))).to.deep.equal([SIDECAR, 'report.html']);
      const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
      expect(html).to.include(`<script src="${SIDECAR}"></script>`);
      expect(html).to.include(`${t.leftOut} are left out`);
      expect(html.length).to.be.below(100_000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
