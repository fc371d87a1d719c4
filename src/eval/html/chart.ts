/**
 * The accuracy chart of report.html as an accessible SVG (role="img", a title and a description, one <title> per
 * bar, a table-equivalent in the page): the same cells and series as accuracy.png, drawn as vector text.
 */
import { niceTicks, PALETTE } from '../plots/raster';
import { escapeHtml } from './escape';

export interface SvgBarSpec {
  title: string;
  yLabel: string;
  /** Group labels, one per cell ("swap-att / seen"). */
  groups: string[];
  series: { name: string; values: number[] }[];
  yRange: [number, number];
}

const css = (k: number) => `rgb(${PALETTE[k % PALETTE.length].join(',')})`;

export function svgBarChart(spec: SvgBarSpec): string {
  const G = spec.groups.length,
    S = spec.series.length;
  const left = 56,
    right = 12,
    top = 40,
    bottom = 44,
    barW = 14,
    gap = 18;
  const groupW = S * barW + gap;
  const width = left + right + Math.max(1, G) * groupW;
  const height = 284,
    plotH = height - top - bottom;
  const [lo, hi] = spec.yRange;
  const y = (v: number) => top + plotH - ((v - lo) / (hi - lo)) * plotH;
  const parts: string[] = [];
  const desc = `${spec.series.map((s) => s.name).join(', ')} per cell; ${G} cells.`;
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="chart-title chart-desc" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
  );
  parts.push(`<title id="chart-title">${escapeHtml(spec.title)}</title><desc id="chart-desc">${escapeHtml(desc)}</desc>`);
  for (const t of niceTicks(lo, hi, 5)) {
    if (t < lo - 1e-9 || t > hi + 1e-9) continue;
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(t)}" y2="${y(t)}" stroke="#e1e1e1"/>`);
    parts.push(`<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${Number(t.toFixed(3))}</text>`);
  }
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#282828"/>`);
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#282828"/>`);
  parts.push(`<text transform="translate(14 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(spec.yLabel)}</text>`);
  spec.groups.forEach((g, gi) => {
    const x0 = left + gap / 2 + gi * groupW;
    spec.series.forEach((s, si) => {
      const v = s.values[gi];
      if (!Number.isFinite(v)) return;
      const yv = y(Math.max(lo, Math.min(hi, v)));
      parts.push(
        `<rect x="${x0 + si * barW}" y="${yv}" width="${barW - 2}" height="${top + plotH - yv}" fill="${css(si)}">` +
          `<title>${escapeHtml(`${g}: ${s.name} ${v.toFixed(3)}`)}</title></rect>`,
      );
    });
    const lines = g.split(' / ');
    lines.forEach((l, k) =>
      parts.push(`<text x="${x0 + (S * barW) / 2}" y="${top + plotH + 14 + k * 12}" text-anchor="middle">${escapeHtml(l)}</text>`),
    );
  });
  let lx = left;
  spec.series.forEach((s, si) => {
    parts.push(`<rect x="${lx}" y="12" width="12" height="12" fill="${css(si)}"/><text x="${lx + 16}" y="22">${escapeHtml(s.name)}</text>`);
    lx += 28 + s.name.length * 7;
  });
  parts.push('</svg>');
  return parts.join('');
}
