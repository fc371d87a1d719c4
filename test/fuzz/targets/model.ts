/**
 * The model API under random arguments: encoders of the vendored micro model with wrong / odd tensors,
 * id arrays and option objects (hooks included), and the ABE scorer with random option objects, captions
 * and inputs. These make tensors: the harness checks tf.memory().numTensors is unchanged after every case.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { AbeScorer } from '../../../src/abe';
import { DEFAULT_OPTIONS, resolveOptions } from '../../../src/abe/options';
import { ClipModel, createClip, disposeOutput } from '../../../src/clip/model';
import type { EncoderOutput } from '../../../src/clip/types';
import { canonicalize } from '../../../src/weights/names';
import { readSafetensors } from '../../../src/weights/safetensors';
import { randomClip, TINY_CONFIG } from '../../abe/tinyModel';
import { fixturePath } from '../../helpers/paths';
import type { Target } from '../harness';
import { INTERESTING_VALUES, randomCaption, Rng, showValue } from '../mutate';

const show = (x: unknown): string => showValue(x instanceof tf.Tensor ? `<${x.dtype} tensor [${x.shape}]>` : x);

/** The vendored micro CLIP (test/fixtures/micro): 2+2 layers, R=32, vocab 1000, L=16. */
export function loadMicro(): ClipModel {
  const dir = fixturePath('micro');
  const { tensors } = readSafetensors(path.join(dir, 'openai.safetensors'));
  const hfConfig = JSON.parse(fs.readFileSync(path.join(dir, 'hf_config.json'), 'utf8'));
  const { config, weights } = canonicalize(tensors, { source: 'openai.safetensors', hfConfig });
  return createClip(config, weights);
}

/** A tensor description built lazily inside `run`, so that every tensor a case makes is the case's to free. */
type TensorSpec = {
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  fill: 'normal' | 'nan' | 'inf' | 'huge' | 'ids';
  disposed?: boolean;
};

function isSpec(x: unknown): x is TensorSpec {
  return !!x && typeof x === 'object' && !Array.isArray(x) && !(x instanceof tf.Tensor) && 'fill' in x && 'shape' in x;
}

function makeTensor(s: TensorSpec, vocab: number): tf.Tensor {
  const n = s.shape.reduce((a, b) => a * b, 1);
  const vals = Float32Array.from({ length: n }, (_, i) => {
    switch (s.fill) {
      case 'nan':
        return i % 3 === 0 ? NaN : 0.5;
      case 'inf':
        return i % 5 === 0 ? -Infinity : Infinity;
      case 'huge':
        return i % 2 ? 3e38 : -3e38;
      case 'ids':
        return ((i * 7919) % (vocab + 3)) - 1;
      default:
        return Math.sin(i);
    }
  });
  const t =
    s.dtype === 'bool'
      ? tf.tensor(
          Array.from(vals, (v) => v > 0),
          s.shape,
          'bool',
        )
      : tf.tensor(s.dtype === 'int32' ? Int32Array.from(vals) : vals, s.shape, s.dtype);
  if (s.disposed) t.dispose();
  return t;
}

function shapeSpec(r: Rng, good: number[]): number[] {
  if (r.chance(0.6)) return good;
  const s = good.slice();
  switch (r.int(5)) {
    case 0:
      s.pop();
      break;
    case 1:
      s.push(1);
      break;
    case 2:
      s[r.int(s.length)] = r.pick([0, 1, 2, 3, 31, 33]);
      break;
    case 3:
      return [r.int(3)];
    default:
      s[0] = 0;
      break;
  }
  return s;
}

