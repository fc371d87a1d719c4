/**
 * The toy-world generator against the world's rules (../shared/toy-shapes/README.md): boxes inside the image and
 * ≥ 2 px apart, objects pairwise distinct in colour and shape, split rules on held-out combinations, each kind's
 * negative false and positive true for the image, retrieval captions true for exactly one image of their set, and
 * the same seed giving the same bytes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { expect } from 'chai';
import { generate } from '../../tools/toy-world/generate';
import { HELD_OUT, IMAGE_SIZE, OBJECT_GAP } from '../../tools/toy-world/world';

interface Placed {
  color: string;
  shape: string;
  box: [number, number, number];
}
const heldOut = (o: { color?: string; shape: string }) => HELD_OUT.some(([c, s]) => c === o.color && s === o.shape);

/** A caption of the world's template as objects with optional colours. */
function parse(caption: string): { color?: string; shape: string }[] {
  return caption.split(' and ').map((p) => {
    const w = p.split(' ').slice(1);
    return w.length === 2 ? { color: w[0], shape: w[1] } : { shape: w[0] };
  });
}
const holds = (objs: Placed[], caption: string) =>
  parse(caption).every((n) => objs.some((o) => o.shape === n.shape && (!n.color || o.color === n.color)));

function read(dir: string, file: string): any[] {
  return fs
    .readFileSync(path.join(dir, file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('tools/toy-world generator (rules of the shapes world, exact checks)', function () {
  this.timeout(60_000);
  const dirs: string[] = [];
  const make = async (seed: number) => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'toy-world-'));
    dirs.push(out);
    await generate({ out, seed, images: 12, retrieval: 1, stress: 16 });
    return out;
  };
  let dir: string;
  before(async () => {
    dir = await make(5);
  });
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('every image: boxes inside, ≥ 2 px apart, objects distinct in colour and shape; split rules on held-out combinations', () => {
    for (const m of read(dir, 'images.jsonl')) {
      const objs: Placed[] = m.objects;
      expect(new Set(objs.map((o) => o.color)).size, m.image).to.equal(objs.length);
      expect(new Set(objs.map((o) => o.shape)).size, m.image).to.equal(objs.length);
      for (const [i, a] of objs.entries()) {
        expect(a.box[0] >= 0 && a.box[1] >= 0 && a.box[0] + a.box[2] <= IMAGE_SIZE && a.box[1] + a.box[2] <= IMAGE_SIZE, m.image).to.equal(
          true,
        );
        for (const b of objs.slice(i + 1)) {
          const apart =
            a.box[0] >= b.box[0] + b.box[2] + OBJECT_GAP ||
            b.box[0] >= a.box[0] + a.box[2] + OBJECT_GAP ||
            a.box[1] >= b.box[1] + b.box[2] + OBJECT_GAP ||
            b.box[1] >= a.box[1] + a.box[2] + OBJECT_GAP;
          expect(apart, m.image).to.equal(true);
        }
      }
      if (m.split === 'unseen') expect(objs.some(heldOut), m.image).to.equal(true);
      else expect(objs.some(heldOut), m.image).to.equal(false);
    }
  });

  it('every item: positive true of its image, negative false; seen items name training combinations only', () => {
    const byImage = new Map(read(dir, 'images.jsonl').map((m) => [m.image, m.objects as Placed[]]));
    const items = read(dir, 'items.jsonl');
    expect([...new Set(items.map((i) => i.kind))]).to.include.members([
      'swap-att',
      'replace-att',
      'replace-obj',
      'add-att',
      'add-att-bind',
      'add-att-one',
      'add-att-one-bind',
      'replace-obj-bare',
    ]);
    for (const it of items) {
      const objs = byImage.get(it.image)!;
      expect(holds(objs, it.positive), `${it.id} positive`).to.equal(true);
      expect(holds(objs, it.negative), `${it.id} negative`).to.equal(false);
      if (it.split === 'seen') expect([...parse(it.positive), ...parse(it.negative)].some(heldOut), it.id).to.equal(false);
      if (it.kind === 'add-att') expect(parse(it.positive).every((o) => !o.color)).to.equal(true);
    }
  });

  it('retrieval: each caption holds for exactly one image of its set, and captions name 0, 1 and 2 colours', () => {
    const byImage = new Map(read(dir, 'images.jsonl').map((m) => [m.image, m.objects as Placed[]]));
    const rows = read(dir, path.join('retrieval', 'set-0.jsonl'));
    const counts = new Set<number>();
    for (const row of rows)
      for (const c of row.captions as string[]) {
        expect(
          rows.filter((r) => holds(byImage.get(r.image)!, c)).map((r) => r.image),
          c,
        ).to.deep.equal([row.image]);
        counts.add(parse(c).filter((o) => o.color).length);
      }
    expect([...counts].sort()).to.deep.equal([0, 1, 2]);
  });

  it('the same seed gives the same bytes; another seed other images', async () => {
    const hash = (d: string) => {
      const h = createHash('sha256');
      for (const f of [
        'items.jsonl',
        'images.jsonl',
        ...fs
          .readdirSync(path.join(d, 'images'))
          .sort()
          .map((x) => path.join('images', x)),
      ])
        h.update(fs.readFileSync(path.join(d, f)));
      return h.digest('hex');
    };
    expect(hash(await make(5))).to.equal(hash(dir));
    expect(hash(await make(6))).to.not.equal(hash(dir));
  });
});
