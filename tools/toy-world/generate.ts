/**
 * Fresh toy-shapes-world data from a seed: benchmark items (the bundled kinds plus our attribute-count checks),
 * retrieval sets whose captions name 0, 1 or 2 attributes, and a region stress set (1–4 objects, small and large
 * objects, textured backgrounds). Images are 64×64 PNGs; `images.jsonl` keeps every object's true box.
 *
 *   npx ts-node --transpile-only tools/toy-world/generate.ts --out DIR [--seed 20261206] [--images 200]
 *     [--retrieval 4] [--stress 200]
 *
 * Layout of DIR: items.jsonl (the toy loader's format: {id, image, positive, negative, kind, split, scale?, background?}),
 * images.jsonl ({image, split, background, objects: [{color, shape, box: [x, y, side]}]}), images/*.png,
 * retrieval/set-K.jsonl ({image, captions}) and manifest.json (seed, counts, generator version).
 * Same seed → same bytes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Jimp } from 'jimp';
import { rng } from '../../src/random';
import { distinct, itemsFor, PAIR_KINDS, pick, seenPair, unseenPair } from './items';
import type { Item } from './items';
import { BACKGROUNDS, placeBoxes, randInt, render } from './render';
import type { Background, Placed } from './render';
import { caption, IMAGE_SIZE, OBJECT_GAP, OBJECT_SIZE, SHAPES, TRAINING_OBJECTS } from './world';
import type { Obj } from './world';

export const GENERATOR_VERSION = 1;

export interface GenerateOptions {
  out: string;
  seed: number;
  images: number;
  retrieval: number;
  stress: number;
}

interface ImageMeta {
  image: string;
  split: string;
  background: Background;
  objects: Placed[];
}

async function writePng(file: string, rgba: Uint8Array): Promise<void> {
  const img = Jimp.fromBitmap({ data: Buffer.from(rgba), width: IMAGE_SIZE, height: IMAGE_SIZE });
  fs.writeFileSync(file, await img.getBuffer('image/png'));
}

/** Draws boxes for `objs` (sides in `size`), shrinking the range until they fit. */
function place(r: () => number, objs: Obj[], size: [number, number]): Placed[] {
  let [lo, hi] = size;
  for (;;) {
    const boxes = placeBoxes(r, objs.length, lo, hi, OBJECT_GAP);
    if (boxes) return objs.map((o, k) => ({ ...o, box: boxes[k] }));
    hi = Math.max(lo, hi - 2);
    lo = Math.max(6, lo - 1);
  }
}

class Writer {
  readonly items: Item[] = [];
  readonly metas: ImageMeta[] = [];
  constructor(
    private readonly out: string,
    private readonly r: () => number,
  ) {
    fs.mkdirSync(path.join(out, 'images'), { recursive: true });
  }

  async image(name: string, split: string, placed: Placed[], background: Background): Promise<string> {
    const rel = `images/${name}.png`;
    await writePng(path.join(this.out, rel), render(this.r, placed, background));
    this.metas.push({ image: rel, split, background, objects: placed });
    return rel;
  }
}

/** The bundled benchmark's design (two objects, plain background) with every pair kind, per split. */
async function benchmark(w: Writer, r: () => number, n: number): Promise<void> {
  for (const split of ['seen', 'unseen']) {
    for (let i = 0; i < n; i++) {
      const objs = split === 'seen' ? seenPair(r) : unseenPair(r, i);
      const named = r() < 0.5 ? objs : [objs[1], objs[0]];
      const index = String(i).padStart(4, '0');
      const rel = await w.image(`${split}_${index}`, split, place(r, objs, OBJECT_SIZE), 'plain');
      for (const [kind, positive, negative] of itemsFor(r, named, objs, split === 'seen', PAIR_KINDS)) {
        w.items.push({ id: `${split}-${kind}-${index}`, image: rel, positive, negative, kind, split });
      }
    }
  }
}

/**
 * Retrieval sets: one image per unordered shape pair (15), and for half of the pairs a twin image with the colours
 * swapped. Captions name 0, 1 or 2 colours; a caption that would fit two images of its set (a colourless caption of
 * a twinned pair) is left out, so every caption has exactly one right image.
 */
