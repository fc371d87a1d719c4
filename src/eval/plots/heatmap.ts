/**
 * Alignment pictures: the image as the model sees it (the centre crop), then one panel per phrase group of a
 * caption: the group's per-patch map shown as brightness (patches with a low value are darkened, never tinted,
 * so the colours under test stay as they are), its chosen patches or assigned region outlined in black and white,
 * the other regions in grey with their numbers, labelled with the group's words and its term; a legend says what
 * every mark means.
 */
import { Jimp } from 'jimp';
import { font, JimpImage, Raster, RGB } from './raster';

export interface HeatGroup {
  /** The group's words, e.g. "red square". */
  label: string;
  /** Binding difference Δ_k (NaN when the group has no attribute). */
  delta: number;
  /** Per-patch map shown as brightness, row-major over the grid: [gridH·gridW] (sim_p, or a region's mask). */
  simP: ArrayLike<number>;
  /** Chosen patch indices R_k, or the assigned region's patches (outlined as one shape). */
  chosen: ArrayLike<number>;
  /** Second label line; default `delta=±x.xxx`. */
  note?: string;
}

export interface HeatmapSpec {
  title: string;
  /** Further title lines (scores, what the outline means). */
  subtitle?: string | string[];
  /** Legend text of the outline (default "chosen patches (R_k)"). */
  outlineLabel?: string;
  /** Lines explaining the quantities on the panels (Δ, sim_p, R_k or the region term). */
  legend?: string[];
  /** The model-input view of the image (already resized/cropped to the model resolution). */
  image: JimpImage;
  gridH: number;
  gridW: number;
  groups: HeatGroup[];
  /** Every region found in the image ([gridH·gridW] 0/1 masks), drawn in grey with its number on every panel. */
  regions?: Uint8Array[];
  /** Panel edge in pixels (default 224). */
  panel?: number;
  /** Darkening of the lowest-valued patches (default 0.7; 0 = none). */
  alpha?: number;
}

const BLACK: RGB = [0, 0, 0];
const WHITE: RGB = [255, 255, 255];
const GREY: RGB = [150, 150, 150];

/** Read an image file and give the square model-input view (shortest side to `size`, centre crop). */
export async function modelView(file: string, size: number): Promise<JimpImage> {
  const img = await Jimp.read(file);
  return img.cover({ w: size, h: size }) as unknown as JimpImage;
}

/**
 * Outline the boundary of a set of grid cells (edges between a chosen cell and an unchosen one), `t` px thick,
 * `inset` px inside the cells (so a black and a white line can run side by side).
 */
function outline(
  r: Raster,
  cells: Set<number>,
  gw: number,
  gh: number,
  x0: number,
  y0: number,
  cw: number,
  ch: number,
  c: RGB,
  t: number,
  inset = 0,
): void {
  const has = (x: number, y: number): boolean => x >= 0 && y >= 0 && x < gw && y < gh && cells.has(y * gw + x);
  for (const j of cells) {
    const x = j % gw,
      y = Math.floor(j / gw);
    const L = x0 + x * cw,
      T = y0 + y * ch;
    if (!has(x, y - 1)) r.fillRect(L, T + inset, cw, t, c);
    if (!has(x, y + 1)) r.fillRect(L, T + ch - t - inset, cw, t, c);
    if (!has(x - 1, y)) r.fillRect(L + inset, T, t, ch, c);
    if (!has(x + 1, y)) r.fillRect(L + cw - t - inset, T, t, ch, c);
  }
}

/** Black-and-white outline: visible on any colour without adding one. */
function outlineBW(r: Raster, cells: Set<number>, gw: number, gh: number, x0: number, y0: number, cw: number, ch: number): void {
  outline(r, cells, gw, gh, x0, y0, cw, ch, BLACK, 2, 0);
  outline(r, cells, gw, gh, x0, y0, cw, ch, WHITE, 2, 2);
}

