/**
 * report.html: one self-contained page (inline CSS and script, no network) for a pairwise evaluation — provenance,
 * the summary table (the same cells as report.json), the accuracy chart as SVG, and an item browser over every
 * scored item (filter by kind, split, configuration and outcome against the baseline; sort by margin; the image,
 * both captions with every configuration's scores, and the explain overlay where one was drawn).
 *
 * Item data goes inline up to INLINE_ITEMS items; beyond that into a sidecar script `report-items.js` (a
 * <script src> loads from disk where fetch() of a file:// URL is refused), at most MAX_ITEMS items, the rest named
 * as left out on the page.
 */
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../../package-root';
import { ALL, chartCells, isCorrect } from '../report';
import type { EvalSummary } from '../report';
import type { RunResult } from '../runner';
import { svgBarChart } from './chart';
import { escapeHtml, scriptJson } from './escape';

export const INLINE_ITEMS = 5000;
export const MAX_ITEMS = 250_000;
export const SIDECAR = 'report-items.js';

/** Column-wise item table: strings once (kinds, splits, images, captions), indices and scores per item. */
export interface ItemTable {
  configs: string[];
  kinds: string[];
  splits: string[];
  images: string[];
  captions: string[];
  id: string[];
  kind: number[];
  split: number[];
  image: number[];
  pos: number[];
  neg: number[];
  /** config → [positive, negative] scores interleaved (4 decimals, for display and sorting). */
  scores: Record<string, number[]>;
  /** config → '1'/'0' per item: positive > negative on the exact scores (as report.json's cells count it). */
  right: Record<string, string>;
  /** item id → overlay PNG path relative to the page. */
  overlays: Record<string, string>;
  total: number;
  leftOut: number;
}

function interner(): { list: string[]; at(s: string): number } {
  const index = new Map<string, number>();
  const list: string[] = [];
  return {
    list,
    at(s) {
      let k = index.get(s);
      if (k === undefined) {
        k = list.length;
        index.set(s, k);
        list.push(s);
      }
      return k;
    },
  };
}

/** The browser's item table; image paths relative to the report folder (opened from disk, links stay valid). */
export function itemTable(run: RunResult, outDir: string, overlays: Record<string, string>): ItemTable {
  const kinds = interner(),
    splits = interner(),
    images = interner(),
    captions = interner();
  const rows = run.scored.slice(0, MAX_ITEMS);
  const scores: Record<string, number[]> = Object.fromEntries(run.configs.map((c) => [c, [] as number[]]));
  const right: Record<string, string[]> = Object.fromEntries(run.configs.map((c) => [c, [] as string[]]));
  const t: ItemTable = {
    configs: run.configs,
    kinds: kinds.list,
    splits: splits.list,
    images: images.list,
    captions: captions.list,
    id: [],
    kind: [],
    split: [],
    image: [],
    pos: [],
    neg: [],
    scores,
    right: {},
    overlays,
    total: run.scored.length,
    leftOut: run.scored.length - rows.length,
  };
  for (const r of rows) {
    t.id.push(r.item.id);
    t.kind.push(kinds.at(r.item.kind));
    t.split.push(splits.at(r.item.split));
    t.image.push(images.at(path.relative(outDir, r.item.image).split(path.sep).join('/')));
    t.pos.push(captions.at(r.item.positive));
    t.neg.push(captions.at(r.item.negative));
    for (const c of run.configs) {
      scores[c].push(Math.round(r.scores[c][0] * 1e4) / 1e4, Math.round(r.scores[c][1] * 1e4) / 1e4);
      right[c].push(isCorrect(r, c) ? '1' : '0');
    }
  }
  t.right = Object.fromEntries(run.configs.map((c) => [c, right[c].join('')]));
  return t;
}

const pct = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '–');
const pStr = (p: number) => (p < 0.001 ? '<.001' : p.toFixed(3).replace(/^0/, ''));

