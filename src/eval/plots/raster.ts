/**
 * Drawing primitives on a jimp bitmap (pure JS, no native canvas): filled rectangles, thick lines,
 * dashed lines, rectangle outlines and text in jimp's bundled Open Sans bitmap fonts (black or white only,
 * ASCII only — other characters are replaced before printing so they do not render as '?').
 */
import * as fs from 'fs';
import * as path from 'path';
import { Jimp, loadFont } from 'jimp';

export type JimpImage = InstanceType<typeof Jimp>;
export type Font = Awaited<ReturnType<typeof loadFont>>;
export type RGB = [number, number, number];

export type FontSize = 8 | 10 | 12 | 14 | 16 | 32;

// jimp/fonts is an `exports` subpath that TypeScript's node10 resolution cannot see; Node resolves it.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const FONT_FILES = require('jimp/fonts') as Record<string, string>;
const fontCache = new Map<string, Promise<Font>>();

/** Load (once per process) a bundled bitmap font. White exists only in 8, 16 and 32 px. */
export function font(size: FontSize, color: 'black' | 'white' = 'black'): Promise<Font> {
  const key = `SANS_${size}_${color.toUpperCase()}`;
  const file = FONT_FILES[key];
  if (!file) throw new Error(`no bundled font ${key}`);
  const hit = fontCache.get(key);
  if (hit) return hit;
  const f = loadFont(file) as Promise<Font>;
  fontCache.set(key, f);
  return f;
}

/** Replace characters the bitmap fonts lack (Δ, λ, ×, …) by ASCII. */
export function asciiText(s: string): string {
  return s
    .replace(/Δ/g, 'delta')
    .replace(/λ/g, 'lambda')
    .replace(/×/g, 'x')
    .replace(/[–—]/g, '-')
    .replace(/≥/g, '>=')
    .replace(/≤/g, '<=')
    .replace(/[^\x20-\x7e]/g, '?');
}

export class Raster {
  readonly img: JimpImage;
  readonly width: number;
  readonly height: number;

  constructor(width: number, height: number, bg: RGB = [255, 255, 255]) {
    this.width = Math.round(width);
    this.height = Math.round(height);
    this.img = new Jimp({ width: this.width, height: this.height, color: ((bg[0] << 24) | (bg[1] << 16) | (bg[2] << 8) | 0xff) >>> 0 });
  }

  /** Blend one pixel with colour `c` at opacity `a` (0..1). */
  setPixel(x: number, y: number, c: RGB, a = 1): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const d = this.img.bitmap.data,
      o = (y * this.width + x) * 4;
    for (let ch = 0; ch < 3; ch++) d[o + ch] = Math.round(d[o + ch] * (1 - a) + c[ch] * a);
    d[o + 3] = 255;
  }

  fillRect(x: number, y: number, w: number, h: number, c: RGB, a = 1): void {
    const x0 = Math.max(0, Math.round(x)),
      y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w)),
      y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.setPixel(xx, yy, c, a);
  }

  strokeRect(x: number, y: number, w: number, h: number, c: RGB, t = 1): void {
    this.fillRect(x, y, w, t, c);
    this.fillRect(x, y + h - t, w, t, c);
    this.fillRect(x, y, t, h, c);
    this.fillRect(x + w - t, y, t, h, c);
  }

  /** A line of thickness `t`; `dash` = [on, off] lengths in pixels for a dashed line. */
  line(x0: number, y0: number, x1: number, y1: number, c: RGB, t = 1, dash?: [number, number]): void {
    const len = Math.hypot(x1 - x0, y1 - y0);
    const steps = Math.max(1, Math.ceil(len * 2));
    const r = (t - 1) / 2;
    for (let s = 0; s <= steps; s++) {
      const along = (s / steps) * len;
      if (dash && along % (dash[0] + dash[1]) > dash[0]) continue;
      const x = x0 + ((x1 - x0) * s) / steps,
        y = y0 + ((y1 - y0) * s) / steps;
      if (t <= 1) this.setPixel(x, y, c);
      else
        for (let dy = -r; dy <= r; dy++)
          for (let dx = -r; dx <= r; dx++) if (dx * dx + dy * dy <= r * r + 0.5) this.setPixel(x + dx, y + dy, c);
    }
  }

  /** A filled circle (plot markers). */
  dot(cx: number, cy: number, radius: number, c: RGB): void {
    for (let dy = -radius; dy <= radius; dy++)
      for (let dx = -radius; dx <= radius; dx++) {
        if (dx * dx + dy * dy <= radius * radius + 0.5) this.setPixel(cx + dx, cy + dy, c);
      }
  }

  /**
   * Print `text` with its top-left at (x, y), or aligned: `align` 'center' / 'right' measures the width first.
   * @returns the text width in pixels.
   */
  text(f: Font, x: number, y: number, text: string, align: 'left' | 'center' | 'right' = 'left'): number {
    const s = asciiText(text);
    const w = textWidth(f, s);
    const left = align === 'left' ? x : align === 'center' ? x - w / 2 : x - w;
    this.img.print({ font: f, x: Math.round(left), y: Math.round(y), text: s });
    return w;
  }

  /** Text rotated 90° counter-clockwise (a y-axis label), centred on (cx, cy). */
  verticalText(f: Font, cx: number, cy: number, text: string): void {
    const s = asciiText(text);
    const w = textWidth(f, s) + 4,
      h = f.common.lineHeight + 2;
    const tmp = new Jimp({ width: w, height: h, color: 0xffffffff });
    tmp.print({ font: f, x: 2, y: 1, text: s });
    tmp.rotate(90);
    this.img.composite(tmp, Math.round(cx - tmp.bitmap.width / 2), Math.round(cy - tmp.bitmap.height / 2));
  }

  /** Copy an RGB image (e.g. the input photo, upscaled) into this raster at (x, y). */
  blit(src: JimpImage, x: number, y: number): void {
    this.img.composite(src, Math.round(x), Math.round(y));
  }

  async png(): Promise<Buffer> {
    return this.img.getBuffer('image/png');
  }

  async save(file: string): Promise<void> {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, await this.png());
  }
}

/** Rasters one above the other on a white background (centred). */
export function stack(parts: Raster[], gap = 8): Raster {
  const w = Math.max(...parts.map((p) => p.width));
  const h = parts.reduce((s, p) => s + p.height, 0) + gap * (parts.length - 1);
  const out = new Raster(w, h);
  let y = 0;
  for (const p of parts) {
    out.blit(p.img, (w - p.width) / 2, y);
    y += p.height + gap;
  }
  return out;
}

export function textWidth(f: Font, s: string): number {
  let w = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = f.chars[s[i]];
    if (!ch) continue;
    w += ch.xadvance + (i + 1 < s.length ? (f.kernings[s[i]]?.[s[i + 1]] ?? 0) : 0);
  }
  return w;
}

/** Distinct, colour-blind-friendlier series colours (Okabe–Ito). */
export const PALETTE: RGB[] = [
  [0, 114, 178],
  [230, 159, 0],
  [0, 158, 115],
  [204, 121, 167],
  [86, 180, 233],
  [213, 94, 0],
  [240, 228, 66],
  [0, 0, 0],
];

/** Perceptual-ish colormap (viridis, 5 anchors, linear between) for values in [0, 1]. */
export function viridis(t: number): RGB {
  const stops: RGB[] = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x)),
    f = x - i;
  return [0, 1, 2].map((c) => Math.round(stops[i][c] + (stops[i + 1][c] - stops[i][c]) * f)) as RGB;
}

/** "Nice" axis ticks covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) {
    hi = lo + 1;
  }
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}