function randomHooks(r: Rng, layers: number, T: number, W: number): unknown {
  if (r.chance(0.1)) return r.pick(INTERESTING_VALUES);
  const hooks: Record<string, unknown> = {};
  if (r.chance(0.7)) {
    const hidden: Record<string, unknown> = {};
    for (let k = r.int(3); k > 0; k--) {
      const at = r.chance(0.85) ? r.int(layers + 1) : r.pick([-1, layers + 1, 1.5, 'x', 1e9]);
      hidden[String(at)] = r.pick([
        (h: tf.Tensor3D) => tf.mul(h, 2) as tf.Tensor3D,
        () => undefined,
        (h: tf.Tensor3D) => tf.zeros([h.shape[0], T, W + 1]) as tf.Tensor3D, // wrong width
        (h: tf.Tensor3D) => tf.zeros([h.shape[0] + 1, T, W]) as tf.Tensor3D, // wrong batch
        () => tf.scalar(1) as unknown as tf.Tensor3D, // wrong rank
        (h: tf.Tensor3D) => tf.cast(h, 'int32') as tf.Tensor3D, // wrong dtype
        () => 'not a tensor' as unknown as tf.Tensor3D,
        (h: tf.Tensor3D) => tf.fill(h.shape, NaN) as tf.Tensor3D,
        () => {
          throw new HookFailure();
        },
        'not a function',
      ]);
    }
    hooks.hidden = r.chance(0.05) ? r.pick(INTERESTING_VALUES) : hidden;
  }
  if (r.chance(0.5)) {
    const masks: Record<string, unknown> = {};
    for (let k = r.int(3); k > 0; k--) {
      masks[String(r.chance(0.85) ? r.int(layers) : r.pick([-1, layers, 'x']))] = r.pick([
        () => null,
        (i: { tokens: number }) => tf.zeros([i.tokens, i.tokens]),
        (i: { tokens: number; batch: number }) => tf.zeros([i.batch, i.tokens, i.tokens]),
        (i: { tokens: number }) => tf.zeros([i.tokens + 1, i.tokens]), // wrong size
        () => tf.zeros([2, 2, 2, 2]), // wrong rank
        (i: { tokens: number }) => tf.fill([i.tokens, i.tokens], -Infinity), // everything blocked
        (i: { defaultMask: tf.Tensor2D | null }) => i.defaultMask,
        () => 7,
      ]);
    }
    hooks.attentionMask = masks;
  }
  if (r.chance(0.05)) hooks[r.pick(['hiden', 'x'])] = {};
  return hooks;
}

function randomEncodeOptions(r: Rng, layers: number, T: number, W: number, text: boolean): unknown {
  if (r.chance(0.05)) return r.pick(INTERESTING_VALUES);
  const o: Record<string, unknown> = {};
  if (r.chance(0.5)) o.batchSize = r.chance(0.8) ? 1 + r.int(5) : r.pick(INTERESTING_VALUES);
  if (r.chance(0.3)) o.hiddenStates = r.chance(0.8) ? r.chance(0.5) : r.pick(INTERESTING_VALUES);
  if (r.chance(0.3)) o.hooks = randomHooks(r, layers, T, W);
  if (text && r.chance(0.3)) o.truncate = r.chance(0.5);
  if (r.chance(0.03)) o[r.pick(['batch_size', 'x', 'truncate'])] = 1;
  return o;
}

/** What a user hook throws on purpose: the encoders must pass it through (and free their tensors). */
class HookFailure extends Error {
  constructor() {
    super('hook failed on purpose');
  }
}

type EncCase = { op: 'images' | 'texts' | 'logits'; pixels?: TensorSpec | unknown; ids?: TensorSpec | unknown; opts?: unknown };

