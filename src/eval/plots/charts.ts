/**
 * Charts for reports: a grouped bar chart (accuracy per cell for each configuration) and line plots
 * (accuracy against one swept option, one panel per option). Each has a title, axis labels and a legend.
 */
import { font, niceTicks, PALETTE, Raster, RGB, textWidth, asciiText, Font } from './raster';

export interface Series {
  name: string;
  values: number[];
  color?: RGB;
  dashed?: boolean;
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const AXIS: RGB = [40, 40, 40];
const GRID: RGB = [225, 225, 225];

function fmtTick(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toFixed(3)).toString();
}

/** y axis with ticks, grid lines and a rotated label; returns the value → pixel map. */
function yAxis(r: Raster, f: Font, box: Box, lo: number, hi: number, label: string): (v: number) => number {
  const ticks = niceTicks(lo, hi, 5);
  const y = (v: number): number => box.y + box.h - ((v - lo) / (hi - lo)) * box.h;
  for (const t of ticks) {
    if (t < lo - 1e-9 || t > hi + 1e-9) continue;
    r.line(box.x, y(t), box.x + box.w, y(t), GRID);
    r.line(box.x - 4, y(t), box.x, y(t), AXIS);
    r.text(f, box.x - 6, y(t) - f.common.lineHeight / 2, fmtTick(t), 'right');
  }
  r.line(box.x, box.y, box.x, box.y + box.h, AXIS);
  r.line(box.x, box.y + box.h, box.x + box.w, box.y + box.h, AXIS);
  r.verticalText(f, box.x - 44, box.y + box.h / 2, label);
  return y;
}

function legend(r: Raster, f: Font, x: number, y: number, series: Series[]): void {
  let cx = x;
  series.forEach((s, k) => {
    const c = s.color ?? PALETTE[k % PALETTE.length];
    if (s.dashed) r.line(cx, y + 7, cx + 18, y + 7, c, 2, [4, 3]);
    else r.fillRect(cx, y + 1, 14, 12, c);
    cx += 22;
    cx += r.text(f, cx, y - 1, s.name) + 16;
  });
}

function legendWidth(f: Font, series: Series[]): number {
  return series.reduce((w, s) => w + 22 + textWidth(f, asciiText(s.name)) + 16, 0);
}

export interface BarChartSpec {
  title: string;
  yLabel: string;
  /** One label per group of bars (each may hold a line break: "swap-att\nseen"). */
  groups: string[];
  /** One series per configuration; values[g] for group g (NaN = no bar). */
  series: Series[];
  yRange?: [number, number];
  /** Print the value above each bar. */
  labels?: boolean;
}

export async function barChart(spec: BarChartSpec): Promise<Raster> {
  const f12 = await font(12),
    f16 = await font(16),
    f10 = await font(10);
  const nG = spec.groups.length,
    nS = spec.series.length;
  const barW = nS > 3 ? 18 : 24,
    gap = 26;
  const plotW = Math.max(360, nG * (nS * barW + gap) + gap);
  const left = 80,
    top = 64,
    plotH = 300,
    bottom = 70;
  const width = Math.max(left + plotW + 30, legendWidth(f12, spec.series) + 120);
  const r = new Raster(width, top + plotH + bottom);
  r.text(f16, width / 2, 12, spec.title, 'center');
  legend(r, f12, left, 38, spec.series);
  const [lo, hi] = spec.yRange ?? [0, Math.max(1e-9, ...spec.series.flatMap((s) => s.values.filter(Number.isFinite)))];
  const box = { x: left, y: top, w: plotW, h: plotH };
  const y = yAxis(r, f12, box, lo, hi, spec.yLabel);
  spec.groups.forEach((g, gi) => {
    const gx = left + gap + gi * (nS * barW + gap);
    spec.series.forEach((s, si) => {
      const v = s.values[gi];
      if (!Number.isFinite(v)) return;
      const c = s.color ?? PALETTE[si % PALETTE.length];
      const x = gx + si * barW;
      const yv = y(Math.min(hi, Math.max(lo, v)));
      r.fillRect(x + 1, yv, barW - 2, box.y + box.h - yv, c);
      if (spec.labels !== false) r.text(f10, x + barW / 2, yv - 13, v.toFixed(2).replace(/^0/, ''), 'center');
    });
    g.split('\n').forEach((line, li) => r.text(f12, gx + (nS * barW) / 2, box.y + box.h + 6 + li * 15, line, 'center'));
  });
  return r;
}

export interface LinePanelSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  /** x labels (option values as text); evenly spaced categories unless `xValues` is given. */
  x: string[];
  /** Numeric x values (same order as `x`): placed by value on a linear axis with its own ticks (λ = 0, 0.25, 1). */
  xValues?: number[];
  series: Series[];
  yRange?: [number, number];
}

/**
 * Pixel x of each point: by value on a linear axis when `xValues` holds two or more distinct numbers, else
 * evenly spaced categories (20 px margins).
 */
