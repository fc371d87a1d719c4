/**
 * report.html in a real headless browser (Debian's chromium driven by playwright-core; CI installs the browser in
 * .ci/setup.d): the page written by `abe-clip demo` shows report.json's numbers, its filters select exactly the
 * items report.json says they should, an explain overlay opens, and nothing is logged to the console as an error.
 * A 120,000-item report (sidecar data) stays usable. Run with `npm run test:browser`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expect } from 'chai';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { main } from '../../src/cli/main';
import { summarise } from '../../src/eval/report';
import type { RunResult } from '../../src/eval/runner';
import { writeReport } from '../../src/eval/write';
import { generate } from '../../tools/toy-world/generate';

const BROWSER = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface JsonItem {
  id: string;
  kind: string;
  split: string;
  [cfg: string]: unknown;
}
const right = (it: JsonItem, cfg: string) => {
  const [p, n] = it[cfg] as [number, number];
  return p > n;
};

async function open(browser: Browser, file: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  await page.goto(`file://${file}`);
  return { page, errors };
}

const count = async (page: Page) => Number(await page.getAttribute('#count', 'data-count'));

describe('report.html in headless chromium', function () {
  this.timeout(240_000);
  let browser: Browser;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-report-'));
  before(async () => {
    if (!fs.existsSync(BROWSER)) throw new Error(`no browser at ${BROWSER}: install Debian's chromium (CI does) or set CHROMIUM_PATH`);
    browser = await chromium.launch({ executablePath: BROWSER, args: ARGS });
  });
  after(async () => {
    await browser?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('the demo report (90 items, 4 overlays)', () => {
    const out = path.join(tmp, 'demo');
    let json: {
      items: JsonItem[];
      cells: { kind: string; split: string; n: number; correct: Record<string, number> }[];
      configs: string[];
      baseline: string;
    };
    let page: Page, errors: string[];
    before(async () => {
      const sink = { write: () => true } as unknown as NodeJS.WritableStream;
      const code = await main(['demo', '--out', out, '--limit', '90', '--heatmaps', '1', '--overlays', '3', '--no-cache'], {
        stdout: sink,
        stderr: sink,
      });
      expect(code).to.equal(0);
      json = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
      ({ page, errors } = await open(browser, path.join(out, 'report.html')));
    });

    it('loads with no console errors and no failed requests, and counts every item of report.json', async () => {
      expect(await count(page)).to.equal(json.items.length);
      expect(errors).to.deep.equal([]);
    });

    it("the summary table holds report.json's cells (n and items right per configuration)", async () => {
      const rows = await page.$$eval('#summary tbody tr', (trs) =>
        trs.map((tr) => ({
          kind: tr.getAttribute('data-kind'),
          split: tr.getAttribute('data-split'),
          n: Number(tr.querySelector('[data-n]')!.textContent),
          correct: Object.fromEntries(
            [...tr.querySelectorAll('[data-config]')].map((td) => [
              td.getAttribute('data-config'),
              Number(td.getAttribute('data-correct')),
            ]),
          ),
        })),
      );
      expect(rows).to.deep.equal(json.cells.map((c) => ({ kind: c.kind, split: c.split, n: c.n, correct: c.correct })));
    });

    it("filters: kind × split equals its cell; each outcome equals report.json's count; the four outcomes add up", async () => {
      await page.selectOption('#f-kind', 'swap-att');
      await page.selectOption('#f-split', 'seen');
      expect(await count(page)).to.equal(json.cells.find((c) => c.kind === 'swap-att' && c.split === 'seen')!.n);
      await page.selectOption('#f-kind', 'all');
      await page.selectOption('#f-split', 'all');
      for (const cfg of json.configs.filter((c) => c !== json.baseline)) {
        await page.selectOption('#f-config', cfg);
        const expected: Record<string, number> = {
          'both-right': json.items.filter((i) => right(i, cfg) && right(i, json.baseline)).length,
          'both-wrong': json.items.filter((i) => !right(i, cfg) && !right(i, json.baseline)).length,
          fixed: json.items.filter((i) => right(i, cfg) && !right(i, json.baseline)).length,
          broke: json.items.filter((i) => !right(i, cfg) && right(i, json.baseline)).length,
        };
        let total = 0;
        for (const [outcome, n] of Object.entries(expected)) {
          await page.selectOption('#f-outcome', outcome);
          expect(await count(page), `${cfg} ${outcome}`).to.equal(n);
          const shown = await page.$$eval('#items li', (lis) => lis.map((li) => li.getAttribute('data-outcome')));
          expect(new Set(shown).size <= 1 && (shown.length === 0 || shown[0] === outcome)).to.equal(true);
          total += n;
        }
        expect(total).to.equal(json.items.length);
        await page.selectOption('#f-outcome', 'all');
      }
    });

    it('sort by margin orders the listed items; the pager moves to page 2', async () => {
      await page.selectOption('#f-sort', 'margin-asc');
      const ids = await page.$$eval('#items li', (lis) => lis.map((li) => li.getAttribute('data-id')));
      const cfg = await page.inputValue('#f-config');
      const margin = (id: string) => {
        const it = json.items.find((i) => i.id === id)!;
        const [p, n] = it[cfg] as [number, number];
        return p - n;
      };
      for (let k = 1; k < ids.length; k++) expect(margin(ids[k]!) + 1e-3).to.be.at.least(margin(ids[k - 1]!));
      await page.click('#next');
      expect(await page.textContent('#page')).to.match(/^page 2 of/);
      await page.selectOption('#f-sort', 'id');
    });

    it("an item's explain overlay opens and its picture loads", async () => {
      await page.selectOption('#f-outcome', 'all');
      const button = page.locator('button.explain').first();
      await button.click();
      expect(await page.getAttribute('#overlay', 'open')).to.not.equal(null);
      await page.waitForFunction(() => (document.getElementById('overlay-img') as HTMLImageElement).complete);
      expect(await page.$eval('#overlay-img', (img) => (img as HTMLImageElement).naturalWidth)).to.be.greaterThan(0);
      expect(errors).to.deep.equal([]);
    });
  });

  it('a 120,000-item report keeps report.html small (data in report-items.js) and filters all items', async () => {
    const n = 120_000;
    const out = path.join(tmp, 'large');
    fs.mkdirSync(out);
    const png = fs.readFileSync(path.join(__dirname, '..', '..', 'data', 'toy-shapes', 'images', 'seen_0000.png'));
    for (let k = 0; k < 97; k++) fs.writeFileSync(path.join(out, `img${k}.png`), png);
    const run: RunResult = {
      configs: ['clip', 'abe'],
      missing: [],
      failed: [],
      seconds: 1,
      scored: Array.from({ length: n }, (_, k) => ({
        item: {
          id: `i${k}`,
          image: path.join(out, `img${k % 97}.png`),
          positive: `caption ${k % 1000}`,
          negative: `other ${k % 777}`,
          kind: k % 3 ? 'a' : 'b',
          split: 'all',
        },
        scores: { clip: [Math.sin(k), Math.cos(k)] as [number, number], abe: [Math.sin(k * 1.3), Math.cos(k)] as [number, number] },
      })),
    };
    const sum = summarise(run, { halvings: 4 });
    await writeReport(out, run, sum, {
      command: 'eval',
      dataset: { name: 'synthetic', source: 'test', items: run.scored.map((s) => s.item) },
      model: 'none',
      backend: 'cpu',
      options: {},
    });
    expect(fs.statSync(path.join(out, 'report.html')).size).to.be.below(200_000);
    expect(fs.existsSync(path.join(out, 'report-items.js'))).to.equal(true);
    const { page, errors } = await open(browser, path.join(out, 'report.html'));
    expect(await count(page)).to.equal(n);
    await page.selectOption('#f-kind', 'b');
    expect(await count(page)).to.equal(run.scored.filter((s) => s.item.kind === 'b').length);
    expect(await page.$$eval('#items li', (lis) => lis.length)).to.equal(50);
    expect(errors).to.deep.equal([]);
  });

  describe('a retrieval report (toy-world set: 23 images, captions naming 0–2 colours)', () => {
    const out = path.join(tmp, 'retrieval');
    let json: {
      ranks: Record<string, { imageToText: number[]; textToImage: number[] }>;
      recall: Record<string, Record<string, Record<string, number>>>;
      configs: string[];
    };
    let page: Page, errors: string[];
    before(async () => {
      const data = path.join(tmp, 'toy-world');
      await generate({ out: data, seed: 11, images: 0, retrieval: 1, stress: 0 });
      const sink = { write: () => true } as unknown as NodeJS.WritableStream;
      const code = await main(
        ['retrieval', '--data', path.join(data, 'retrieval', 'set-0.jsonl'), '--images', data, '--out', out, '--no-cache'],
        { stdout: sink, stderr: sink },
      );
      expect(code).to.equal(0);
      json = JSON.parse(fs.readFileSync(path.join(out, 'retrieval.json'), 'utf8'));
      ({ page, errors } = await open(browser, path.join(out, 'report.html')));
    });

    it("the Recall@K table equals retrieval.json's, and nothing is logged as an error", async () => {
      for (const cfg of json.configs)
        for (const dir of ['imageToText', 'textToImage'])
          for (const [k, v] of Object.entries(json.recall[cfg][dir])) {
            expect(await page.textContent(`#recall tr[data-config="${cfg}"] td[data-dir="${dir}"][data-k="${k}"]`)).to.equal(v.toFixed(3));
          }
      expect(errors).to.deep.equal([]);
    });

    it('per-query ranks: "rank 1" and "rank above 1" select exactly the queries retrieval.json ranks so, both directions', async () => {
      for (const cfg of json.configs)
        for (const dir of ['textToImage', 'imageToText']) {
          await page.selectOption('#f-config', cfg);
          await page.selectOption('#f-dir', dir);
          const ranks = json.ranks[cfg][dir as 'textToImage'];
          await page.selectOption('#f-rank', 'hit');
          expect(await count(page), `${cfg} ${dir} hits`).to.equal(ranks.filter((r) => r === 1).length);
          await page.selectOption('#f-rank', 'miss');
          expect(await count(page)).to.equal(ranks.filter((r) => r > 1).length);
          const shown = await page.$$eval('#items li.item', (lis) =>
            lis.map((li) => [Number(li.getAttribute('data-query')), Number(li.getAttribute('data-rank'))]),
          );
          for (const [q, r] of shown) expect(r).to.equal(ranks[q]);
          await page.selectOption('#f-rank', 'all');
        }
    });

    it('each text→image top-5 list marks its true image at the rank retrieval.json gives (when the rank is ≤ 5)', async () => {
      await page.selectOption('#f-dir', 'textToImage');
      const cfg = await page.inputValue('#f-config');
      const rows = await page.$$eval('#items li.item', (lis) =>
        lis.map((li) => ({
          q: Number(li.getAttribute('data-query')),
          at: [...li.querySelectorAll('ol.top > li')].findIndex((x) => x.classList.contains('true-match')),
        })),
      );
      for (const { q, at } of rows) {
        const r = json.ranks[cfg].textToImage[q];
        expect(at, `query ${q}`).to.equal(r <= 5 ? r - 1 : -1);
      }
    });
  });
});