export const encoders: Target<EncCase, ClipModel> = {
  name: 'encoders',
  weight: 0.25,
  perCaseMs: 10_000,
  setup: loadMicro,
  generate(r, m) {
    const c = m.config,
      R = c.vision.resolution,
      L = c.text.contextLength;
    const op = r.pick(['images', 'texts', 'texts', 'logits'] as const);
    const pixelSpec = (): TensorSpec | unknown =>
      r.chance(0.05)
        ? r.pick(INTERESTING_VALUES)
        : {
            shape: shapeSpec(r, [r.int(4), 3, R, R]),
            dtype: r.chance(0.9) ? 'float32' : r.pick(['int32', 'bool']),
            fill: r.chance(0.8) ? 'normal' : r.pick(['nan', 'inf', 'huge']),
            disposed: r.chance(0.03),
          };
    const idSpec = (): TensorSpec | unknown => {
      const k = r.int(10);
      if (k < 4)
        return {
          shape: shapeSpec(r, [r.int(4), 1 + r.int(L)]),
          dtype: r.chance(0.9) ? 'int32' : 'float32',
          fill: 'ids',
          disposed: r.chance(0.03),
        };
      if (k < 7) {
        const rows = r.int(4),
          len = 1 + r.int(L + 2);
        return Array.from({ length: rows }, () =>
          Array.from({ length: r.chance(0.9) ? len : r.int(L) }, () =>
            r.chance(0.95) ? r.int(c.text.vocabSize) : r.pick(INTERESTING_VALUES),
          ),
        );
      }
      if (k < 9) return Array.from({ length: 1 + r.int(3) }, () => (r.chance(0.95) ? randomCaption(r, 60) : r.pick(INTERESTING_VALUES)));
      return r.pick(INTERESTING_VALUES);
    };
    if (op === 'images')
      return {
        op,
        pixels: pixelSpec(),
        opts: randomEncodeOptions(r, c.vision.layers, (R / c.vision.patchSize) ** 2 + 1, c.vision.width, false),
      };
    if (op === 'texts') return { op, ids: idSpec(), opts: randomEncodeOptions(r, c.text.layers, L, c.text.width, true) };
    return {
      op,
      pixels: pixelSpec(),
      ids: idSpec(),
      opts: r.chance(0.8) ? { batchSize: 1 + r.int(3), ...(r.chance(0.3) ? { truncate: true } : {}) } : r.pick(INTERESTING_VALUES),
    };
  },
  async run(c, m) {
    const made: tf.Tensor[] = [];
    const realise = (x: unknown): unknown => {
      if (isSpec(x)) {
        const t = makeTensor(x, m.config.text.vocabSize);
        made.push(t);
        return t;
      }
      return x;
    };
    try {
      if (c.op === 'images') return summarise(await m.encodeImages(realise(c.pixels) as tf.Tensor4D, c.opts as never));
      if (c.op === 'texts') return summarise(await m.encodeTexts(realise(c.ids) as tf.Tensor2D, c.opts as never));
      const { logitsPerImage, logitsPerText } = await m.logits(
        realise(c.pixels) as tf.Tensor4D,
        realise(c.ids) as tf.Tensor2D,
        c.opts as never,
      );
      const shape = logitsPerImage.shape.slice();
      tf.dispose([logitsPerImage, logitsPerText]);
      return { logits: shape };
    } catch (e) {
      if (e instanceof HookFailure) return { hookFailed: true };
      throw e;
    } finally {
      tf.dispose(made.filter((t) => !t.isDisposed));
    }
  },
  check(res, _c, m) {
    const o = res as { embeds?: number[]; tokens?: number[]; hidden?: number[][]; logits?: number[]; hookFailed?: boolean };
    if (o.hookFailed) return null;
    const E = m.config.embedDim;
    if (o.logits) return o.logits.length === 2 ? null : `logits shape [${o.logits}]`;
    if (o.embeds!.length !== 2 || o.embeds![1] !== E) return `embeds shape [${o.embeds}]`;
    if (o.tokens!.length !== 3 || o.tokens![0] !== o.embeds![0] || o.tokens![2] !== E)
      return `tokens shape [${o.tokens}] vs embeds [${o.embeds}]`;
    return null;
  },
  describe: show,
};

function summarise(out: EncoderOutput): { embeds: number[]; tokens: number[]; hidden?: number[][] } {
  const s = { embeds: out.embeds.shape.slice(), tokens: out.tokens.shape.slice(), hidden: out.hidden?.map((h) => h.shape.slice()) };
  disposeOutput(out);
  return s;
}

// ---------------------------------------------------------------- scorer

const OPTION_VALUES: Record<string, unknown[]> = {
  refine: ['isolated', 'contextual', 'none'],
  patchFeatures: ['tokens', 'value', 'selfself'],
  locate: ['object', 'phrase'],
  fuse: ['binding-difference', 'additive', 'convex', 'none'],
  regionFeatures: ['none', 'crop'],
  regionSource: ['tokens', 'value', 'selfself'],
  regionAssign: ['joint', 'indep'],
  gamma: [0, 0.5, 10],
  refineLayer: [-1, -2, 0, 2, -3],
  patchLayer: [-1, 0, 1, 2, -3],
  topK: [1, 2, 16],
  lambda: [0, 0.5, 1, -2],
  maxRegions: [1, 2, 3],
  regionDilation: [0, 1, 2],
  regionLambda: [0, 2],
  regionMaxMaps: [1, 8, 4096],
  imageBatchSize: [1, 2, 32],
  textBatchSize: [1, 3, 256],
  scoreChunk: [1, 2, 64],
  template: ['a photo of a {}', '{}', 'x {} y'],
};