async function retrievalSets(w: Writer, r: () => number, sets: number, out: string): Promise<void> {
  if (!sets) return;
  fs.mkdirSync(path.join(out, 'retrieval'), { recursive: true });
  const pairs = SHAPES.flatMap((a, i) => SHAPES.slice(i + 1).map((b) => [a, b] as const));
  for (let k = 0; k < sets; k++) {
    const lines: string[] = [];
    let index = 0;
    for (const [sa, sb] of pairs) {
      let objs: [Obj, Obj];
      do objs = seenPair(r);
      while (!(objs[0].shape === sa && objs[1].shape === sb) && !(objs[0].shape === sb && objs[1].shape === sa));
      const twinned = r() < 0.5;
      const scenes: Obj[][] = [objs];
      if (twinned)
        scenes.push([
          { color: objs[1].color, shape: objs[0].shape },
          { color: objs[0].color, shape: objs[1].shape },
        ]);
      for (const scene of scenes) {
        const named = r() < 0.5 ? scene : [scene[1], scene[0]];
        const j = Math.floor(r() * 2);
        const captions = [
          ...(twinned ? [] : [caption(named.map((o) => ({ shape: o.shape })))]),
          caption(named.map((o, m) => (m === j ? o : { shape: o.shape }))),
          caption(named),
        ];
        const rel = await w.image(
          `retrieval${k}_${String(index++).padStart(3, '0')}`,
          `retrieval-${k}`,
          place(r, scene, OBJECT_SIZE),
          'plain',
        );
        lines.push(JSON.stringify({ image: rel, captions }));
      }
    }
    fs.writeFileSync(path.join(out, 'retrieval', `set-${k}.jsonl`), lines.join('\n') + '\n');
  }
}

const SCALES: Record<string, [number, number]> = { small: [9, 13], normal: OBJECT_SIZE, large: [26, 40] };

/** Stress set: 1–4 training objects (pairwise distinct), objects of three scales, five backgrounds. */
async function stress(w: Writer, r: () => number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const count = randInt(r, 1, 4);
    const scale = pick(r, Object.keys(SCALES));
    const background = pick(r, BACKGROUNDS);
    // Two named objects whose colour-swapped partners are training combinations (as in `seen`), or the only one;
    // the others drawn from the training combinations, all pairwise distinct.
    let objs: Obj[];
    do {
      const pair = seenPair(r);
      objs = [...pair.slice(0, Math.min(count, 2)), ...Array.from({ length: Math.max(0, count - 2) }, () => pick(r, TRAINING_OBJECTS))];
    } while (!distinct(objs));
    const named = objs.slice(0, Math.min(count, 2));
    const index = String(i).padStart(4, '0');
    const split = `stress-${count}obj`;
    const rel = await w.image(`stress_${index}`, split, place(r, objs, SCALES[scale]), background);
    for (const [kind, positive, negative] of itemsFor(r, named, objs, true, PAIR_KINDS)) {
      w.items.push({ id: `stress-${kind}-${index}`, image: rel, positive, negative, kind, split, scale, background });
    }
  }
}

export async function generate(o: GenerateOptions): Promise<{ items: number; images: number }> {
  const r = rng(o.seed);
  const w = new Writer(o.out, r);
  await benchmark(w, r, o.images);
  await retrievalSets(w, r, o.retrieval, o.out);
  await stress(w, r, o.stress);
  fs.writeFileSync(path.join(o.out, 'items.jsonl'), w.items.map((x) => JSON.stringify(x)).join('\n') + '\n');
  fs.writeFileSync(path.join(o.out, 'images.jsonl'), w.metas.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const counts: Record<string, number> = {};
  for (const it of w.items) counts[`${it.kind}/${it.split}`] = (counts[`${it.kind}/${it.split}`] ?? 0) + 1;
  const manifest = {
    generator: 'tools/toy-world',
    version: GENERATOR_VERSION,
    seed: o.seed,
    images: w.metas.length,
    items: w.items.length,
    retrievalSets: o.retrieval,
    counts,
  };
  fs.writeFileSync(path.join(o.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return { items: w.items.length, images: w.metas.length };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h') || !args.includes('--out')) {
    process.stdout.write('usage: tools/toy-world/generate.ts --out DIR [--seed 20261206] [--images 200] [--retrieval 4] [--stress 200]\n');
    process.exit(args.includes('--out') ? 0 : 2);
  }
  const num = (k: string, d: number) => {
    const i = args.indexOf(k);
    const v = i >= 0 ? Number(args[i + 1]) : d;
    if (!Number.isInteger(v) || v < 0) throw new Error(`${k} must be a non-negative integer`);
    return v;
  };
  const out = args[args.indexOf('--out') + 1];
  const t0 = Date.now();
  generate({
    out,
    seed: num('--seed', 20261206),
    images: num('--images', 200),
    retrieval: num('--retrieval', 4),
    stress: num('--stress', 200),
  }).then((s) => process.stdout.write(`${out}: ${s.images} images, ${s.items} items (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`));
}
