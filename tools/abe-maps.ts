/**
 * What limits the region term on swap-att: the wrong caption's own group → region map.
 *
 *   npx ts-node --transpile-only tools/abe-maps.ts [--data DIR] [--weights model.safetensors] [--config abe+regions]
 *     [--out report.json]
 *
 * Each caption takes the map of its groups to regions that fits it best (regionAssign). On a swap-att item ("a red
 * star and a blue circle" true, "a blue star and a red circle" wrong) the wrong caption can map "blue star" onto the
 * blue CIRCLE: its colours then fit and only the shape is wrong, so the term separates the two captions only by the
 * shape evidence of the regions. This tool measures, per swap-att cell, how often the wrong caption takes another map
 * than the true one, the region term's accuracy on its own, and its accuracy when the wrong caption is held to the
 * TRUE caption's map — an oracle (it reads the true caption), an upper bound of what better assignment could give,
 * not a method.
 *
 * Everything comes from the library: image features, the region-term text rows (TextFeatureBuilder), the assignment
 * and term (pairRegion). The tool checks that its recomputed term equals the scorer's (abe − clip) before it reports.
 */
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../src/backend';
import { AbeScorer, EXTRA_CONFIGS, hiddenIndex, NAMED_CONFIGS, resolveOptions, TextFeatureBuilder } from '../src/abe';
import type { AbeOptions, ConfigName } from '../src/abe';
import { needsOf } from '../src/abe/image-features';
import { pairRegion } from '../src/abe/score';
import { dotAt } from '../src/tensor/host';
import { createClip } from '../src/clip/model';
import { loadImages } from '../src/image';
import { canonicalize } from '../src/weights/names';
import { readSafetensors } from '../src/weights/safetensors';
import { groupsOf, loadBench } from './abe-toy';
import { runMain } from './run-main';

const args = process.argv.slice(2);
const arg = (k: string, d: string) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const TOY = path.resolve(__dirname, '..', '..', 'shared', 'toy-shapes');
const DATA = path.resolve(arg('--data', path.join(TOY, 'bench')));
const WEIGHTS = path.resolve(arg('--weights', path.join(TOY, 'model', 'openai.safetensors')));
const CONFIG = arg('--config', 'abe+regions') as ConfigName;
const OUT = arg('--out', '');

interface CellStats {
  n: number;
  /** The wrong caption's map differs from the true caption's. */
  remapped: number;
  /** Region term alone ranks the true caption first. */
  termRight: number;
  /** The same with the wrong caption held to the true caption's map (oracle). */
  termRightOnTrueMap: number;
  /** The shipped score (clip + region term) ranks the true caption first. */
  fusedRight: number;
  clipRight: number;
}

