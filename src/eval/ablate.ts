/**
 * Ablation grids: `lambda=0,0.5,1 topK=1,2 refine=none,isolated` → every combination as a configuration,
 * and the summaries a sweep needs: one row per grid point, and per swept option the mean accuracy at each
 * of its values (over the other options' values), for line plots.
 */
import { DEFAULT_OPTIONS } from '../abe/options';
import type { AbeOptions } from '../abe/options';
import { UsageError } from '../errors';
import type { LinePanelSpec } from './plots/charts';
import { ALL, EvalSummary } from './report';

export interface GridAxis {
  key: keyof AbeOptions;
  values: (string | number)[];
}
export type GridPoint = Partial<Record<keyof AbeOptions, string | number>>;

/** Parse `key=v1,v2,…` words; keys are AbeOptions names, values typed by the option's default. */
export function parseGrid(words: string[]): GridAxis[] {
  const axes: GridAxis[] = [];
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new UsageError(`--grid ${w}`, 'expected OPTION=v1,v2,… (e.g. lambda=0,0.5,1)');
    const key = w.slice(0, eq);
    if (!(key in DEFAULT_OPTIONS)) {
      throw new UsageError(`--grid ${w}`, `unknown option '${key}' (known: ${Object.keys(DEFAULT_OPTIONS).join(', ')})`);
    }
    if (axes.some((a) => a.key === key)) throw new UsageError(`--grid ${w}`, `option '${key}' given twice`);
    const isNum = typeof (DEFAULT_OPTIONS as unknown as Record<string, unknown>)[key] === 'number';
    const raw = w
      .slice(eq + 1)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length);
    if (!raw.length) throw new UsageError(`--grid ${w}`, 'no values');
    const values = raw.map((r) => {
      if (!isNum) return r;
      const v = Number(r);
      if (!Number.isFinite(v)) throw new UsageError(`--grid ${w}`, `${key} needs numbers, got '${r}'`);
      return v;
    });
    axes.push({ key: key as keyof AbeOptions, values: [...new Set(values)] });
  }
  if (!axes.length) throw new UsageError('--grid', 'is empty: give OPTION=v1,v2,… words');
  return axes;
}

export function gridPoints(axes: GridAxis[]): GridPoint[] {
  let pts: GridPoint[] = [{}];
  for (const a of axes) pts = pts.flatMap((p) => a.values.map((v) => ({ ...p, [a.key]: v })));
  return pts;
}

export function pointLabel(p: GridPoint): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

export interface AblationRow {
  label: string;
  point: GridPoint;
  /** "kind/split" → accuracy of this point. */
  accuracy: Record<string, number>;
  /** Overall accuracy and its McNemar p against the baseline. */
  overall: number;
  pVsBaseline: number;
}

const cellName = (kind: string, split: string): string =>
  kind === ALL && split === ALL ? 'all' : split === ALL ? kind : `${kind}/${split}`;

/** Rows of the ablation table from a summary whose configurations are the grid labels (+ the baseline). */
export function ablationRows(
  sum: EvalSummary,
  points: GridPoint[],
): { cells: string[]; rows: AblationRow[]; baseline: Record<string, number> } {
  const cells = sum.cells.map((c) => cellName(c.kind, c.split));
  const overallCell = sum.cells.find((c) => c.kind === ALL && c.split === ALL) ?? sum.cells[sum.cells.length - 1];
  const baseline: Record<string, number> = {};
  sum.cells.forEach((c, k) => {
    baseline[cells[k]] = c.accuracy[sum.baseline];
  });
  const rows = points.map((p) => {
    const label = pointLabel(p);
    const accuracy: Record<string, number> = {};
    sum.cells.forEach((c, k) => {
      accuracy[cells[k]] = c.accuracy[label];
    });
    return { label, point: p, accuracy, overall: overallCell.accuracy[label], pVsBaseline: overallCell.vsBaseline[label]?.p ?? 1 };
  });
  return { cells, rows, baseline };
}

/**
 * One panel per swept option: x = its values; one series per reported cell (the kinds over all splits, and
 * 'all'), y = the mean accuracy over the grid points having that value; the baseline as a dashed line.
 */
export function ablationPanels(axes: GridAxis[], table: ReturnType<typeof ablationRows>, baselineName: string): LinePanelSpec[] {
  const shown = table.cells.filter((c) => !c.includes('/'));
  const series = shown.length ? shown : table.cells;
  return axes
    .filter((a) => a.values.length > 1)
    .map((a) => {
      // A numeric option is drawn on a numeric axis, in value order (λ = 0, 0.25, 1 spaced by value).
      const numeric = a.values.every((v) => typeof v === 'number');
      const values = numeric ? [...a.values].sort((x, y) => (x as number) - (y as number)) : a.values;
      return {
        title: `accuracy vs ${a.key}`,
        xLabel: a.key,
        yLabel: 'mean accuracy',
        x: values.map(String),
        ...(numeric ? { xValues: values as number[] } : {}),
        series: [
          ...series.map((cell) => ({
            name: cell,
            values: values.map((v) => {
              const rs = table.rows
                .filter((r) => r.point[a.key] === v)
                .map((r) => r.accuracy[cell])
                .filter(Number.isFinite);
              return rs.length ? rs.reduce((x, y) => x + y, 0) / rs.length : NaN;
            }),
          })),
          ...(series.includes('all')
            ? [{ name: `${baselineName} (all)`, values: values.map(() => table.baseline.all), dashed: true }]
            : []),
        ],
      };
    });
}

/** A CSV field: quoted only when it holds a comma, quote or line break (RFC 4180). */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * ablation.csv: one row per grid point (the swept options, the accuracy of every cell, McNemar p against the
 * baseline), then the baseline's row with `clip` in the first option column and the others empty.
 */
export function ablationCsv(axes: GridAxis[], table: ReturnType<typeof ablationRows>, baselineName = 'clip'): string {
  const head = [...axes.map((a) => a.key as string), ...table.cells.map((c) => `acc_${c}`), `p_vs_${baselineName}`];
  const rows = table.rows.map((r) => [
    ...axes.map((a) => String(r.point[a.key])),
    ...table.cells.map((c) => String(r.accuracy[c])),
    String(r.pVsBaseline),
  ]);
  rows.push([...axes.map((_, i) => (i === 0 ? baselineName : '')), ...table.cells.map((c) => String(table.baseline[c])), '']);
  return [head, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}
