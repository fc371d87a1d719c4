/**
 * Summaries and report files of a pairwise evaluation: accuracy per (kind, split) cell for every
 * configuration side by side with counts, McNemar exact tests against CLIP, split-half stability, and the
 * table as text, markdown, CSV and JSON (every item's scores included).
 */
import * as fs from 'fs';
import * as path from 'path';
import { deviceReport } from '../backend';
import { UsageError } from '../errors';
import { captionJson, CaptionReport, captionsClean } from './captions';
import { mcnemarExact, McNemarResult, splitHalf, SplitHalfResult } from './metrics';
import type { ItemScores, RunResult } from './runner';
import type { PairDataset } from './types';

export const ALL = 'all';

export interface CellSummary {
  kind: string;
  split: string;
  n: number;
  /** config → items right. */
  correct: Record<string, number>;
  /** config → accuracy (correct / n). */
  accuracy: Record<string, number>;
  /** config → McNemar exact test of that config against the baseline (absent for the baseline). */
  vsBaseline: Record<string, McNemarResult>;
}

export interface EvalSummary {
  baseline: string;
  configs: string[];
  cells: CellSummary[];
  /** Split-half stability of each config's overall gain over the baseline (items of one image kept together). */
  splitHalf: Record<string, SplitHalfResult>;
}

/** An item is right under a configuration when its positive scores strictly above its negative. */
export const isCorrect = (s: ItemScores, cfg: string): boolean => s.scores[cfg][0] > s.scores[cfg][1];

function cell(kind: string, split: string, rows: ItemScores[], configs: string[], baseline: string): CellSummary {
  const correct: Record<string, number> = {},
    accuracy: Record<string, number> = {},
    vs: Record<string, McNemarResult> = {};
  const base = rows.map((r) => isCorrect(r, baseline));
  for (const cfg of configs) {
    const c = rows.map((r) => isCorrect(r, cfg));
    correct[cfg] = c.filter(Boolean).length;
    accuracy[cfg] = rows.length ? correct[cfg] / rows.length : NaN;
    if (cfg !== baseline) vs[cfg] = mcnemarExact(c, base);
  }
  return { kind, split, n: rows.length, correct, accuracy, vsBaseline: vs };
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** The cells a chart shows: every (kind, split) cell, or all cells when there is only one detailed cell. */
export function chartCells(sum: EvalSummary): CellSummary[] {
  const detailed = sum.cells.filter((c) => c.kind !== ALL && c.split !== ALL);
  return detailed.length > 1 ? detailed : sum.cells;
}

/**
 * Cells: every (kind, split); per kind over all splits and per split over all kinds when there is more
 * than one split / kind; and the overall cell.
 */
export function summarise(run: RunResult, opts: { baseline?: string; halvings?: number } = {}): EvalSummary {
  const configs = run.configs;
  const baseline = opts.baseline ?? (configs.includes('clip') ? 'clip' : configs[0]);
  const rows = run.scored;
  const kinds = uniq(rows.map((r) => r.item.kind)),
    splits = uniq(rows.map((r) => r.item.split));
  const cells: CellSummary[] = [];
  for (const k of kinds) {
    for (const s of splits) {
      const sel = rows.filter((r) => r.item.kind === k && r.item.split === s);
      if (sel.length) cells.push(cell(k, s, sel, configs, baseline));
    }
    if (splits.length > 1)
      cells.push(
        cell(
          k,
          ALL,
          rows.filter((r) => r.item.kind === k),
          configs,
          baseline,
        ),
      );
  }
  if (kinds.length > 1) {
    if (splits.length > 1)
      for (const s of splits)
        cells.push(
          cell(
            ALL,
            s,
            rows.filter((r) => r.item.split === s),
            configs,
            baseline,
          ),
        );
    cells.push(cell(ALL, ALL, rows, configs, baseline));
  }
  const sh: Record<string, SplitHalfResult> = {};
  if (rows.length >= 4) {
    const base = rows.map((r) => isCorrect(r, baseline));
    const groups = rows.map((r) => r.item.image);
    for (const cfg of configs)
      if (cfg !== baseline)
        sh[cfg] = splitHalf(
          base,
          rows.map((r) => isCorrect(r, cfg)),
          groups,
          { halvings: opts.halvings ?? 200 },
        );
  }
  return { baseline, configs, cells, splitHalf: sh };
}

const pct = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '  -  ');

function pStr(p: number): string {
  return p < 0.001 ? '<.001' : p.toFixed(3).replace(/^0/, '');
}

