/**
 * Rasteriser of the toy-shapes world: dark background with a gradient and Gaussian noise, flat-coloured shapes
 * with 4×4 supersampled anti-aliasing (README of ../shared/toy-shapes). Stress backgrounds (stripes, checks,
 * blotches, a brighter base) go beyond the world on purpose, for the region-proposal stress set.
 */
import { COLOR_JITTER, BACKGROUND_BASE, GRADIENT_MAX, IMAGE_SIZE, NOISE_SIGMA, RGB } from './world';
import type { Color, Shape } from './world';

export type Background = 'plain' | 'stripes' | 'checks' | 'blotches' | 'bright';
export const BACKGROUNDS: Background[] = ['plain', 'stripes', 'checks', 'blotches', 'bright'];

/** A placed object: colour, shape and its square bounding box (top-left x, y and side, pixels). */
export interface Placed {
  color: Color;
  shape: Shape;
  box: [number, number, number];
}

type Rand = () => number;
const SUB = 4;

export function uniform(r: Rand, lo: number, hi: number): number {
  return lo + (hi - lo) * r();
}

export function randInt(r: Rand, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

function gaussian(r: Rand): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** Star outline: ten vertices, one point up, a regular pentagram's inner radius, centred to span its box. */
const STAR: [number, number][] = (() => {
  const R = 0.5,
    r = R * 0.382;
  const cy = R + (1 - (R + R * Math.cos(Math.PI / 5))) / 2;
  return Array.from({ length: 10 }, (_, k) => {
    const a = -Math.PI / 2 + (k * Math.PI) / 5;
    const rad = k % 2 === 0 ? R : r;
    return [0.5 + rad * Math.cos(a), cy + rad * Math.sin(a)] as [number, number];
  });
})();

function inPolygon(x: number, y: number, poly: [number, number][]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i],
      [xj, yj] = poly[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Whether the point (u, v) of the unit box, v downwards, lies inside the shape. */
export function inside(shape: Shape, u: number, v: number): boolean {
  switch (shape) {
    case 'square':
      return u >= 0 && u <= 1 && v >= 0 && v <= 1;
    case 'circle':
      return (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25;
    case 'triangle':
      return v <= 1 && v >= 2 * Math.abs(u - 0.5);
    case 'cross':
      return (Math.abs(u - 0.5) <= 1 / 6 && v >= 0 && v <= 1) || (Math.abs(v - 0.5) <= 1 / 6 && u >= 0 && u <= 1);
    case 'star':
      return inPolygon(u, v, STAR);
    case 'diamond':
      return Math.abs(u - 0.5) + Math.abs(v - 0.5) <= 0.5;
  }
}

/** Background as float RGB, [S·S·3] row-major. */
function background(r: Rand, kind: Background): Float32Array {
  const S = IMAGE_SIZE;
  const px = new Float32Array(S * S * 3);
  const lo = kind === 'bright' ? 70 : BACKGROUND_BASE[0],
    hi = kind === 'bright' ? 120 : BACKGROUND_BASE[1];
  const base = [0, 1, 2].map(() => uniform(r, lo, hi));
  const amp = [0, 1, 2].map(() => uniform(r, 0, GRADIENT_MAX));
  const theta = uniform(r, 0, 2 * Math.PI),
    dx = Math.cos(theta),
    dy = Math.sin(theta);
  const second = [0, 1, 2].map(() => uniform(r, BACKGROUND_BASE[0], BACKGROUND_BASE[1] + 30));
  const period = randInt(r, 4, 12),
    phase = uniform(r, 0, period);
  const blobs = Array.from({ length: 6 }, () => [uniform(r, 0, S), uniform(r, 0, S), uniform(r, 6, 18)]);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      // Gradient position in [0, 1] along the direction, over the image's extent in that direction.
      const t = ((x - S / 2) * dx + (y - S / 2) * dy) / (S * (Math.abs(dx) + Math.abs(dy))) + 0.5;
      let w = 0;
      if (kind === 'stripes') w = Math.floor((x * dx + y * dy + phase + S) / period) % 2;
      else if (kind === 'checks') w = (Math.floor((x + phase) / period) + Math.floor((y + phase) / period)) % 2;
      else if (kind === 'blotches')
        w = Math.min(
          1,
          blobs.reduce((s, [bx, by, br]) => s + Math.exp(-((x - bx) ** 2 + (y - by) ** 2) / (br * br)), 0),
        );
      for (let c = 0; c < 3; c++) px[(y * S + x) * 3 + c] = (1 - w) * base[c] + w * second[c] + amp[c] * t;
    }
  }
  return px;
}

/**
 * Renders objects (boxes already placed) onto a background of the given kind; returns 8-bit RGBA for a PNG
 * encoder. Coverage is the fraction of the 4×4 sub-samples of a pixel inside the shape.
 */
export function render(r: Rand, objects: Placed[], kind: Background = 'plain'): Uint8Array {
  const S = IMAGE_SIZE;
  const px = background(r, kind);
  for (const o of objects) {
    const rgb = RGB[o.color].map((v) => v + randInt(r, -COLOR_JITTER, COLOR_JITTER));
    const [bx, by, side] = o.box;
    for (let y = Math.max(0, Math.floor(by)); y < Math.min(S, Math.ceil(by + side)); y++) {
      for (let x = Math.max(0, Math.floor(bx)); x < Math.min(S, Math.ceil(bx + side)); x++) {
        let hit = 0;
        for (let sy = 0; sy < SUB; sy++)
          for (let sx = 0; sx < SUB; sx++) {
            if (inside(o.shape, (x + (sx + 0.5) / SUB - bx) / side, (y + (sy + 0.5) / SUB - by) / side)) hit++;
          }
        const a = hit / (SUB * SUB);
        if (a > 0) for (let c = 0; c < 3; c++) px[(y * S + x) * 3 + c] = (1 - a) * px[(y * S + x) * 3 + c] + a * rgb[c];
      }
    }
  }
  const sigma = uniform(r, NOISE_SIGMA[0], NOISE_SIGMA[1]);
  const out = new Uint8Array(S * S * 4);
  for (let i = 0; i < S * S; i++) {
    for (let c = 0; c < 3; c++) out[i * 4 + c] = Math.max(0, Math.min(255, Math.round(px[i * 3 + c] + sigma * gaussian(r))));
    out[i * 4 + 3] = 255;
  }
  return out;
}

/**
 * Places n square boxes with sides in [minSide, maxSide], inside the image and at least `gap` px apart
 * (rejection sampling; null when the boxes do not fit after many tries, so the caller redraws).
 */
export function placeBoxes(r: Rand, n: number, minSide: number, maxSide: number, gap: number): [number, number, number][] | null {
  const S = IMAGE_SIZE;
  for (let attempt = 0; attempt < 200; attempt++) {
    const boxes: [number, number, number][] = [];
    for (let k = 0; k < n; k++) {
      let placed = false;
      for (let t = 0; t < 100 && !placed; t++) {
        const side = randInt(r, minSide, maxSide);
        const b: [number, number, number] = [randInt(r, 0, S - side), randInt(r, 0, S - side), side];
        const clear = boxes.every(
          ([x, y, s]) => b[0] >= x + s + gap || x >= b[0] + b[2] + gap || b[1] >= y + s + gap || y >= b[1] + b[2] + gap,
        );
        if (clear) {
          boxes.push(b);
          placed = true;
        }
      }
      if (!placed) break;
    }
    if (boxes.length === n) return boxes;
  }
  return null;
}
