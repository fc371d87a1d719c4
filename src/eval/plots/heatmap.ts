/**
 * Alignment heatmaps: for each phrase group of a caption, the image as the model sees it with the group's
 * `sim_p` map over the patch grid overlaid (viridis, per-panel min–max) and its chosen patches `R_k` outlined,
 * labelled with the group words and Δ_k.
 */
import { Jimp } from 'jimp';
import { font, JimpImage, Raster, RGB, viridis } from './raster';

export interface HeatGroup {
  /** The group's words, e.g. "red square". */
  label: string;
  /** Binding difference Δ_k (NaN when the group has no attribute). */
  delta: number;
  /** Phrase–patch similarity per patch, row-major over the grid: [gridH·gridW]. */
  simP: ArrayLike<number>;
  /** Chosen patch indices R_k (outlined as one shape). */
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
  /** The model-input view of the image (already resized/cropped to the model resolution). */
  image: JimpImage;
  gridH: number;
  gridW: number;
  groups: HeatGroup[];
  /** Panel edge in pixels (default 224). */
  panel?: number;
  /** Overlay opacity (default 0.55). */
  alpha?: number;
}

const OUTLINE: RGB = [255, 40, 40];

/** Read an image file and give the square model-input view (shortest side to `size`, centre crop). */
export async function modelView(file: string, size: number): Promise<JimpImage> {
  const img = await Jimp.read(file);
  return img.cover({ w: size, h: size }) as unknown as JimpImage;
}

/** Outline the boundary of a set of grid cells (edges between a chosen cell and an unchosen one). */
function outline(r: Raster, cells: Set<number>, gw: number, gh: number, x0: number, y0: number, cw: number, ch: number): void {
  const t = 3;
  const has = (x: number, y: number): boolean => x >= 0 && y >= 0 && x < gw && y < gh && cells.has(y * gw + x);
  for (const j of cells) {
    const x = j % gw, y = Math.floor(j / gw);
    const L = x0 + x * cw, T = y0 + y * ch;
    if (!has(x, y - 1)) r.fillRect(L, T, cw, t, OUTLINE);
    if (!has(x, y + 1)) r.fillRect(L, T + ch - t, cw, t, OUTLINE);
    if (!has(x - 1, y)) r.fillRect(L, T, t, ch, OUTLINE);
    if (!has(x + 1, y)) r.fillRect(L + cw - t, T, t, ch, OUTLINE);
  }
}

export async function alignmentHeatmap(spec: HeatmapSpec): Promise<Raster> {
  const f12 = await font(12), f14 = await font(14), f16 = await font(16);
  const P = spec.panel ?? 224, alpha = spec.alpha ?? 0.55, pad = 16;
  const n = Math.max(1, spec.groups.length);
  const subs = spec.subtitle === undefined ? [] : Array.isArray(spec.subtitle) ? spec.subtitle : [spec.subtitle];
  const top = 40 + 18 * subs.length, labelH = 40;
  const legendH = 34;
  const width = Math.max(pad + n * (P + pad), 480);
  const r = new Raster(width, top + P + labelH + legendH + pad);
  r.text(f16, width / 2, 10, spec.title, 'center');
  subs.forEach((line, i) => r.text(f12, width / 2, 32 + 18 * i, line, 'center'));
  const base = spec.image.clone().resize({ w: P, h: P }) as unknown as JimpImage;
  const cellW = P / spec.gridW, cellH = P / spec.gridH;
  spec.groups.forEach((g, k) => {
    const x0 = pad + k * (P + pad), y0 = top;
    r.blit(base, x0, y0);
    const vals = Array.from(g.simP);
    const lo = Math.min(...vals), hi = Math.max(...vals);
    for (let j = 0; j < vals.length; j++) {
      const c = viridis(hi > lo ? (vals[j] - lo) / (hi - lo) : 0.5);
      const gx = j % spec.gridW, gy = Math.floor(j / spec.gridW);
      r.fillRect(x0 + gx * cellW, y0 + gy * cellH, cellW, cellH, c, alpha);
    }
    outline(r, new Set(Array.from(g.chosen)), spec.gridW, spec.gridH, x0, y0, cellW, cellH);
    const d = g.note ?? (Number.isFinite(g.delta) ? `delta=${g.delta >= 0 ? '+' : ''}${g.delta.toFixed(3)}` : '(no attribute)');
    r.text(f14, x0 + P / 2, y0 + P + 6, g.label, 'center');
    r.text(f12, x0 + P / 2, y0 + P + 24, d.trim(), 'center');
  });
  // Colour key: low → high sim_p, and the outline meaning.
  const ky = top + P + labelH + 8;
  r.text(f12, pad, ky, 'sim_p low');
  for (let i = 0; i < 120; i++) r.fillRect(pad + 70 + i, ky + 2, 1, 12, viridis(i / 119));
  r.text(f12, pad + 196, ky, 'high');
  r.strokeRect(pad + 240, ky + 1, 14, 14, OUTLINE, 3);
  r.text(f12, pad + 260, ky, spec.outlineLabel ?? 'chosen patches (R_k)');
  return r;
}
