/**
 * Scenes and benchmark items of the toy-shapes world. The three kinds of the bundled benchmark follow its README
 * exactly (swap-att, replace-att, replace-obj; `seen` / `unseen` splits); the others are ours, to check that a
 * method does not win or lose by the mere number of attributes a caption names:
 *   add-att           positive names no attribute ("a star and a circle"); the negative adds a colour absent from
 *                     the image to one object ("a red star and a circle").
 *   add-att-bind      the same, but the added colour is the other object's (a binding error: only binding tells).
 *   add-att-one(-bind) positive names one object's colour; the negative adds a wrong colour to the other object.
 *   replace-obj-bare  positive names both colours; the negative names none and replaces one shape by an absent one
 *                     (a caption must not lose for naming attributes either).
 */
import { ALL_OBJECTS, caption, COLORS, HELD_OUT, isHeldOut, SHAPES, TRAINING_OBJECTS } from './world';
import type { Color, Obj, Shape } from './world';

type Rand = () => number;

export const PAIR_KINDS = [
  'swap-att',
  'replace-att',
  'replace-obj',
  'add-att',
  'add-att-bind',
  'add-att-one',
  'add-att-one-bind',
  'replace-obj-bare',
] as const;
export type PairKind = (typeof PAIR_KINDS)[number];

export interface Item {
  id: string;
  image: string;
  positive: string;
  negative: string;
  kind: string;
  split: string;
  /** Stress items: object scale and background. */
  scale?: string;
  background?: string;
}

export function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

const isTraining = (color: Color, shape: Shape) => !isHeldOut({ color, shape });

/** Objects differ pairwise in colour and in shape (the world's rule for the objects of one image). */
export function distinct(objs: Obj[]): boolean {
  return new Set(objs.map((o) => o.color)).size === objs.length && new Set(objs.map((o) => o.shape)).size === objs.length;
}

/**
 * Two objects of a `seen` image: training combinations whose colour-swapped partners are training combinations
 * too, so every pair a seen item names is in-distribution.
 */
export function seenPair(r: Rand): [Obj, Obj] {
  for (;;) {
    const a = pick(r, TRAINING_OBJECTS),
      b = pick(r, TRAINING_OBJECTS);
    if (distinct([a, b]) && isTraining(b.color, a.shape) && isTraining(a.color, b.shape)) return [a, b];
  }
}

/** Two objects of an `unseen` image: one held-out combination, the other any that differs (both held out 1/6 of the time). */
export function unseenPair(r: Rand, index: number): [Obj, Obj] {
  const [c, s] = pick(r, HELD_OUT);
  const a: Obj = { color: c, shape: s };
  const pool = index % 6 === 5 ? HELD_OUT.map(([color, shape]) => ({ color, shape })) : ALL_OBJECTS;
  for (;;) {
    const b = pick(r, pool);
    if (distinct([a, b])) return r() < 0.5 ? [a, b] : [b, a];
  }
}

/** A colour absent from `objs` (with a training combination on `shape` when `seen`). */
function absentColor(r: Rand, objs: Obj[], shape: Shape, seen: boolean): Color {
  const pool = COLORS.filter((c) => objs.every((o) => o.color !== c) && (!seen || isTraining(c, shape)));
  return pick(r, pool);
}

function absentShape(r: Rand, objs: Obj[], color: Color | undefined, seen: boolean): Shape {
  const pool = SHAPES.filter((s) => objs.every((o) => o.shape !== s) && (!seen || !color || isTraining(color, s)));
  return pick(r, pool);
}

/**
 * Every kind's item on one image whose named objects are `named` (positive order already drawn) among all the
 * image's objects `all`. Returns [kind, positive, negative] rows.
 */
export function itemsFor(r: Rand, named: Obj[], all: Obj[], seen: boolean, kinds: readonly PairKind[]): [PairKind, string, string][] {
  const out: [PairKind, string, string][] = [];
  const pos = caption(named);
  const j = Math.floor(r() * named.length);
  for (const kind of kinds) {
    if (kind === 'swap-att') {
      if (named.length !== 2) continue;
      out.push([
        kind,
        pos,
        caption([
          { color: named[1].color, shape: named[0].shape },
          { color: named[0].color, shape: named[1].shape },
        ]),
      ]);
    } else if (kind === 'replace-att') {
      const neg = named.map((o, k) => (k === j ? { ...o, color: absentColor(r, all, o.shape, seen) } : o));
      out.push([kind, pos, caption(neg)]);
    } else if (kind === 'replace-obj') {
      const neg = named.map((o, k) => (k === j ? { ...o, shape: absentShape(r, all, o.color, seen) } : o));
      out.push([kind, pos, caption(neg)]);
    } else if (kind.startsWith('add-att')) {
      if (named.length !== 2) continue;
      // add-att-one* name the colour of object 1-j (correctly) in both captions; all add a wrong colour to object j:
      // one absent from the image, or (-bind) the other object's colour, which only binding tells from the truth.
      const wrong = kind.endsWith('-bind') ? named[1 - j].color : absentColor(r, all, named[j].shape, seen);
      const base = kind.startsWith('add-att-one')
        ? named.map((o, k) => (k === j ? { shape: o.shape } : o))
        : named.map((o) => ({ shape: o.shape }));
      const neg = base.map((o, k) => (k === j ? { color: wrong, shape: o.shape } : o));
      out.push([kind, caption(base), caption(neg)]);
    } else if (kind === 'replace-obj-bare') {
      const neg = named.map((o, k) => ({ shape: k === j ? absentShape(r, all, undefined, false) : o.shape }));
      out.push([kind, pos, caption(neg)]);
    }
  }
  return out;
}