function randomOptions(r: Rng): unknown {
  if (r.chance(0.05)) return r.pick([...INTERESTING_VALUES, 'clip', 'abe', 'abe+regions', 'ABE', 'nope']);
  const o: Record<string, unknown> = {};
  const keys = Object.keys(DEFAULT_OPTIONS);
  for (let k = r.int(5); k > 0; k--) {
    const key = r.chance(0.95) ? r.pick(keys) : r.pick(['parts', 'topk', '__proto__', 'x']);
    o[key] =
      r.chance(0.8) && OPTION_VALUES[key] ? r.pick(OPTION_VALUES[key]) : r.pick([...INTERESTING_VALUES, 'x{}{}', 'no braces', 17, 100001]);
  }
  return o;
}

type ScoreCase = {
  op: 'options' | 'matrix' | 'pairs';
  ctor: unknown;
  opts?: unknown;
  pixels?: TensorSpec | unknown;
  captions?: unknown;
  pairs?: unknown;
  useFeatures?: boolean;
};

export const scorer: Target<ScoreCase, ClipModel> = {
  name: 'scorer',
  weight: 0.1,
  perCaseMs: 10_000,
  setup: () => randomClip(3),
  generate(r) {
    const R = TINY_CONFIG.vision.resolution;
    const op = r.pick(['options', 'options', 'matrix', 'pairs'] as const);
    const ctor = r.chance(0.5) ? r.pick([undefined, 'abe', 'clip', 'abe+regions']) : randomOptions(r);
    if (op === 'options') return { op, ctor, opts: randomOptions(r) };
    const n = r.int(3);
    const pixels = r.chance(0.07)
      ? r.pick(INTERESTING_VALUES)
      : {
          shape: r.chance(0.9) ? [n, 3, R, R] : shapeSpec(r, [n, 3, R, R]),
          dtype: 'float32',
          fill: r.chance(0.9) ? 'normal' : r.pick(['nan', 'inf', 'huge']),
        };
    const captions = r.chance(0.05)
      ? r.pick(INTERESTING_VALUES)
      : Array.from({ length: r.int(3) }, () =>
          r.chance(0.1)
            ? r.pick(INTERESTING_VALUES)
            : r.chance(0.5)
              ? r.pick(['a red cube and a blue sphere', 'the small wooden chair next to a black dog', 'two dogs', '!!!', ''])
              : randomCaption(r, 120),
        );
    const opts = r.chance(0.5) ? randomOptions(r) : undefined;
    if (op === 'matrix') return { op, ctor, opts, pixels, captions, useFeatures: r.chance(0.3) };
    const pairs = r.chance(0.1)
      ? r.pick(INTERESTING_VALUES)
      : Array.from({ length: r.int(4) }, () => (r.chance(0.9) ? [r.int(n + 1), r.int(3)] : r.pick(INTERESTING_VALUES)));
    return { op, ctor, opts, pixels, captions, pairs };
  },
  async run(c, m) {
    if (c.op === 'options') {
      const s = new AbeScorer(m, c.ctor as never);
      return { options: resolveOptions(c.opts as never, s.options) };
    }
    const s = new AbeScorer(m, c.ctor as never, { maxEntries: 4 });
    const spec = c.pixels as TensorSpec;
    const px = isSpec(spec) ? makeTensor(spec, 0) : c.pixels;
    try {
      const images = c.useFeatures && px instanceof tf.Tensor ? await s.imageFeatures(px as tf.Tensor4D, c.opts as never) : px;
      if (c.op === 'matrix') {
        const out = await s.scoreMatrix(images as tf.Tensor4D, c.captions as never, c.opts as never);
        return { n: out.n, m: out.m, clip: out.clip.length, abe: out.abe.length };
      }
      const out = await s.scorePairs(images as tf.Tensor4D, c.captions as never, c.pairs as never, c.opts as never);
      return { pairs: (c.pairs as unknown[]).length, clip: out.clip.length, abe: out.abe.length };
    } finally {
      if (px instanceof tf.Tensor && !px.isDisposed) px.dispose();
    }
  },
  check(res) {
    const o = res as { n?: number; m?: number; pairs?: number; clip?: number; abe?: number; options?: unknown };
    if (o.options) return null;
    const want = o.pairs ?? o.n! * o.m!;
    return o.clip === want && o.abe === want ? null : `clip ${o.clip} / abe ${o.abe} values, expected ${want}`;
  },
  describe: show,
};
