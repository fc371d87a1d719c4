/**
 * Cost of ABE-CLIP per FRESH image–caption pair, against CLIP, on ViT-B/32 geometry (random weights: the time of a
 * pass does not depend on the values; the region sizes do, so the token counts are reported).
 *
 *   npx ts-node --transpile-only tools/abe-cost.ts [--pairs 8] [--repeats 3] [--quick] [--json]
 *
 * Each run: a new AbeScorer (empty caches), `pairs` distinct images and distinct captions, scorePairs of pair i =
 * (image i, caption i). Every configuration of a repeat scores the same images and captions (new ones each repeat);
 * configurations are interleaved in every repeat (the machine may be shared and noisy) and the ratios to CLIP are
 * taken within a repeat. Pass counts come from the towers' block stacks: "image passes" =
 * Σ rows · FLOP(T tokens) / FLOP(1 + P tokens), "text passes" = the same against a full-context text pass.
 * Images: two bright squares on a dark background per image (so the found regions have object-like sizes).
 */
import { initBackend } from '../src/backend';
import { AbeScorer, NAMED_CONFIGS } from '../src/abe';
import type { AbeOptions, ConfigName } from '../src/abe';
import { createClip } from '../src/clip/model';
import { QUICK_CONFIG, VIT_B32_CONFIG } from '../src/bench/geometry';
import { randomClipWeights } from '../src/bench/random-weights';
import * as tf from '@tensorflow/tfjs';

const argv = process.argv.slice(2);
const val = (k: string, d: string) => {
  const i = argv.indexOf(k);
  return i >= 0 ? argv[i + 1] : d;
};
const PAIRS = Number(val('--pairs', '8'));
const REPEATS = Number(val('--repeats', '3'));
const QUICK = argv.includes('--quick');

const COLOURS = ['red', 'green', 'blue', 'yellow', 'purple', 'white', 'orange', 'cyan'];
const SHAPES = ['cube', 'sphere', 'cylinder', 'cone', 'star', 'ring'];

const CONFIGS: [string, ConfigName | Partial<AbeOptions>][] = [
  ['clip', 'clip'],
  ['abe (patch level)', 'abe'],
  ['abe+regions', 'abe+regions'],
  ['abe+regions-r2 (regions found on value-path features)', 'abe+regions-r2'],
  ['abe+regions, regions start at 1/3 depth', { ...NAMED_CONFIGS['abe+regions'], regionStart: 1 / 3 }],
  ['abe+regions, cross-shaped dilation', { ...NAMED_CONFIGS['abe+regions'], regionRing: 'cross' }],
  ['abe+regions, encode crop', { ...NAMED_CONFIGS['abe+regions'], regionFeatures: 'crop' }],
  ['abe+regions-v1 (crop, phrase term, + patch term)', 'abe+regions-v1'],
];

