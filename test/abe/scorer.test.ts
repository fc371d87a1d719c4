import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { AbeScorer, NAMED_CONFIGS, prepareCaptions, refine, resolveOptions } from '../../src/abe';
import type { AbeOptions, ImageFeatures } from '../../src/abe';
import { patchKey } from '../../src/abe/patches';
import { regionKey } from '../../src/abe/features';
import { needsOf } from '../../src/abe/image-features';
import { assignRegions } from '../../src/abe/regions';
import { InputError, OptionsError } from '../../src/errors';
import type { ClipModel } from '../../src/clip/model';
import { randomClip, randomPixels, TINY_CONFIG } from './tinyModel';

const R = TINY_CONFIG.vision.resolution,
  E = TINY_CONFIG.embedDim,
  P = 16;
const CAPTIONS = [
  'a red cube and a blue sphere',
  'a blue cube and a red sphere',
  'two dogs playing in the snow', // no attribute group → CLIP
  'the car is green',
  '!!!', // no groups
  {
    text: 'a small wooden chair next to a dog',
    groups: [
      { attributes: ['small', 'wooden'], object: 'chair' },
      { attributes: [], object: 'dog' },
    ],
  },
  'a big white plate with a black knife',
];

/** The per-pair reference: plain loops over one image and one caption, from the features and p, o. */
async function perPair(model: ClipModel, feats: ImageFeatures[], o: AbeOptions): Promise<Float32Array> {
  const caps = prepareCaptions(CAPTIONS, TINY_CONFIG.text.contextLength);
  const { p, o: ob } = await refine(model, caps, o, 1, new Map());
  const iso = await refine(model, caps, { ...o, refine: 'isolated' }, 1, new Map()); // the region term's phrases
  const pIso = iso.p,
    oIso = iso.o;
  const regionOn = o.regionFeatures !== 'none';
  const rKey = regionKey(o.regionSource, o.maxRegions, o.regionDilation, o.regionFeatures === 'tokens' ? 'tokens' : 'crop', 'found', {
    background: o.regionBackground,
    minSize: o.regionMinSize,
    split: o.regionSplit,
  });
  const s = model.logitScale;
  const gT = await model.encodeTexts(
    tf.tensor2d(Int32Array.from(caps.flatMap((c) => Array.from(c.ids))), [caps.length, TINY_CONFIG.text.contextLength], 'int32'),
  );
  const gTd = gT.embeds.dataSync() as Float32Array;
  tf.dispose([gT.embeds, gT.tokens]);
  const dot = (a: Float32Array, ai: number, b: Float32Array, bi: number) => {
    let x = 0;
    for (let e = 0; e < E; e++) x += a[ai + e] * b[bi + e];
    return x;
  };
  const out = new Float32Array(feats.length * caps.length);
  feats.forEach((f, i) => {
    let q = 0;
    caps.forEach((cap, m) => {
      const norm = Math.sqrt(dot(gTd, m * E, gTd, m * E));
      const clip = (s * dot(f.embed, 0, gTd, m * E)) / norm;
      const V = f.patches[patchKey(o.patchFeatures, o.patchLayer < 0 ? TINY_CONFIG.vision.layers + 1 + o.patchLayer : o.patchLayer)];
      const lps: number[] = [],
        deltas: number[] = [],
        rsims: number[] = [];
      const K = cap.groups.length;
      const regionSims = new Float32Array(K * o.maxRegions),
        regionObj = new Float32Array(K * o.maxRegions);
      cap.groups.forEach((g, k) => {
        const sp = [],
          so = [];
        if (o.fuse !== 'none')
          for (let j = 0; j < P; j++) {
            sp.push(dot(p, (q + k) * E, V, j * E));
            so.push(dot(ob, (q + k) * E, V, j * E));
          }
        const byO = [...so.keys()].sort((a, b) => so[b] - so[a]).slice(0, o.topK);
        const byP = [...sp.keys()].sort((a, b) => sp[b] - sp[a]).slice(0, o.topK);
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        const lo = mean(byO.map((j) => so[j]));
        const lp = mean((o.locate === 'object' ? byO : byP).map((j) => sp[j]));
        lps.push(lp);
        if (g.attributes.length && o.fuse !== 'none') deltas.push(lp - lo);
        if (regionOn) {
          const reg = f.regions[rKey];
          for (let r = 0; r < reg.masks.length; r++) {
            regionSims[k * o.maxRegions + r] = dot(pIso, (q + k) * E, reg.embeds, r * E);
            regionObj[k * o.maxRegions + r] = dot(oIso, (q + k) * E, reg.embeds, r * E);
          }
        }
      });
      let abe = clip;
      if (cap.groups.some((g) => g.attributes.length)) {
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        if (o.fuse === 'binding-difference') abe = clip + o.lambda * s * mean(deltas);
        if (o.fuse === 'additive') abe = clip + o.lambda * s * mean(lps);
        if (o.fuse === 'convex') abe = (1 - o.lambda) * clip + o.lambda * s * mean(lps);
      }
      // Region term: the first readings only on captions with attributes; phrase-all and the centred terms on all.
      const gated = !['phrase-all', 'centered', 'centered-same'].includes(o.regionTerm);
      if (!gated || cap.groups.some((g) => g.attributes.length)) {
        if (regionOn) {
          const reg = f.regions[rKey],
            Rm = o.maxRegions,
            count = reg.masks.length;
          const by =
            o.regionAssignBy === 'object'
              ? regionObj
              : o.regionAssignBy === 'both'
                ? regionSims.map((v, x) => v + regionObj[x])
                : regionSims;
          const a = assignRegions(by, 0, K, Rm, count, o.regionAssign, o.regionMaxMaps);
          if (a) {
            // The group terms written out: phrase p·r; centered p·r − max_r' o·r' (0 without attributes); centered-same p·r − o·r.
            const terms = a.regions.map((r, k) => {
              if (o.regionTerm === 'phrase' || o.regionTerm === 'phrase-all') return regionSims[k * Rm + r];
              if (!cap.groups[k].attributes.length) return 0;
              const base =
                o.regionTerm === 'centered'
                  ? Math.max(...Array.from({ length: count }, (_, x) => regionObj[k * Rm + x]))
                  : regionObj[k * Rm + r];
              return regionSims[k * Rm + r] - base;
            });
            abe += (o.regionLambda * s * terms.reduce((x, y) => x + y, 0)) / K;
          }
        }
      }
      void rsims;
      out[i * caps.length + m] = abe;
      q += K;
    });
  });
  return out;
}