export async function alignmentHeatmap(spec: HeatmapSpec): Promise<Raster> {
  const f12 = await font(12),
    f16w = await font(16, 'white'),
    f14 = await font(14),
    f16 = await font(16);
  const P = spec.panel ?? 224,
    alpha = spec.alpha ?? 0.7,
    pad = 16;
  const n = 1 + Math.max(1, spec.groups.length);
  const subs = spec.subtitle === undefined ? [] : Array.isArray(spec.subtitle) ? spec.subtitle : [spec.subtitle];
  const legend = spec.legend ?? [];
  const top = 40 + 18 * subs.length,
    labelH = 40;
  const legendH = 34 + 18 * legend.length;
  const width = Math.max(pad + n * (P + pad), 560);
  const r = new Raster(width, top + P + labelH + legendH + pad);
  r.text(f16, width / 2, 10, spec.title, 'center');
  subs.forEach((line, i) => r.text(f12, width / 2, 32 + 18 * i, line, 'center'));
  const base = spec.image.clone().resize({ w: P, h: P }) as unknown as JimpImage;
  const cellW = P / spec.gridW,
    cellH = P / spec.gridH;
  // Panel 0: the plain image the model sees.
  r.blit(base, pad, top);
  r.text(f14, pad + P / 2, top + P + 6, 'image', 'center');
  r.text(f12, pad + P / 2, top + P + 24, '(centre crop, as the model sees it)', 'center');
  const regionCells = (spec.regions ?? []).map((m) => new Set(Array.from(m).flatMap((v, j) => (v ? [j] : []))));
  spec.groups.forEach((g, k) => {
    const x0 = pad + (k + 1) * (P + pad),
      y0 = top;
    r.blit(base, x0, y0);
    const vals = Array.from(g.simP);
    const lo = Math.min(...vals),
      hi = Math.max(...vals);
    for (let j = 0; j < vals.length; j++) {
      const t = hi > lo ? (vals[j] - lo) / (hi - lo) : 1;
      const gx = j % spec.gridW,
        gy = Math.floor(j / spec.gridW);
      if (t < 1) r.fillRect(x0 + gx * cellW, y0 + gy * cellH, cellW, cellH, BLACK, alpha * (1 - t));
    }
    regionCells.forEach((cells, q) => {
      outline(r, cells, spec.gridW, spec.gridH, x0, y0, cellW, cellH, GREY, 1);
      const first = Math.min(...cells);
      if (Number.isFinite(first))
        r.text(f16w, x0 + (first % spec.gridW) * cellW + 4, y0 + Math.floor(first / spec.gridW) * cellH + 4, String(q + 1));
    });
    outlineBW(r, new Set(Array.from(g.chosen)), spec.gridW, spec.gridH, x0, y0, cellW, cellH);
    const d = g.note ?? (Number.isFinite(g.delta) ? `delta=${g.delta >= 0 ? '+' : ''}${g.delta.toFixed(3)}` : '(no attribute)');
    r.text(f14, x0 + P / 2, y0 + P + 6, g.label, 'center');
    r.text(f12, x0 + P / 2, y0 + P + 24, d.trim(), 'center');
  });
  // Key: brightness, the outlines, and what the numbers mean.
  const ky = top + P + labelH + 8;
  r.text(f12, pad, ky, 'low');
  for (let i = 0; i < 120; i++)
    r.fillRect(pad + 30 + i, ky + 2, 1, 12, [
      Math.round(255 * (1 - alpha * (1 - i / 119))),
      Math.round(255 * (1 - alpha * (1 - i / 119))),
      Math.round(255 * (1 - alpha * (1 - i / 119))),
    ]);
  r.text(f12, pad + 156, ky, 'high');
  r.strokeRect(pad + 200, ky + 1, 14, 14, BLACK, 2);
  r.strokeRect(pad + 202, ky + 3, 10, 10, WHITE, 2);
  r.text(f12, pad + 220, ky, spec.outlineLabel ?? 'chosen patches (R_k)');
  if (regionCells.length) {
    r.strokeRect(pad + 420, ky + 1, 14, 14, GREY, 1);
    r.text(f12, pad + 440, ky, 'other regions (numbered)');
  }
  legend.forEach((line, i) => r.text(f12, pad, ky + 20 + 18 * i, line));
  return r;
}
