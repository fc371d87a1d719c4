/**
 * report.html of a retrieval run: provenance, the Recall@K table of retrieval.json, and a query browser — every
 * caption (text→image) and every image (image→text) with its rank under each configuration and the top-k list of
 * the chosen configuration, true matches marked. Same page rules as the pairwise report (page.ts): inline data up
 * to INLINE_ITEMS queries, a sidecar script beyond.
 */
import * as fs from 'fs';
import * as path from 'path';
import { escapeHtml, scriptJson } from './escape';
import { asset, INLINE_ITEMS, SIDECAR } from './page';

export const TOP_K = 5;

/** The fields of retrieval.json the page reads. */
export interface RetrievalJsonView {
  command?: unknown;
  createdAt?: unknown;
  model?: unknown;
  backend?: unknown;
  data?: unknown;
  options?: unknown;
  recall: Record<string, { imageToText: Record<string, number>; textToImage: Record<string, number> }>;
  /** config → 1-based rank of each query's true match, per direction. */
  ranks: Record<string, { imageToText: number[]; textToImage: number[] }>;
  trivialK?: { imageToText: number[]; textToImage: number[] };
}

export interface RetrievalPageInput {
  /** retrieval.json as written (recall, ranks, queries, provenance). */
  json: RetrievalJsonView;
  /** config → similarity [images × captions], row-major. */
  scores: Record<string, ArrayLike<number>>;
  images: string[];
  captions: string[];
  captionImage: number[];
}

/** Indices of the k largest values of row r (length n) of `sim`, largest first; ties keep the lower index first. */
function topK(at: (j: number) => number, n: number, k: number): number[] {
  const best: number[] = [];
  for (let j = 0; j < n; j++) {
    const v = at(j);
    let p = best.length;
    while (p > 0 && at(best[p - 1]) < v) p--;
    if (p < k) {
      best.splice(p, 0, j);
      if (best.length > k) best.pop();
    }
  }
  return best;
}

/** The browser's data: queries, ranks (1-based, from retrieval.json) and top-k lists per configuration. */
export function retrievalTable(input: RetrievalPageInput, outDir: string): Record<string, unknown> {
  const nI = input.images.length,
    nC = input.captions.length;
  const configs = Object.keys(input.scores);
  const top: Record<string, { t2i: number[][]; i2t: number[][] }> = {};
  for (const cfg of configs) {
    const s = input.scores[cfg];
    top[cfg] = {
      t2i: input.captions.map((_, c) => topK((i) => s[i * nC + c], nI, TOP_K)),
      i2t: input.images.map((_, i) => topK((c) => s[i * nC + c], nC, TOP_K)),
    };
  }
  return {
    configs,
    images: input.images.map((p) => path.relative(outDir, p).split(path.sep).join('/')),
    captions: input.captions,
    captionImage: input.captionImage,
    ranks: input.json.ranks,
    top,
  };
}

export function retrievalHtml(input: RetrievalPageInput, data: Record<string, unknown>, sidecar: boolean): string {
  const j = input.json;
  const configs = Object.keys(input.scores);
  const ks = Object.keys(j.recall[configs[0]].imageToText);
  const head = ['config', ...ks.map((k) => `image→text ${k}`), ...ks.map((k) => `text→image ${k}`)];
  const rows = configs.map(
    (cfg) =>
      `<tr data-config="${escapeHtml(cfg)}"><th scope="row">${escapeHtml(cfg)}</th>` +
      ks
        .map((k) => `<td class="num" data-dir="imageToText" data-k="${k}">${Number(j.recall[cfg].imageToText[k]).toFixed(3)}</td>`)
        .join('') +
      ks
        .map((k) => `<td class="num" data-dir="textToImage" data-k="${k}">${Number(j.recall[cfg].textToImage[k]).toFixed(3)}</td>`)
        .join('') +
      '</tr>',
  );
  const trivial = [
    ...(j.trivialK?.imageToText ?? []).map((k) => `image→text R@${k}`),
    ...(j.trivialK?.textToImage ?? []).map((k) => `text→image R@${k}`),
  ];
  const note = trivial.length
    ? `<p class="warn">${escapeHtml(trivial.join(', '))}: 1.0 by construction (K is at least the number of candidates).</p>`
    : '';
  const script = sidecar ? `<script src="${SIDECAR}"></script>` : `<script>window.REPORT_ITEMS = ${scriptJson(data)};</script>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>abe-clip retrieval: ${escapeHtml(String(j.data))}</title><style>${asset('report.css')}</style></head>
<body>
<header><h1>abe-clip retrieval: ${input.images.length} images, ${input.captions.length} captions</h1>
<dl class="provenance"><dt>command</dt><dd>${escapeHtml(String(j.command))}</dd><dt>created</dt><dd>${escapeHtml(String(j.createdAt))}</dd>
<dt>model</dt><dd>${escapeHtml(String(j.model))}</dd><dt>backend</dt><dd>${escapeHtml(String(j.backend))}</dd><dt>data</dt><dd>${escapeHtml(String(j.data))}</dd></dl>
${note}</header>
<main>
<section aria-labelledby="h-recall"><h2 id="h-recall">Recall@K</h2>
<div class="scroll"><table id="recall" class="summary"><caption>Fraction of queries whose true match is among the top K (image→text: any of the image's captions)</caption>
<thead><tr>${head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>
<details><summary>Options of each configuration</summary><pre>${escapeHtml(JSON.stringify(j.options ?? {}, null, 2))}</pre></details>
</section>
<section aria-labelledby="h-queries"><h2 id="h-queries">Queries</h2>
<form id="filters" class="filters" onsubmit="return false">
<label>direction <select id="f-dir"><option value="textToImage">text → image</option><option value="imageToText">image → text</option></select></label>
<label>configuration (top ${TOP_K} list) <select id="f-config"></select></label>
<label>rank <select id="f-rank"><option value="all">all</option><option value="hit">rank 1</option><option value="miss">rank above 1</option></select></label>
<label>sort <select id="f-sort"><option value="order">query order</option><option value="rank-desc">rank, worst first</option></select></label>
</form>
<p id="count" role="status" aria-live="polite"></p>
<nav class="pager" aria-label="pages"><button type="button" id="prev">previous</button> <span id="page"></span> <button type="button" id="next">next</button></nav>
<ol id="items" class="items"></ol>
</section></main>
${script}
<script>${asset('browser.js')}</script>
<script>${asset('retrieval.js')}</script>
</body></html>
`;
}

/** Writes report.html for a retrieval run (and the sidecar for large sets); returns the files written. */
export function writeRetrievalHtml(outDir: string, input: RetrievalPageInput): string[] {
  const data = retrievalTable(input, outDir);
  const sidecar = input.captions.length + input.images.length > INLINE_ITEMS;
  const files: string[] = [];
  if (sidecar) {
    const f = path.join(outDir, SIDECAR);
    fs.writeFileSync(f, `window.REPORT_ITEMS = ${scriptJson(data)};\n`);
    files.push(f);
  }
  const f = path.join(outDir, 'report.html');
  fs.writeFileSync(f, retrievalHtml(input, data, sidecar));
  files.push(f);
  return files;
}