function summaryTable(sum: EvalSummary): string {
  const others = sum.configs.filter((c) => c !== sum.baseline);
  const head = ['kind', 'split', 'n', ...sum.configs, ...others.map((c) => `p(${c})`)];
  const rows = sum.cells.map((c) =>
    [
      `<td>${escapeHtml(c.kind)}</td><td>${escapeHtml(c.split)}</td><td class="num" data-n>${c.n}</td>`,
      ...sum.configs.map(
        (cfg) =>
          `<td class="num" data-config="${escapeHtml(cfg)}" data-correct="${c.correct[cfg]}">${pct(c.accuracy[cfg])} (${c.correct[cfg]})</td>`,
      ),
      ...others.map((cfg) => `<td class="num">${pStr(c.vsBaseline[cfg].p)}</td>`),
    ].join(''),
  );
  return (
    `<table id="summary" class="summary"><caption>Accuracy per kind × split (items right in brackets); p = McNemar exact test against <code>${escapeHtml(sum.baseline)}</code> on the same items</caption>` +
    `<thead><tr>${head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${sum.cells.map((c, k) => `<tr data-kind="${escapeHtml(c.kind)}" data-split="${escapeHtml(c.split)}">${rows[k]}</tr>`).join('')}</tbody></table>`
  );
}

function splitHalfList(sum: EvalSummary): string {
  const rows = Object.entries(sum.splitHalf);
  if (!rows.length) return '';
  return (
    `<p>Split-half stability of the overall gain over <code>${escapeHtml(sum.baseline)}</code> (random halves of the images):</p><ul>` +
    rows
      .map(
        ([cfg, r]) =>
          `<li><code>${escapeHtml(cfg)}</code>: gain per half ${(r.meanGain * 100).toFixed(1)} ± ${(r.sdGain * 100).toFixed(1)} points; ` +
          (r.meanGain === 0 && r.sdGain === 0
            ? 'no gain in any half'
            : `same sign in both halves in ${(r.agreement * 100).toFixed(0)}% of ${r.halvings} halvings`) +
          '</li>',
      )
      .join('') +
    '</ul>'
  );
}

export function asset(name: string): string {
  return fs.readFileSync(path.join(packageRoot(), 'assets', 'report', name), 'utf8');
}

/** The fields of report.json / ablation.json the page reads (all optional: the page renders what is there). */
export interface ReportJsonView {
  command?: unknown;
  createdAt?: unknown;
  model?: unknown;
  backend?: unknown;
  seconds?: unknown;
  note?: unknown;
  dataset?: { name?: unknown; source?: unknown; scored?: unknown; items?: unknown };
  missingImages?: { count?: number; items?: number };
  undecodableImages?: unknown[];
  /** eval and demo: options per configuration; ablate: per grid point. */
  options?: unknown;
  points?: { label: string; options: unknown }[];
}

export interface PageInput {
  json: ReportJsonView;
  sum: EvalSummary;
  table: ItemTable;
  /** Chart title (as accuracy.png's). */
  title: string;
  /** Item data in a sidecar file (the page links it) rather than inline. */
  sidecar: boolean;
}

/** At most this many series in the chart: the baseline and the best by overall accuracy (an ablation has dozens). */
export const CHART_SERIES = 8;

function chartConfigs(sum: EvalSummary): string[] {
  if (sum.configs.length <= CHART_SERIES) return sum.configs;
  const overall = sum.cells[sum.cells.length - 1];
  const best = sum.configs.filter((c) => c !== sum.baseline).sort((a, b) => overall.accuracy[b] - overall.accuracy[a]);
  return [sum.baseline, ...best.slice(0, CHART_SERIES - 1)];
}

