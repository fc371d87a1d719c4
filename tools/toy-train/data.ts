/**
 * Training-distribution batches of the toy-shapes world (../shared/toy-shapes/README.md, "The shapes world" and
 * "Training"): one object with probability 1/4, else two training combinations that differ in colour and shape;
 * the six held-out combinations never appear. Each caption is drawn fresh: a random training template and a random
 * object order. Images come from tools/toy-world's renderer (the same world as the bundled benchmark).
 */
import { CLIP_MEAN, CLIP_STD } from '../../src/image/constants';
import { rng } from '../../src/random';
import { tokenizeToArrays } from '../../src/text/tokenize';
import { placeBoxes, render } from '../toy-world/render';
import { IMAGE_SIZE, OBJECT_GAP, OBJECT_SIZE, TRAINING_OBJECTS } from '../toy-world/world';
import type { Obj } from '../toy-world/world';

export const ONE_OBJECT_P = 0.25;
export const TWO_OBJECT_TEMPLATES = [
  'a {c1} {s1} and a {c2} {s2}',
  'a {c1} {s1} next to a {c2} {s2}',
  'a photo of a {c1} {s1} and a {c2} {s2}',
];
export const ONE_OBJECT_TEMPLATES = ['a {c} {s}', 'a photo of a {c} {s}'];
/**
 * Token rows for training captions: the longest ("a photo of a cyan diamond and a …", 13 tokens with SOT/EOT)
 * fits. Under the causal mask the EOT output does not depend on later positions, so this equals context 32.
 */
export const TRAIN_TOKENS = 16;

export interface Batch {
  /** [n,3,R,R] normalised pixels, channels first. */
  pixels: Float32Array;
  /** [n,TRAIN_TOKENS] token ids, zero padded. */
  ids: Int32Array;
  captions: string[];
  scenes: Obj[][];
  n: number;
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

/** A training scene: 1 object (p 1/4) or 2 training combinations differing in colour and shape. */
export function drawScene(r: () => number): Obj[] {
  if (r() < ONE_OBJECT_P) return [pick(r, TRAINING_OBJECTS)];
  for (;;) {
    const a = pick(r, TRAINING_OBJECTS),
      b = pick(r, TRAINING_OBJECTS);
    if (a.color !== b.color && a.shape !== b.shape) return [a, b];
  }
}

/** A fresh caption for a scene: random template, random object order. */
export function drawCaption(r: () => number, scene: Obj[]): string {
  if (scene.length === 1) return pick(r, ONE_OBJECT_TEMPLATES).replace('{c}', scene[0].color).replace('{s}', scene[0].shape);
  const [a, b] = r() < 0.5 ? scene : [scene[1], scene[0]];
  return pick(r, TWO_OBJECT_TEMPLATES).replace('{c1}', a.color).replace('{s1}', a.shape).replace('{c2}', b.color).replace('{s2}', b.shape);
}

/** Draws boxes until they fit (two 24 px boxes always fit in 64 px; the loop only retries rare rejections). */
function placed(r: () => number, scene: Obj[]) {
  for (;;) {
    const boxes = placeBoxes(r, scene.length, OBJECT_SIZE[0], OBJECT_SIZE[1], OBJECT_GAP);
    if (boxes) return scene.map((o, k) => ({ ...o, box: boxes[k] }));
  }
}

/** RGBA uint8 [S·S·4] → normalised channels-first floats at `out[offset…]`. */
function normalise(rgba: Uint8Array, out: Float32Array, offset: number): void {
  const S = IMAGE_SIZE,
    plane = S * S;
  for (let c = 0; c < 3; c++) {
    const m = CLIP_MEAN[c],
      s = CLIP_STD[c];
    for (let i = 0; i < plane; i++) out[offset + c * plane + i] = (rgba[i * 4 + c] / 255 - m) / s;
  }
}

/** A stream of batches from one seed (same seed → same batches). */
export class BatchStream {
  private readonly r: () => number;
  constructor(seed: number) {
    this.r = rng(seed);
  }

  next(n: number): Batch {
    const per = 3 * IMAGE_SIZE * IMAGE_SIZE;
    const pixels = new Float32Array(n * per);
    const scenes: Obj[][] = [],
      captions: string[] = [];
    for (let i = 0; i < n; i++) {
      const scene = drawScene(this.r);
      scenes.push(scene);
      normalise(render(this.r, placed(this.r, scene)), pixels, i * per);
      captions.push(drawCaption(this.r, scene));
    }
    const rows = tokenizeToArrays(captions, { contextLength: TRAIN_TOKENS });
    const ids = new Int32Array(n * TRAIN_TOKENS);
    rows.forEach((row, i) => ids.set(row, i * TRAIN_TOKENS));
    return { pixels, ids, captions, scenes, n };
  }
}
