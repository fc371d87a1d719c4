/**
 * The toy-shapes world, as specified in ../shared/toy-shapes/README.md ("The shapes world"): the one place in the
 * repository that holds its colours, shapes, held-out combinations and caption template. The generator draws fresh
 * images and items from it, so that development and held-out sets can be made with seeds the bundled model never saw.
 */

export const COLORS = ['red', 'green', 'blue', 'yellow', 'purple', 'white', 'orange', 'cyan'] as const;
export const SHAPES = ['square', 'circle', 'triangle', 'cross', 'star', 'diamond'] as const;
export type Color = (typeof COLORS)[number];
export type Shape = (typeof SHAPES)[number];

/** Nominal RGB of each colour; every object gets a uniform ±COLOR_JITTER per channel on top. */
export const RGB: Record<Color, [number, number, number]> = {
  red: [220, 40, 40],
  green: [40, 190, 60],
  blue: [50, 90, 235],
  yellow: [235, 215, 40],
  purple: [150, 60, 210],
  white: [235, 235, 235],
  orange: [245, 130, 20],
  cyan: [40, 215, 215],
};
export const COLOR_JITTER = 15;

/** Combinations that never occur in the model's training images or captions (the `unseen` split's objects). */
export const HELD_OUT: ReadonlyArray<readonly [Color, Shape]> = [
  ['red', 'triangle'],
  ['green', 'cross'],
  ['blue', 'circle'],
  ['yellow', 'square'],
  ['purple', 'star'],
  ['cyan', 'diamond'],
];

export interface Obj {
  color: Color;
  shape: Shape;
}

export const IMAGE_SIZE = 64;
/** Object bounding boxes (square), in pixels, and the least gap between two boxes. */
export const OBJECT_SIZE: [number, number] = [14, 24];
export const OBJECT_GAP = 2;
/** Background: base per channel, gradient amplitude per channel, Gaussian noise sigma. */
export const BACKGROUND_BASE: [number, number] = [4, 40];
export const GRADIENT_MAX = 28;
export const NOISE_SIGMA: [number, number] = [2, 6];

export function isHeldOut(o: Obj): boolean {
  return HELD_OUT.some(([c, s]) => c === o.color && s === o.shape);
}

export const ALL_OBJECTS: Obj[] = COLORS.flatMap((color) => SHAPES.map((shape) => ({ color, shape })));
export const TRAINING_OBJECTS: Obj[] = ALL_OBJECTS.filter((o) => !isHeldOut(o));

/** The benchmark's only template (the world always writes "a", also before "orange"). */
export function phrase(o: { color?: Color; shape: Shape }): string {
  return o.color ? `a ${o.color} ${o.shape}` : `a ${o.shape}`;
}

export function caption(objs: { color?: Color; shape: Shape }[]): string {
  return objs.map(phrase).join(' and ');
}