/** Rows of the results table: header + one per cell. */
export function tableRows(sum: EvalSummary): string[][] {
  const header = ['kind', 'split', 'n', ...sum.configs];
  for (const c of sum.configs) if (c !== sum.baseline) header.push(`p(${c})`);
  const rows = sum.cells.map((c) => {
    const r = [c.kind, c.split, String(c.n), ...sum.configs.map((cfg) => `${pct(c.accuracy[cfg])} (${c.correct[cfg]})`)];
    for (const cfg of sum.configs) if (cfg !== sum.baseline) r.push(pStr(c.vsBaseline[cfg].p));
    return r;
  });
  return [header, ...rows];
}

/** Aligned plain-text table for the terminal. */
export function formatTable(sum: EvalSummary): string {
  const rows = tableRows(sum);
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const fmt = (r: string[]): string => r.map((x, j) => (j < 2 ? x.padEnd(w[j]) : x.padStart(w[j]))).join('  ');
  return [fmt(rows[0]), w.map((n) => '-'.repeat(n)).join('  '), ...rows.slice(1).map(fmt)].join('\n');
}

export function toMarkdownTable(sum: EvalSummary): string {
  const rows = tableRows(sum);
  const align = rows[0].map((_, j) => (j < 2 ? '---' : '---:'));
  const line = (r: string[]): string => `| ${r.join(' | ')} |`;
  return [line(rows[0]), line(align), ...rows.slice(1).map(line)].join('\n');
}

export function toCsv(sum: EvalSummary): string {
  const head = ['kind', 'split', 'n'];
  for (const c of sum.configs) head.push(`${c}_accuracy`, `${c}_correct`);
  for (const c of sum.configs) if (c !== sum.baseline) head.push(`${c}_vs_${sum.baseline}_p`);
  const esc = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = sum.cells.map((c) => {
    const r = [c.kind, c.split, String(c.n)];
    for (const cfg of sum.configs) r.push(String(c.accuracy[cfg]), String(c.correct[cfg]));
    for (const cfg of sum.configs) if (cfg !== sum.baseline) r.push(String(c.vsBaseline[cfg].p));
    return r.map(esc).join(',');
  });
  return [head.join(','), ...lines].join('\n') + '\n';
}

export interface ReportContext {
  command: string;
  dataset: PairDataset;
  model: string;
  backend: string;
  /** config → the resolved options it ran with. */
  options: Record<string, unknown>;
  extra?: Record<string, unknown>;
  /** Truncated and word-less captions (src/eval/captions). */
  captions?: CaptionReport;
}

/** The missing and undecodable images of a run, as every report JSON (eval, ablate) holds them. */
export function imageProblemsJson(run: Pick<RunResult, 'missing' | 'failed'>): Record<string, unknown> {
  return {
    missingImages: {
      count: run.missing.length,
      items: run.missing.reduce((s, m) => s + m.items, 0),
      files: run.missing.map((m) => m.file),
    },
    undecodableImages: run.failed,
  };
}

/** The same for a markdown report: lines (ending in a blank line), none when every image was scored. */
export function imageProblemsMarkdown(run: Pick<RunResult, 'missing' | 'failed'>, jsonName: string): string[] {
  const lines: string[] = [];
  if (run.missing.length) {
    lines.push(`**${run.missing.length} image file(s) missing** (${run.missing.reduce((s, m) => s + m.items, 0)} items skipped):`, '');
    for (const m of run.missing.slice(0, 20)) lines.push(`- \`${m.file}\``);
    if (run.missing.length > 20) lines.push(`- … and ${run.missing.length - 20} more (${jsonName} lists all)`);
    lines.push('');
  }
  if (run.failed.length) {
    lines.push(`**${run.failed.length} image(s) could not be decoded** and were skipped:`, '');
    for (const m of run.failed.slice(0, 20)) lines.push(`- \`${m.file}\`: ${m.error}`);
    lines.push('');
  }
  return lines;
}

/** A path as reports show it: relative to the working folder when inside it, else absolute. */
export function shownPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.resolve(p);
}