export function reportHtml(p: PageInput): string {
  const j = p.json;
  const options = j.options ?? (Array.isArray(j.points) ? Object.fromEntries(j.points.map((x) => [x.label, x.options])) : undefined);
  const cells = chartCells(p.sum);
  const shown = chartConfigs(p.sum);
  const chart = svgBarChart({
    title: p.title,
    yLabel: 'accuracy (positive > negative)',
    groups: cells.map((c) => (c.split === ALL ? `${c.kind} / n=${c.n}` : `${c.kind} / ${c.split}`)),
    series: shown.map((cfg) => ({ name: cfg, values: cells.map((c) => c.accuracy[cfg]) })),
    yRange: [0, 1],
  });
  const chartNote =
    shown.length < p.sum.configs.length
      ? `The chart shows ${p.sum.baseline} and the ${shown.length - 1} best of ${p.sum.configs.length - 1} configurations by overall accuracy; the table holds all.`
      : 'The table above holds the same numbers.';
  const text = (x: unknown) => (x === undefined || x === null ? '–' : typeof x === 'string' ? x : JSON.stringify(x));
  const provenance: [string, string][] = [
    ['command', text(j.command)],
    ['created', text(j.createdAt)],
    ['model', text(j.model)],
    ['backend', text(j.backend)],
    ['dataset', `${text(j.dataset?.name)} (${text(j.dataset?.source)})`],
    ['items', `${text(j.dataset?.scored)} scored of ${text(j.dataset?.items)}`],
    ['time', typeof j.seconds === 'number' && Number.isFinite(j.seconds) ? `${j.seconds.toFixed(1)} s` : '–'],
    ['configurations', p.sum.configs.join(', ')],
  ];
  const missing = j.missingImages?.count
    ? `<p class="warn">${j.missingImages.count} image file(s) missing (${j.missingImages.items} items skipped); report.json lists them.</p>`
    : '';
  const failed =
    Array.isArray(j.undecodableImages) && j.undecodableImages.length
      ? `<p class="warn">${j.undecodableImages.length} image(s) could not be decoded and were skipped.</p>`
      : '';
  const note = typeof j.note === 'string' ? `<p class="note">${escapeHtml(j.note)}</p>` : '';
  const leftOut = p.table.leftOut
    ? `<p class="warn" id="left-out">The item browser holds the first ${p.table.id.length} of ${p.table.total} items; ${p.table.leftOut} are left out of the page (report.json has all).</p>`
    : '';
  const data = p.sidecar ? `<script src="${SIDECAR}"></script>` : `<script>window.REPORT_ITEMS = ${scriptJson(p.table)};</script>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>abe-clip ${escapeHtml(text(j.command))}: ${escapeHtml(text(j.dataset?.name))}</title>
<style>${asset('report.css')}</style></head>
<body>
<header><h1>abe-clip ${escapeHtml(text(j.command))}: ${escapeHtml(text(j.dataset?.name))}</h1>
<dl class="provenance">${provenance.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>
${note}${missing}${failed}</header>
<main>
<section aria-labelledby="h-summary"><h2 id="h-summary">Summary</h2>
<div class="scroll">${summaryTable(p.sum)}</div>
${splitHalfList(p.sum)}
<figure class="chart">${chart}<figcaption>Accuracy per cell. ${escapeHtml(chartNote)}</figcaption></figure>
${options === undefined ? '' : `<details><summary>Options of each configuration</summary><pre>${escapeHtml(JSON.stringify(options, null, 2))}</pre></details>`}
</section>
<section aria-labelledby="h-items"><h2 id="h-items">Items</h2>
${leftOut}
<form id="filters" class="filters" onsubmit="return false">
<label>kind <select id="f-kind"></select></label>
<label>split <select id="f-split"></select></label>
<label>configuration <select id="f-config"></select></label>
<label>outcome vs <span id="baseline-name"></span> <select id="f-outcome">
<option value="all">all</option><option value="both-right">both right</option><option value="both-wrong">both wrong</option>
<option value="fixed">fixed (only this configuration right)</option><option value="broke">broke (only the baseline right)</option></select></label>
<label>sort <select id="f-sort"><option value="id">item order</option><option value="margin-asc">margin, lowest first</option>
<option value="margin-desc">margin, highest first</option></select></label>
</form>
<p id="count" role="status" aria-live="polite"></p>
<nav class="pager" aria-label="pages"><button type="button" id="prev">previous</button> <span id="page"></span> <button type="button" id="next">next</button></nav>
<ol id="items" class="items"></ol>
</section>
</main>
<dialog id="overlay"><form method="dialog"><button aria-label="close">close</button></form><p id="overlay-caption"></p><img id="overlay-img" alt=""></dialog>
${data}
<script>window.REPORT_META = ${scriptJson({ baseline: p.sum.baseline })};</script>
<script>${asset('browser.js')}</script>
<script>${asset('report.js')}</script>
</body></html>
`;
}

/** Writes report.html (and the sidecar when the item data is large); returns the files written. */
export function writeHtmlReport(outDir: string, input: Omit<PageInput, 'sidecar'>): string[] {
  const sidecar = input.table.id.length > INLINE_ITEMS;
  const files: string[] = [];
  if (sidecar) {
    const f = path.join(outDir, SIDECAR);
    fs.writeFileSync(f, `window.REPORT_ITEMS = ${scriptJson(input.table)};\n`);
    files.push(f);
  }
  const f = path.join(outDir, 'report.html');
  fs.writeFileSync(f, reportHtml({ ...input, sidecar }));
  files.push(f);
  return files;
}
