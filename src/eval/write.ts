/** Write the report files of a pairwise evaluation: report.json, report.csv, report.md, accuracy.png and report.html. */
import * as fs from 'fs';
import * as path from 'path';
import { itemTable, writeHtmlReport } from './html/page';
import { barChart } from './plots/charts';
import { ALL, chartCells, EvalSummary, reportJson, reportMarkdown, ReportContext, toCsv } from './report';
import type { RunResult } from './runner';

export interface WrittenReport {
  files: string[];
  json: Record<string, unknown>;
}

/** The bar chart of the summary: one group per (kind, split) cell (the 'all' rows left out when there are cells). */
export async function accuracyChart(sum: EvalSummary, title: string): Promise<ReturnType<typeof barChart>> {
  const cells = chartCells(sum);
  return barChart({
    title,
    yLabel: 'accuracy (positive > negative)',
    groups: cells.map((c) => (c.split === ALL ? `${c.kind}\nn=${c.n}` : `${c.kind}\n${c.split}`)),
    series: sum.configs.map((cfg) => ({ name: cfg, values: cells.map((c) => c.accuracy[cfg]) })),
    yRange: [0, 1],
  });
}

/** `overlays`: item id → explain picture (relative to outDir) that report.html shows on demand. */
export async function writeReport(
  outDir: string,
  run: RunResult,
  sum: EvalSummary,
  ctx: ReportContext,
  extraFigures: string[] = [],
  overlays: Record<string, string> = {},
): Promise<WrittenReport> {
  const json = reportJson(run, sum, ctx);
  const files: string[] = [];
  const put = (name: string, data: string | Buffer): void => {
    const f = path.join(outDir, name);
    fs.writeFileSync(f, data);
    files.push(f);
  };
  const title = `${ctx.dataset.name}: accuracy per subset, ${run.scored.length} items (model ${ctx.model.split(/[\\/]/).pop()})`;
  const chart = await accuracyChart(sum, title);
  put('accuracy.png', await chart.png());
  put('report.json', JSON.stringify(json, null, 1) + '\n');
  put('report.csv', toCsv(sum));
  put('report.md', reportMarkdown(run, sum, ctx, ['accuracy.png', ...extraFigures]));
  files.push(...writeHtmlReport(outDir, { json, sum, table: itemTable(run, outDir, overlays), title }));
  return { files, json };
}