function blockFlops(T: number, W: number, H: number, layers: number): number {
  return layers * 2 * (4 * T * W * W + 2 * T * W * H + 2 * T * T * W);
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const c = QUICK ? QUICK_CONFIG : VIT_B32_CONFIG;
  const model = createClip(c, randomClipWeights(c));
  const R = c.vision.resolution,
    P = (R / c.vision.patchSize) ** 2;
  const fullImg = blockFlops(P + 1, c.vision.width, c.vision.mlpWidth, c.vision.layers);
  const fullTxt = blockFlops(c.text.contextLength, c.text.width, c.text.mlpWidth, c.text.layers);
  const count = { img: 0, txt: 0, regionTokens: 0, regionRows: 0 };
  for (const [tower, key] of [
    [model.vision.transformer, 'img'],
    [model.text.transformer, 'txt'],
  ] as const) {
    const run = tower.run.bind(tower);
    tower.run = (h, ctx, from = 0, to = tower.layers, hookFirst = true) => {
      const [n, T] = h.shape;
      const W = tower === model.vision.transformer ? c.vision.width : c.text.width;
      const f = blockFlops(T, W, 4 * W, to - from) / (key === 'img' ? fullImg : fullTxt);
      count[key] += n * f;
      // Token-subset (region) passes are the image passes with a per-row [rows,K,K] mask (packed subsets).
      if (key === 'img' && ctx.defaultMask?.rank === 3) {
        count.regionRows += n;
        count.regionTokens += n * T;
      }
      return run(h, ctx, from, to, hookFirst);
    };
  }
  let seed = 1;
  const images = (n: number) => {
    const d = new Float32Array(n * 3 * R * R);
    let x = (seed++ * 2654435761) >>> 0 || 1;
    const rnd = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 4294967296;
    };
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 3 * R * R; k++) d[i * 3 * R * R + k] = -1.5 + 0.2 * rnd();
      for (let o = 0; o < 2; o++) {
        const s = Math.floor(R * (0.2 + 0.2 * rnd())),
          y0 = Math.floor(rnd() * (R / 2 - s)) + (o ? R / 2 : 0),
          x0 = Math.floor(rnd() * (R - s));
        const col = [rnd() * 4 - 1, rnd() * 4 - 1, rnd() * 4 - 1];
        for (let ch = 0; ch < 3; ch++)
          for (let y = y0; y < y0 + s; y++) for (let xx = x0; xx < x0 + s; xx++) d[i * 3 * R * R + ch * R * R + y * R + xx] = col[ch];
      }
    }
    return tf.tensor4d(d, [n, 3, R, R]);
  };
  const captions = (n: number) =>
    Array.from({ length: n }, (_, i) => {
      const k = seed * 131 + i * 7;
      return `a ${COLOURS[k % 8]} ${SHAPES[(k >> 3) % 6]} and a ${COLOURS[(k + 3) % 8]} ${SHAPES[((k >> 3) + 2) % 6]}`;
    });
  const results = new Map<string, { s: number[]; ratio: number[]; img: number; txt: number; tokens: number; rows: number }>();
  // Warm-up (kernels compiled, wasm heap grown) outside the timing.
  {
    const sc = new AbeScorer(model, 'abe+regions');
    const px = images(2);
    await sc.scorePairs(px, captions(2), [
      [0, 0],
      [1, 1],
    ]);
    px.dispose();
  }
  for (let rep = 0; rep < REPEATS; rep++) {
    let clipS = 0;
    const px = images(PAIRS),
      caps = captions(PAIRS);
    for (const [name, cfg] of CONFIGS) {
      const sc = new AbeScorer(model, cfg);
      count.img = 0;
      count.txt = 0;
      count.regionTokens = 0;
      count.regionRows = 0;
      const t0 = process.hrtime.bigint();
      await sc.scorePairs(
        px,
        caps,
        caps.map((_, i) => [i, i] as [number, number]),
      );
      const sec = Number(process.hrtime.bigint() - t0) / 1e9;
      if (name === 'clip') clipS = sec;
      const r = results.get(name) ?? { s: [], ratio: [], img: 0, txt: 0, tokens: 0, rows: 0 };
      r.s.push(sec);
      r.ratio.push(sec / clipS);
      r.img = count.img / PAIRS;
      r.txt = count.txt / PAIRS;
      r.tokens = count.regionTokens / PAIRS;
      r.rows = count.regionRows / PAIRS;
      results.set(name, r);
      process.stderr.write(`[abe-cost] repeat ${rep + 1} ${name}: ${sec.toFixed(2)} s\n`);
    }
    px.dispose();
  }
  const med = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b),
      h = s.length >> 1;
    return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
  };
  const rows = [...results].map(([name, r]) => ({
    name,
    secondsPer1000Pairs: (1000 * med(r.s)) / PAIRS,
    ratioToClip: med(r.ratio),
    ratios: r.ratio,
    imagePasses: r.img,
    textPasses: r.txt,
    regionRowsPerPair: r.rows,
    regionTokensPerPair: r.tokens,
  }));
  if (argv.includes('--json')) {
    process.stdout.write(
      `${JSON.stringify({ backend: backend.name, geometry: QUICK ? 'quick' : 'ViT-B/32', pairs: PAIRS, repeats: REPEATS, rows }, null, 1)}\n`,
    );
    return;
  }
  process.stdout.write(
    `backend ${backend.name}, ${QUICK ? 'quick geometry' : 'ViT-B/32 geometry'}, ${PAIRS} fresh pairs × ${REPEATS} interleaved repeats (median)\n`,
  );
  process.stdout.write(
    '| configuration | image passes / pair | text passes / pair | region tokens / pair (packed rows) | s / 1000 pairs | × CLIP (per repeat) |\n|---|---:|---:|---:|---:|---:|\n',
  );
  for (const r of rows) {
    process.stdout.write(
      `| ${r.name} | ${r.imagePasses.toFixed(2)} | ${r.textPasses.toFixed(2)} | ${r.regionTokensPerPair.toFixed(1)} (${r.regionRowsPerPair.toFixed(2)}) | ${r.secondsPer1000Pairs.toFixed(0)} | ${r.ratioToClip.toFixed(2)} (${r.ratios.map((x) => x.toFixed(2)).join(', ')}) |\n`,
    );
  }
  model.dispose();
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