describe('abe/scorer (random tiny model)', function () {
  this.timeout(120000);
  let model: ClipModel;
  let pixels: tf.Tensor4D;
  const N = 7; // not a multiple of scoreChunk 3
  before(() => {
    model = randomClip(7);
    pixels = tf.tensor4d(randomPixels(N, 11), [N, 3, R, R]);
  });
  after(() => {
    pixels.dispose();
    model.dispose();
  });

  const configs: Partial<AbeOptions>[] = [
    { patchFeatures: 'tokens', locate: 'object', topK: 1, fuse: 'binding-difference' },
    { patchFeatures: 'tokens', patchLayer: 1, locate: 'phrase', topK: 2, fuse: 'additive', lambda: 0.5 },
    { patchFeatures: 'value', locate: 'object', topK: 3, fuse: 'convex', lambda: 0.3 },
    { patchFeatures: 'selfself', refine: 'contextual', gamma: 0.5, refineLayer: 1 },
    { patchFeatures: 'value', refine: 'none' },
    { fuse: 'none', regionFeatures: 'crop', maxRegions: 2 },
    { fuse: 'binding-difference', regionFeatures: 'crop', maxRegions: 3, regionAssign: 'indep', regionDilation: 0 },
    { refine: 'contextual', fuse: 'binding-difference', lambda: 0.5, regionFeatures: 'crop', regionLambda: 3 },
    { fuse: 'none', regionFeatures: 'tokens', regionTerm: 'centered', regionAssignBy: 'phrase', regionLambda: 2 },
    { fuse: 'none', regionFeatures: 'crop', maxRegions: 3, regionTerm: 'centered-same', regionAssignBy: 'object', regionDilation: 0 },
    { fuse: 'binding-difference', regionFeatures: 'tokens', regionTerm: 'centered', regionAssign: 'indep' },
    { fuse: 'none', regionFeatures: 'tokens', regionTerm: 'phrase-all', regionDilation: 0 },
    {
      fuse: 'none',
      regionFeatures: 'tokens',
      regionTerm: 'phrase-all',
      maxRegions: 4,
      regionSplit: 'all',
      regionBackground: 'border',
      regionAssignBy: 'both',
      regionDilation: 0,
    },
    { fuse: 'none', regionFeatures: 'crop', regionTerm: 'phrase-all', maxRegions: 3, regionMinSize: 0.1, regionAssignBy: 'both' },
  ];
  for (const c of configs) {
    it(`scoreMatrix = scorePairs = the per-pair loop within 1e-5 (N=7, M=7, scoreChunk 3): ${JSON.stringify(c)}`, async () => {
      const scorer = new AbeScorer(model, { ...c, scoreChunk: 3 });
      const feats = await scorer.imageFeatures(pixels);
      const res = await scorer.scoreMatrix(feats, CAPTIONS);
      expect(res.n).to.equal(N);
      expect(res.m).to.equal(CAPTIONS.length);
      const ref = await perPair(model, feats, scorer.options);
      for (let k = 0; k < ref.length; k++) expect(res.abe[k], `abe[${k}]`).to.be.closeTo(ref[k], 1e-5 * Math.max(1, Math.abs(ref[k])));
      const pairs: [number, number][] = [];
      for (let i = 0; i < N; i++) for (let m = 0; m < CAPTIONS.length; m++) pairs.push([i, m]);
      const pr = await scorer.scorePairs(feats, CAPTIONS, pairs.reverse());
      pairs.forEach(([i, m], j) => {
        expect(pr.abe[j]).to.be.closeTo(res.abe[i * CAPTIONS.length + m], 1e-5 * Math.max(1, Math.abs(pr.abe[j])));
        expect(pr.clip[j]).to.be.closeTo(res.clip[i * CAPTIONS.length + m], 1e-5 * Math.max(1, Math.abs(pr.clip[j])));
      });
      // Captions without attribute groups score as CLIP (unless an ungated region term scores their groups).
      for (const m of c.regionTerm === 'phrase-all' ? [4] : [2, 4])
        for (let i = 0; i < N; i++) expect(res.abe[i * CAPTIONS.length + m]).to.equal(res.clip[i * CAPTIONS.length + m]);
    });
  }

  it('parts: per-group l_p, l_o, Δ = l_p − l_o, R in range, group table in caption order', async () => {
    const scorer = new AbeScorer(model, { topK: 2 });
    const res = await scorer.scoreMatrix(pixels, CAPTIONS, { parts: true });
    const parts = res.parts!;
    const Q = parts.groups.length;
    expect(parts.groups.map((g) => g.caption)).to.deep.equal([...parts.groups.map((g) => g.caption)].sort((a, b) => a - b));
    expect(parts.lp!.length).to.equal(N * Q);
    for (let k = 0; k < N * Q; k++) expect(parts.delta![k]).to.be.closeTo(parts.lp![k] - parts.lo![k], 1e-6);
    expect(parts.R!.length).to.equal(N * Q * 2);
    expect(Array.from(parts.R!).every((j) => j >= 0 && j < P)).to.equal(true);
  });

  it('the clip configuration gives S_abe = S_clip', async () => {
    const res = await new AbeScorer(model, 'clip').scoreMatrix(pixels, CAPTIONS);
    expect(Array.from(res.abe)).to.deep.equal(Array.from(res.clip));
  });

  it('bad captions give defined results: no nouns, punctuation, 500 words, non-English, emoji → CLIP fallback or groups', async () => {
    const words500 = Array.from({ length: 500 }, (_, i) => (i % 2 ? 'red' : 'cube')).join(' ');
    const caps = [
      '',
      '...!?',
      'runs quickly',
      words500,
      'ein roter Würfel und eine blaue Kugel',
      '一只红色的猫',
      '🐶🔴 🐱🔵',
      'a red 🐶 and a blue cat',
    ];
    const scorer = new AbeScorer(model);
    const res = await scorer.scoreMatrix(pixels, caps, { parts: true, truncate: true });
    expect(res.abe.every((x) => Number.isFinite(x))).to.equal(true);
    for (const m of [0, 1, 2, 5, 6])
      for (let i = 0; i < N; i++) expect(res.abe[i * caps.length + m]).to.equal(res.clip[i * caps.length + m]);
    expect(res.parts!.dropped[3]).to.be.greaterThan(0); // groups past the context (16 tokens) are dropped
  });

  it('bad groups and inputs throw typed errors; empty lists give empty matrices', async () => {
    const scorer = new AbeScorer(model);
    await expectReject(
      scorer.scoreMatrix(pixels, [{ text: 'a red cube', groups: [{ attributes: ['blue'], object: 'cube' }] }]),
      InputError,
    );
    await expectReject(
      scorer.scoreMatrix(pixels, [{ text: 'a red cube', groups: [{ attributes: [], object: 'cube', positions: [2], objectLast: 99 }] }]),
      InputError,
      'positions without ids past the context are dropped',
      true,
    );
    await expectReject(scorer.scoreMatrix(pixels, [42 as never]), InputError);
    await expectReject(scorer.scoreMatrix(pixels, [{ text: 'x', bogus: 1 } as never]), InputError);
    await expectReject(scorer.scoreMatrix(tf.zeros([1, 3, 8, 8]) as tf.Tensor4D, ['a cube']), InputError);
    await expectReject(scorer.scoreMatrix(pixels, ['a cube'], { topK: 99 }), InputError);
    await expectReject(scorer.scoreMatrix(pixels, ['a cube'], { nope: 1 } as never), OptionsError);
    await expectReject(scorer.scorePairs(pixels, ['a cube'], [[N, 0]]), InputError);
    expect(() => new AbeScorer(model, { patchLayer: 5 })).to.throw(OptionsError);
    const e1 = await scorer.scoreMatrix(pixels, []);
    expect([e1.n, e1.m, e1.abe.length]).to.deep.equal([N, 0, 0]);
    const e2 = await scorer.scoreMatrix([], ['a red cube']);
    expect([e2.n, e2.m, e2.abe.length]).to.deep.equal([0, 1, 0]);
    const e3 = await scorer.scorePairs(pixels, ['a red cube'], []);
    expect(e3.abe.length).to.equal(0);
  });

  it('features without the needed patch key are refused with a hint', async () => {
    const scorer = new AbeScorer(model, { patchFeatures: 'tokens' });
    const feats = await scorer.imageFeatures(pixels);
    await expectReject(scorer.scoreMatrix(feats, ['a red cube'], { patchFeatures: 'value' }), InputError);
    const both = await scorer.imageFeatures(pixels, [{ patchFeatures: 'tokens' }, { patchFeatures: 'value' }, { regionFeatures: 'crop' }]);
    const r = await scorer.scoreMatrix(both, ['a red cube'], { patchFeatures: 'value' });
    expect(r.abe.length).to.equal(N);
  });

  it('image features are cached in memory and on disk (content hash + model identity)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-cache-'));
    try {
      const a = new AbeScorer(model, { regionFeatures: 'crop' }, { dir });
      const f1 = await a.imageFeatures(pixels);
      const f2 = await a.imageFeatures(pixels);
      expect(f2[0]).to.equal(f1[0]); // same object: memory hit
      const files = fs.readdirSync(dir, { recursive: true }).filter((x) => String(x).endsWith('.json'));
      expect(files).to.have.length(N);
      const b = new AbeScorer(model, { regionFeatures: 'crop' }, { dir });
      const f3 = await b.imageFeatures(pixels);
      expect(f3[3]).to.not.equal(f1[3]);
      expect(Array.from(f3[3].embed)).to.deep.equal(Array.from(f1[3].embed));
      const key = Object.keys(f1[3].regions)[0];
      expect(Array.from(f3[3].regions[key].embeds)).to.deep.equal(Array.from(f1[3].regions[key].embeds));
      // Another model gets its own folder.
      const other = randomClip(8);
      try {
        const c = new AbeScorer(other, { regionFeatures: 'crop' }, { dir });
        const f4 = await c.imageFeatures(pixels);
        expect(Array.from(f4[0].embed)).to.not.deep.equal(Array.from(f1[0].embed));
        expect(fs.readdirSync(dir)).to.have.length(2);
      } finally {
        other.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('no tensor leaks across 100 scorer calls', async () => {
    const scorer = new AbeScorer(model, { regionFeatures: 'crop', refine: 'contextual', patchFeatures: 'selfself' });
    const two = tf.slice(pixels, [0, 0, 0, 0], [2, -1, -1, -1]);
    try {
      await scorer.scoreMatrix(two, CAPTIONS, { parts: true }); // warm-up: the model derives views lazily
      const before = tf.memory().numTensors;
      for (let k = 0; k < 100; k++) {
        if (k % 25 === 0) scorer.clearCaches(); // recompute features and text now and then
        if (k % 2) await scorer.scoreMatrix(two, CAPTIONS, { parts: true, scoreChunk: 1 });
        else
          await scorer.scorePairs(two, CAPTIONS, [
            [0, 0],
            [1, 1],
            [1, 5],
          ]);
      }
      expect(tf.memory().numTensors).to.equal(before);
    } finally {
      two.dispose();
    }
  });
});

async function expectReject(p: Promise<unknown>, cls: new (...a: never[]) => Error, _why = '', resolves = false): Promise<void> {
  let err: unknown = null;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  if (resolves) {
    expect(err, String(err)).to.equal(null);
    return;
  }
  expect(err, 'expected a rejection').to.be.instanceOf(cls);
}
void resolveOptions;

describe('abe/scorer: region terms comparable across captions (random tiny model)', function () {
  this.timeout(120000);
  let model: ClipModel;
  let pixels: tf.Tensor4D;
  before(() => {
    model = randomClip(5);
    pixels = tf.tensor4d(randomPixels(4, 3), [4, 3, R, R]);
  });
  after(() => {
    pixels.dispose();
    model.dispose();
  });

  it('centered: attribute-free groups add exactly 0, the caption term is λ·s·mean over ALL groups (parts recomputed by hand, 1e-5)', async () => {
    const scorer = new AbeScorer(model, { ...resolveOptions('abe+regions'), regionTerm: 'centered' });
    const caps = [
      'a cube and a sphere',
      'a red cube and a sphere',
      'a red cube and a blue sphere',
      { text: 'a cube', groups: [{ attributes: [], object: 'cube' }] },
    ];
    const r = await scorer.scoreMatrix(pixels, caps, { parts: true });
    const p = r.parts!,
      Q = p.groups.length,
      s = model.logitScale,
      o = scorer.options;
    for (let i = 0; i < r.n; i++) {
      // Captions without attributes: S_abe = S_clip exactly, whatever the regions.
      for (const m of [0, 3]) expect(r.abe[i * r.m + m]).to.equal(r.clip[i * r.m + m]);
      for (let m = 0; m < r.m; m++) {
        const qs = p.groups.map((g, q) => (g.caption === m ? q : -1)).filter((q) => q >= 0);
        for (const q of qs) {
          const g = p.groups[q];
          if (!g.attributes.length) expect(p.regionGroupTerm![i * Q + q]).to.equal(0);
          else if (p.region![i * Q + q] >= 0)
            expect(p.regionGroupTerm![i * Q + q]).to.be.at.most(p.regionSim![i * Q + q] - p.regionObjectSim![i * Q + q] + 1e-6);
        }
        const mean = qs.reduce((a, q) => a + p.regionGroupTerm![i * Q + q], 0) / qs.length;
        expect(r.abe[i * r.m + m] - r.clip[i * r.m + m]).to.be.closeTo(
          o.regionLambda * s * mean,
          1e-5 * Math.max(1, Math.abs(r.abe[i * r.m + m])),
        );
      }
      expect(p.regionMasks![i].masks.length).to.equal(p.regionCount![i]);
    }
  });

  it('abe+regions defined behaviour: attribute-free group = its object phrase, absent object = its phrase at its jointly assigned region, long caption = groups past the context dropped (independent text passes, 1e-4)', async () => {
    const scorer = new AbeScorer(model, 'abe+regions');
    const o = scorer.options,
      s = model.logitScale;
    const long = `a red cube and a blue sphere ${Array.from({ length: 12 }, () => 'and').join(' ')} a green cone`; // "cone" past 16 tokens
    // "sphere" names no attribute; no random image holds a giraffe (an absent object); the long caption is cut.
    const caps = ['a cube and a sphere', 'a red giraffe and a sphere', long];
    const feats = await scorer.imageFeatures(pixels);
    const r = await scorer.scoreMatrix(feats, caps, { parts: true, truncate: true });
    const p = r.parts!,
      Q = p.groups.length;
    expect(Array.from(p.dropped)).to.deep.equal([0, 0, 1]); // "a green cone" is past the context: dropped and counted
    expect(p.groups.filter((g) => g.caption === 2).map((g) => g.object)).to.deep.equal(['cube', 'sphere']);
    // Independent embeddings: plain text passes of each templated phrase and of its object alone.
    const embed = async (texts: string[]) => {
      const ids = prepareCaptions(texts, TINY_CONFIG.text.contextLength).map((c) => Array.from(c.ids));
      const enc = await model.encodeTexts(tf.tensor2d(Int32Array.from(ids.flat()), [ids.length, TINY_CONFIG.text.contextLength], 'int32'));
      const d = enc.embeds.dataSync() as Float32Array;
      tf.dispose([enc.embeds, enc.tokens]);
      return d;
    };
    const pe = await embed(p.groups.map((g) => o.template.replace('{}', [...g.attributes, g.object].join(' '))));
    const oe = await embed(p.groups.map((g) => o.template.replace('{}', g.object)));
    const key = needsOf(model, o).regions[0].key;
    expect(feats.filter((f) => f.regions[key].masks.length > 0)).to.have.length.greaterThan(0);
    for (let i = 0; i < r.n; i++) {
      const reg = feats[i].regions[key],
        count = reg.masks.length;
      const cos = (t: Float32Array, q: number, x: number) => {
        let d = 0,
          n = 0;
        for (let e = 0; e < E; e++) {
          d += t[q * E + e] * reg.embeds[x * E + e];
          n += t[q * E + e] ** 2;
        }
        return d / Math.sqrt(n);
      };
      const by = (q: number, x: number) =>
        o.regionAssignBy === 'phrase' ? cos(pe, q, x) : o.regionAssignBy === 'object' ? cos(oe, q, x) : cos(pe, q, x) + cos(oe, q, x);
      for (let m = 0; m < r.m; m++) {
        if (!count) {
          expect(r.abe[i * r.m + m]).to.equal(r.clip[i * r.m + m]);
          continue;
        } // no region: no term
        const qs = p.groups.map((g, q) => (g.caption === m ? q : -1)).filter((q) => q >= 0);
        // Brute force over maps to distinct regions (every region used when the groups outnumber them).
        let best = -Infinity,
          bestMean = 0;
        const need = Math.min(qs.length, count);
        const rec = (k: number, used: number[], sum: number) => {
          if (k === qs.length) {
            if (new Set(used).size === need && sum > best + 1e-9) {
              best = sum;
              bestMean = used.reduce((acc, x, kk) => acc + cos(pe, qs[kk], x), 0) / qs.length;
            }
            return;
          }
          for (let x = 0; x < count; x++) rec(k + 1, [...used, x], sum + by(qs[k], x));
        };
        rec(0, [], 0);
        expect(r.abe[i * r.m + m] - r.clip[i * r.m + m]).to.be.closeTo(
          o.regionLambda * s * bestMean,
          1e-4 * Math.max(1, Math.abs(r.abe[i * r.m + m])),
        );
        // Every group, attribute-free ones too, scores its own phrase (for "sphere": the object phrase) on its region.
        for (const q of qs) expect(p.regionGroupTerm![i * Q + q]).to.be.closeTo(cos(pe, q, p.region![i * Q + q]), 1e-4);
      }
    }
  });

  it('token-subset pass: all patches = the full image pass, and a padded row = the same row alone (1e-4)', async () => {
    const { encodeTokenSubsets } = await import('../../src/clip/vision');
    const full = await model.encodeImages(pixels, { tokens: false });
    const all = Int32Array.from({ length: P }, (_, j) => j);
    const few = Int32Array.from([0, 5, 6, 9]);
    const [a, b, alone] = tf.tidy(() => [
      encodeTokenSubsets(model.vision, pixels, [0, 1, 2, 3], [all, all, all, all]).dataSync() as Float32Array,
      encodeTokenSubsets(model.vision, pixels, [2, 1], [few, all]).dataSync() as Float32Array,
      encodeTokenSubsets(model.vision, pixels, [2], [few]).dataSync() as Float32Array,
    ]);
    const ref = full.embeds.dataSync() as Float32Array;
    tf.dispose([full.embeds, full.tokens]);
    for (let k = 0; k < ref.length; k++) expect(a[k]).to.be.closeTo(ref[k], 1e-4);
    for (let k = 0; k < E; k++) expect(b[k]).to.be.closeTo(alone[k], 1e-4);
    for (let k = 0; k < E; k++) expect(b[E + k]).to.be.closeTo(ref[E + k], 1e-4);
  });

  /** Reference for a token subset: image `owner`'s full pass with every other key masked out from block `from` on. */
  async function maskedPass(owner: number, subset: Int32Array, from: number): Promise<Float32Array> {
    const T = 1 + P;
    const keep = new Set([0, ...Array.from(subset, (j) => 1 + j)]);
    const maskData = new Float32Array(T * T);
    for (let q = 0; q < T; q++) for (let k = 0; k < T; k++) if (!keep.has(k)) maskData[q * T + k] = -1e9;
    const mask = tf.tensor2d(maskData, [T, T]);
    const one = tf.slice(pixels, [owner, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
    const attentionMask = Object.fromEntries(Array.from({ length: model.vision.layers }, (_, b) => [b, () => (b >= from ? mask : null)]));
    const out = await model.encodeImages(one, { tokens: false, hooks: { attentionMask } });
    const ref = out.embeds.dataSync() as Float32Array;
    tf.dispose([out.embeds, out.tokens, mask, one]);
    return ref;
  }

  it('token-subset passes packed into shared rows = the full image pass with the other keys masked out (1e-4); no subsets → [0, E]', async () => {
    const { encodeTokenSubsets } = await import('../../src/clip/vision');
    const subsets = [Int32Array.from([0, 5, 6, 9]), Int32Array.from([1, 2, 3, 7, 8, 11]), Int32Array.from([4]), Int32Array.from([2, 3])];
    const owners = [2, 0, 3, 2];
    const packed = tf.tidy(() => encodeTokenSubsets(model.vision, pixels, owners, subsets).dataSync() as Float32Array);
    const none = encodeTokenSubsets(model.vision, pixels, [], []);
    expect(none.shape).to.deep.equal([0, E]);
    none.dispose();
    for (let r = 0; r < subsets.length; r++) {
      const ref = await maskedPass(owners[r], subsets[r], 0);
      for (let k = 0; k < E; k++) expect(packed[r * E + k], `subset ${r}`).to.be.closeTo(ref[k], 1e-4);
    }
  });

  it('token-subset passes from hidden state 1 = the full image pass with the other keys masked out from block 1 on (1e-4)', async () => {
    const { encodeTokenSubsets } = await import('../../src/clip/vision');
    const subsets = [Int32Array.from([0, 5, 6, 9]), Int32Array.from([2, 3, 7])];
    const owners = [1, 3];
    const full = await model.encodeImages(pixels, { tokens: false, cache: ['blocks.1.resid.pre'] });
    const hidden = full.cache!['blocks.1.resid.pre'] as tf.Tensor3D;
    const got = tf.tidy(() => encodeTokenSubsets(model.vision, pixels, owners, subsets, { hidden, layer: 1 }).dataSync() as Float32Array);
    tf.dispose([full.embeds, full.tokens, ...Object.values(full.cache!)]);
    for (let r = 0; r < subsets.length; r++) {
      const ref = await maskedPass(owners[r], subsets[r], 1);
      for (let k = 0; k < E; k++) expect(got[r * E + k], `subset ${r}`).to.be.closeTo(ref[k], 1e-4);
    }
  });

  it('regionStart 0.5 and 0: the scorer (start state from its image pass) = encodeRegions alone (own pass / embedding), 1e-5; the two differ', async () => {
    const { encodeRegions } = await import('../../src/abe/image-features');
    const o = resolveOptions({ ...NAMED_CONFIGS['abe+regions'], regionStart: 0.5 });
    const before = tf.memory().numTensors;
    const feats = await new AbeScorer(model, o).imageFeatures(pixels);
    const feats0 = await new AbeScorer(model, { ...o, regionStart: 0 }).imageFeatures(pixels);
    const [key] = Object.keys(feats[0].regions);
    const [key0] = Object.keys(feats0[0].regions);
    expect(key).to.not.equal(key0);
    const list = feats.map((f, row) => ({ row, masks: f.regions[key].masks, foreground: f.regions[key].foreground }));
    const alone = await encodeRegions(model, pixels, pixels.dataSync() as Float32Array, list, o);
    const list0 = feats0.map((f, row) => ({ row, masks: f.regions[key0].masks, foreground: f.regions[key0].foreground }));
    const alone0 = await encodeRegions(model, pixels, pixels.dataSync() as Float32Array, list0, { ...o, regionStart: 0 });
    expect(tf.memory().numTensors).to.equal(before);
    const got = Float32Array.from(feats.flatMap((f) => Array.from(f.regions[key].embeds)));
    const got0 = Float32Array.from(feats0.flatMap((f) => Array.from(f.regions[key0].embeds)));
    expect(got.length).to.equal(alone.length);
    for (let k = 0; k < got.length; k++) expect(got[k]).to.be.closeTo(alone[k], 1e-5);
    for (let k = 0; k < got0.length; k++) expect(got0[k]).to.be.closeTo(alone0[k], 1e-5);
    expect(Math.max(...got.map((x, k) => Math.abs(x - got0[k])))).to.be.above(1e-3);
  });

  it('the text cache is bounded (textEntries) and scores do not change when entries are evicted', async () => {
    const small = new AbeScorer(model, 'abe+regions', { textEntries: 5 });
    const big = new AbeScorer(model, 'abe+regions');
    const caps = ['a red cube and a blue sphere', 'a green cone', 'a big white plate with a black knife'];
    const x = await small.scoreMatrix(pixels, caps);
    const y = await small.scoreMatrix(pixels, caps);
    const z = await big.scoreMatrix(pixels, caps);
    expect(small.textCacheSize).to.be.at.most(5);
    expect(Array.from(y.abe)).to.deep.equal(Array.from(x.abe));
    for (let k = 0; k < z.abe.length; k++) expect(x.abe[k]).to.be.closeTo(z.abe[k], 1e-5);
  });
});