export function xPositions(spec: Pick<LinePanelSpec, 'x' | 'xValues'>, box: Box): (i: number) => number {
  const n = spec.x.length;
  const v = spec.xValues;
  if (v && v.length === n && v.every(Number.isFinite)) {
    const lo = Math.min(...v),
      hi = Math.max(...v);
    if (hi > lo) return (i) => box.x + 20 + ((v[i] - lo) / (hi - lo)) * (box.w - 40);
  }
  return (i) => box.x + (n === 1 ? box.w / 2 : 20 + (i * (box.w - 40)) / (n - 1));
}

/** Tick marks under the x axis: nice round numbers on a numeric axis, the category labels otherwise. */
function xTicks(spec: LinePanelSpec, box: Box): { x: number; label: string }[] {
  const v = spec.xValues;
  const xs = xPositions(spec, box);
  if (v && v.length === spec.x.length && v.every(Number.isFinite) && Math.max(...v) > Math.min(...v)) {
    const lo = Math.min(...v),
      hi = Math.max(...v);
    const at = (t: number): number => box.x + 20 + ((t - lo) / (hi - lo)) * (box.w - 40);
    return niceTicks(lo, hi, 5)
      .filter((t) => t >= lo - 1e-9 && t <= hi + 1e-9)
      .map((t) => ({ x: at(t), label: fmtTick(t) }));
  }
  return spec.x.map((label, i) => ({ x: xs(i), label }));
}

function linePanel(r: Raster, box: Box, spec: LinePanelSpec, fonts: { f12: Font; f14: Font }): void {
  const { f12, f14 } = fonts;
  r.text(f14, box.x + box.w / 2, box.y - 26, spec.title, 'center');
  const vals = spec.series.flatMap((s) => s.values.filter(Number.isFinite));
  let [lo, hi] = spec.yRange ?? [Math.min(...vals), Math.max(...vals)];
  if (!spec.yRange) {
    const pad = Math.max(0.01, (hi - lo) * 0.1);
    lo -= pad;
    hi += pad;
  }
  const y = yAxis(r, f12, box, lo, hi, spec.yLabel);
  const xs = xPositions(spec, box);
  for (const t of xTicks(spec, box)) {
    r.line(t.x, box.y + box.h, t.x, box.y + box.h + 4, AXIS);
    r.text(f12, t.x, box.y + box.h + 6, t.label, 'center');
  }
  r.text(f12, box.x + box.w / 2, box.y + box.h + 24, spec.xLabel, 'center');
  spec.series.forEach((s, k) => {
    const c = s.color ?? PALETTE[k % PALETTE.length];
    let prev: [number, number] | undefined;
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) {
        prev = undefined;
        return;
      }
      const p: [number, number] = [xs(i), y(v)];
      if (prev) r.line(prev[0], prev[1], p[0], p[1], c, 2, s.dashed ? [5, 4] : undefined);
      if (!s.dashed) r.dot(p[0], p[1], 3, c);
      prev = p;
    });
  });
}

/** Several line panels side by side (wrapping every `perRow`) sharing one legend and title. */
export async function linePlots(title: string, panels: LinePanelSpec[], perRow = 3): Promise<Raster> {
  const f12 = await font(12),
    f14 = await font(14),
    f16 = await font(16);
  const pw = 300,
    ph = 220,
    padL = 80,
    padT = 44,
    padB = 56;
  const cols = Math.min(perRow, Math.max(1, panels.length)),
    rows = Math.ceil(panels.length / cols);
  const seriesNames = new Map<string, Series>();
  panels.forEach((p) =>
    p.series.forEach((s, k) => {
      if (!seriesNames.has(s.name)) seriesNames.set(s.name, { ...s, color: s.color ?? PALETTE[k % PALETTE.length] });
    }),
  );
  const allSeries = [...seriesNames.values()];
  const width = Math.max(cols * (pw + padL + 20) + 20, legendWidth(f12, allSeries) + 40);
  const top = 44 + Math.ceil(legendWidth(f12, allSeries) / (width - 40)) * 18;
  const r = new Raster(width, top + rows * (ph + padT + padB));
  r.text(f16, width / 2, 12, title, 'center');
  // Wrap the shared legend over several lines when it is wider than the image.
  let line: Series[] = [],
    ly = 40;
  for (const s of allSeries) {
    if (line.length && legendWidth(f12, [...line, s]) > width - 40) {
      legend(r, f12, 20, ly, line);
      line = [];
      ly += 18;
    }
    line.push(s);
  }
  if (line.length) legend(r, f12, 20, ly, line);
  panels.forEach((p, k) => {
    const cx = k % cols,
      cy = Math.floor(k / cols);
    const box = { x: 20 + cx * (pw + padL + 20) + padL, y: top + cy * (ph + padT + padB) + padT, w: pw, h: ph };
    const colored = { ...p, series: p.series.map((s) => ({ ...s, color: seriesNames.get(s.name)!.color })) };
    linePanel(r, box, colored, { f12, f14 });
  });
  return r;
}