/** report.json: the summary plus every item as {id, kind, split, image, positive, negative, <config>: [pos, neg], ...}. */
export function reportJson(run: RunResult, sum: EvalSummary, ctx: ReportContext): Record<string, unknown> {
  return {
    tool: 'abe-clip',
    command: ctx.command,
    createdAt: new Date().toISOString(),
    model: ctx.model,
    backend: ctx.backend,
    device: deviceReport(),
    dataset: {
      name: ctx.dataset.name,
      source: ctx.dataset.source,
      items: ctx.dataset.items.length,
      scored: run.scored.length,
      dropped: ctx.dataset.dropped ?? [],
    },
    configs: run.configs,
    options: ctx.options,
    baseline: sum.baseline,
    ...imageProblemsJson(run),
    ...(ctx.captions ? { captionCheck: captionJson(ctx.captions) } : {}),
    seconds: run.seconds,
    cells: sum.cells,
    splitHalf: sum.splitHalf,
    ...(ctx.extra ?? {}),
    items: run.scored.map((s) => {
      const o: Record<string, unknown> = {
        id: s.item.id,
        kind: s.item.kind,
        split: s.item.split,
        image: shownPath(s.item.image),
        ...(s.item.crop ? { crop: s.item.crop } : {}),
        positive: s.item.positive,
        negative: s.item.negative,
      };
      for (const cfg of run.configs) o[cfg] = s.scores[cfg].map((v) => Math.round(v * 1e6) / 1e6);
      if (s.item.meta) o.meta = s.item.meta;
      return o;
    }),
  };
}

/** One sentence on a split-half result that is true also when the full-set gain is 0 (no sign to agree with). */
export function splitHalfLine(r: SplitHalfResult): string {
  const spread = `gain per half ${(r.meanGain * 100).toFixed(1)} ± ${(r.sdGain * 100).toFixed(1)} points`;
  if (r.fullGain === 0)
    return `no gain on the full set, so there is no sign for the halves to reproduce; ${spread} over ${r.halvings} halvings`;
  return (
    `${spread}; the full-set ${r.fullGain > 0 ? 'gain' : 'loss'} (${(r.fullGain * 100).toFixed(1)} points) has the same sign in both halves ` +
    `in ${(r.agreement * 100).toFixed(0)}% of ${r.halvings} halvings`
  );
}

export function reportMarkdown(run: RunResult, sum: EvalSummary, ctx: ReportContext, figures: string[] = []): string {
  const lines = [
    `# abe-clip ${ctx.command}: ${ctx.dataset.name}`,
    '',
    `Model \`${ctx.model}\`, backend ${ctx.backend}; ${run.scored.length} items scored of ${ctx.dataset.items.length} ` +
      `in ${run.seconds.toFixed(1)} s. An item is right when S(image, positive) > S(image, negative). ` +
      `Cells give accuracy (items right); p = McNemar exact test against \`${sum.baseline}\` on the same items.`,
    '',
    toMarkdownTable(sum),
    '',
  ];
  const sh = Object.entries(sum.splitHalf);
  if (sh.length) {
    lines.push('Split-half stability of the overall gain over `' + sum.baseline + '` (random halves of the images):', '');
    for (const [cfg, r] of sh) lines.push(`- \`${cfg}\`: ${splitHalfLine(r)}`);
    lines.push('');
  }
  lines.push(...imageProblemsMarkdown(run, 'report.json'));
  if (ctx.captions && !captionsClean(ctx.captions)) {
    const c = ctx.captions;
    lines.push(
      `**Captions:** ${c.truncated.length} of ${c.checked} truncated to the model's ${c.contextLength}-token context; ` +
        `${c.empty.length} with no word (scored anyway). report.json lists them.`,
      '',
    );
  }
  for (const d of ctx.dataset.dropped ?? []) lines.push(`Dropped by the loader: ${d.count} pair(s), ${d.reason}.`, '');
  for (const f of figures) lines.push(`![${path.basename(f, '.png')}](${f})`, '');
  lines.push('Options of each configuration:', '', '```json', JSON.stringify(ctx.options, null, 2), '```', '');
  return lines.join('\n');
}

/**
 * Create (or reuse) an output folder and check it is writable, before any long computation.
 * @throws UsageError naming the folder when it cannot be created or written.
 */
export function prepareOutDir(dir: string, flag = '--out'): string {
  const abs = path.resolve(dir);
  try {
    if (fs.existsSync(abs) && !fs.statSync(abs).isDirectory()) throw new Error('exists and is not a folder');
    fs.mkdirSync(abs, { recursive: true });
    const probe = path.join(abs, `.abe-clip-write-test-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.unlinkSync(probe);
  } catch (e) {
    throw new UsageError(`${flag} ${dir}`, `cannot write there: ${(e as Error).message.replace(/^[A-Z]+: /, '')}`);
  }
  return abs;
}