async function main(): Promise<number> {
  const backend = await initBackend();
  const canon = canonicalize(readSafetensors(WEIGHTS).tensors, { source: 'toy-shapes' });
  const model = createClip(canon.config, canon.weights);
  const o: AbeOptions = resolveOptions(CONFIG);
  if (o.regionFeatures === 'none' || o.regionTerm !== 'phrase-all') throw new Error(`${CONFIG}: needs regions with the phrase-all term`);
  const named = (NAMED_CONFIGS[CONFIG] ?? EXTRA_CONFIGS[CONFIG]) as Partial<AbeOptions>;
  const scorer = new AbeScorer(model, CONFIG);
  const bench = loadBench(DATA, 'maps');
  const units = bench.units.filter((u) => u.kind === 'pair' && u.cell.startsWith('swap-att/'));
  const images = [...new Set(units.map((u) => u.image))];
  const loaded = await loadImages(
    images.map((i) => bench.imagePaths[i]),
    { resolution: canon.config.vision.resolution },
  );
  const feats = await scorer.imageFeatures(loaded.pixels, [named]);
  loaded.pixels.dispose();
  const row = new Map(images.map((img, j) => [img, j]));
  const caps = bench.captions.map(groupsOf);
  const pairs: [number, number][] = units.flatMap((u) => [
    [row.get(u.image)!, bench.pairs[u.a][1]],
    [row.get(u.image)!, bench.pairs[u.a + 1][1]],
  ]);
  const scored = await scorer.scorePairs(feats, caps, pairs);
  const texts = new TextFeatureBuilder(model);
  const t = await texts.build(caps, o, hiddenIndex(o.refineLayer, canon.config.text.layers, 'refineLayer'));
  const key = needsOf(model, o).regions[0].key;
  const E = canon.config.embedDim,
    scale = o.regionLambda * model.logitScale;

  /** The caption's region term on its own best map (the scorer's `pairRegion`), and its similarity `at(k, r, phrase | object)`. */
  const termOf = (img: number, cap: number) => {
    const reg = feats[img].regions[key];
    const q0 = t.start[cap],
      K = t.start[cap + 1] - q0;
    const at = (k: number, r: number, obj: number) => dotAt(reg.embeds, r * E, obj ? t.oRegion : t.pRegion, (q0 + k) * E, E);
    const v = pairRegion(at, q0, K, reg.masks.length, t, o, () => 0);
    return { v, at, objects: t.groups.slice(q0, q0 + K).map((g) => g.object) };
  };

  const stats: Record<string, CellStats> = {};
  let skipped = 0,
    worst = 0;
  units.forEach((u, j) => {
    const img = row.get(u.image)!;
    const pos = termOf(img, bench.pairs[u.a][1]),
      neg = termOf(img, bench.pairs[u.a + 1][1]);
    if (!pos.v || !neg.v) return void skipped++;
    // The recomputed term must be the scorer's: otherwise this report is about something else.
    worst = Math.max(
      worst,
      Math.abs(scale * pos.v.mean - (scored.abe[2 * j] - scored.clip[2 * j])),
      Math.abs(scale * neg.v.mean - (scored.abe[2 * j + 1] - scored.clip[2 * j + 1])),
    );
    // The wrong caption's groups on the regions the true caption gave the same objects.
    const onTrue = neg.objects.map((obj) => pos.objects.indexOf(obj));
    if (new Set(onTrue).size !== onTrue.length || onTrue.includes(-1)) return void skipped++;
    const negOnTrue = onTrue.reduce((a, k, kn) => a + neg.at(kn, pos.v!.regions[k], 0), 0) / onTrue.length;
    const s = (stats[u.cell] ??= { n: 0, remapped: 0, termRight: 0, termRightOnTrueMap: 0, fusedRight: 0, clipRight: 0 });
    s.n++;
    if (onTrue.some((k, kn) => neg.v!.regions[kn] !== pos.v!.regions[k])) s.remapped++;
    if (pos.v.mean > neg.v.mean) s.termRight++;
    if (pos.v.mean > negOnTrue) s.termRightOnTrueMap++;
    if (scored.abe[2 * j] > scored.abe[2 * j + 1]) s.fusedRight++;
    if (scored.clip[2 * j] > scored.clip[2 * j + 1]) s.clipRight++;
  });
  if (worst > 1e-3) throw new Error(`recomputed region term differs from the scorer's by ${worst}`);
  console.log(`${CONFIG} on ${DATA} (${backend.name}); recomputed term = scorer's within ${worst.toExponential(1)}; ${skipped} skipped`);
  console.log(
    '| cell | n | wrong caption re-maps | CLIP | region term alone | region term, wrong caption on the true map (oracle) | shipped score |',
  );
  console.log('|---|--:|--:|--:|--:|--:|--:|');
  const f = (k: number, n: number) => (k / n).toFixed(3);
  for (const [cell, s] of Object.entries(stats))
    console.log(
      `| ${cell} | ${s.n} | ${f(s.remapped, s.n)} | ${f(s.clipRight, s.n)} | ${f(s.termRight, s.n)} | ${f(s.termRightOnTrueMap, s.n)} | ${f(s.fusedRight, s.n)} |`,
    );
  if (OUT)
    fs.writeFileSync(
      OUT,
      JSON.stringify({ config: CONFIG, data: DATA, weights: WEIGHTS, backend: backend.name, skipped, cells: stats }, null, 1),
    );
  model.dispose();
  return 0;
}

if (require.main === module) runMain(main);
