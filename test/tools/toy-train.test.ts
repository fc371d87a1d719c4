/**
 * tools/toy-train: the training forward pass against ClipModel (the inference model, itself checked against the
 * PyTorch goldens), the batch loss against an independent float64 InfoNCE of its logits, AdamW against the
 * torch.optim.AdamW update written out in float64, the weight-decay mask, the logit-scale clamp, no tensor leak,
 * a few steps lowering the loss of a fixed batch, the training data's world rules and the float16 writer.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { randomClipWeights } from '../../src/bench/random-weights';
import { createClip } from '../../src/clip';
import { canonicalShapes } from '../../src/weights/names';
import type { ClipConfig } from '../../src/config/clip';
import { readSafetensors } from '../../src/weights/safetensors';
import type { TensorMap } from '../../src/weights/types';
import { AdamW, decays, learningRate, MAX_LOG_SCALE } from '../../tools/toy-train/adamw';
import { BatchStream, drawCaption, drawScene, ONE_OBJECT_TEMPLATES, TRAIN_TOKENS, TWO_OBJECT_TEMPLATES } from '../../tools/toy-train/data';
import { causalMask, encodeImages, encodeTexts, logits } from '../../tools/toy-train/forward';
import { writeSafetensorsF16 } from '../../tools/toy-train/safetensors-out';
import { ROWS_NAME, TokenTable } from '../../tools/toy-train/tokens';
import { batchLoss, toTensorMap, toVariables, trainStep } from '../../tools/toy-train/train';
import { rng } from '../../src/random';
import { HELD_OUT } from '../../tools/toy-world/world';

/** Symmetric InfoNCE in float64 from host logits [n][n]: mean of the row-wise and column-wise cross-entropies. */
function infoNce64(l: number[][]): number {
  const n = l.length;
  const ce = (row: number[], i: number) => {
    const m = Math.max(...row);
    return Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) + m - row[i];
  };
  let a = 0,
    b = 0;
  for (let i = 0; i < n; i++) {
    a += ce(l[i], i);
    b += ce(
      l.map((r) => r[i]),
      i,
    );
  }
  return (a / n + b / n) / 2;
}

/** A micro CLIP on the toy world's 64 px images and the real tokenizer's vocabulary (fast on the cpu backend). */
const tower = { width: 32, layers: 1, heads: 2, mlpWidth: 128, act: 'quick_gelu' as const, layerNormEps: 1e-5 };
const config: ClipConfig = {
  embedDim: 16,
  vision: { ...tower, resolution: 64, patchSize: 16 },
  text: { ...tower, contextLength: 32, vocabSize: 49408 },
};

describe('tools/toy-train (training step of a micro CLIP on toy-world batches)', function () {
  this.timeout(60_000);
  const weights: TensorMap = randomClipWeights(config, { seed: 3 });
  const vocab = TokenTable.forWorld();

  it('training forward = ClipModel logits on 4 fresh images and captions (16-token rows vs context 32; |Δ| ≤ 2e-3)', async () => {
    const b = new BatchStream(11).next(4);
    const model = createClip(config, weights);
    const params = toVariables(weights, vocab);
    const mask = causalMask(TRAIN_TOKENS);
    try {
      const mine = tf.tidy(() => {
        const img = encodeImages(params, config, tf.tensor4d(b.pixels, [4, 3, 64, 64]));
        return logits(params, img, encodeTexts(params, config, vocab, b.ids, 4, TRAIN_TOKENS, mask)).arraySync();
      });
      const px = tf.tensor4d(b.pixels, [4, 3, 64, 64]);
      const ref = await model.logits(px, b.captions);
      const want = ref.logitsPerImage.arraySync();
      tf.dispose([px, ref.logitsPerImage, ref.logitsPerText]);
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(Math.abs(mine[i][j] - want[i][j])).to.be.below(2e-3);
    } finally {
      model.dispose();
      tf.dispose([...params.values(), mask]);
    }
  });

  it('batch loss = float64 symmetric InfoNCE of the same logits (|Δ| ≤ 1e-4)', () => {
    const b = new BatchStream(12).next(8);
    const params = toVariables(weights, vocab);
    const mask = causalMask(TRAIN_TOKENS);
    try {
      const [loss, l] = tf.tidy(() => {
        const img = encodeImages(params, config, tf.tensor4d(b.pixels, [8, 3, 64, 64]));
        const lg = logits(params, img, encodeTexts(params, config, vocab, b.ids, 8, TRAIN_TOKENS, mask));
        return [batchLoss(params, config, vocab, b, TRAIN_TOKENS, mask).dataSync()[0], lg.arraySync()] as const;
      });
      expect(Math.abs(loss - infoNce64(l))).to.be.below(1e-4);
    } finally {
      tf.dispose([...params.values(), mask]);
    }
  });

  it('4 AdamW steps on one fixed batch of 8 lower its loss; gradients finite; no tensor leak per step', () => {
    const b = new BatchStream(13).next(8);
    const params = toVariables(weights, vocab);
    const opt = new AdamW(params);
    const mask = causalMask(TRAIN_TOKENS);
    try {
      const before = tf.memory().numTensors;
      const losses: number[] = [];
      for (let s = 0; s < 4; s++) {
        const r = trainStep(params, opt, config, vocab, b, TRAIN_TOKENS, mask, 3e-3);
        expect(r.finite, `step ${s}`).to.equal(true);
        expect(r.gradNorm).to.be.above(0);
        losses.push(r.loss);
        expect(tf.memory().numTensors).to.equal(before);
      }
      const last = tf.tidy(() => batchLoss(params, config, vocab, b, TRAIN_TOKENS, mask).dataSync()[0]);
      expect(last).to.be.below(losses[0] - 0.05);
      // Written weights: trained vocabulary rows in place, every other token row decayed by (1 − lr·wd)⁴ only.
      const out = toTensorMap(params, weights, vocab, opt.decayProduct);
      const full = out.get('token_embedding.weight')!,
        base = weights.get('token_embedding.weight')!,
        W = full.shape[1];
      expect([...out.keys()]).to.deep.equal([...weights.keys()]);
      expect(Array.from(vocab.ids)).not.to.include(1000);
      for (let j = 0; j < W; j++) expect(full.data[1000 * W + j]).to.be.closeTo(base.data[1000 * W + j] * (1 - 3e-3 * 0.1) ** 4, 1e-7);
      const rows = params.get(ROWS_NAME)!.dataSync(),
        k = vocab.ids.indexOf(49407);
      for (let j = 0; j < W; j++) expect(full.data[49407 * W + j]).to.equal(rows[k * W + j]);
      expect(full.data[49407 * W]).not.to.equal(base.data[49407 * W]);
    } finally {
      opt.dispose();
      tf.dispose([...params.values(), mask]);
    }
  });

  it('weight decay on matrices and embeddings only: not on gains, biases, class embedding or logit scale', () => {
    const decayed = [...canonicalShapes({ ...config, vision: { ...config.vision, layers: 3 }, text: { ...config.text, layers: 3 } })]
      .filter(([n, shape]) => decays(n, shape))
      .map(([n]) => n);
    for (const n of decayed) expect(n).to.match(/(weight|embedding|proj|projection)$/);
    for (const n of decayed) expect(n).not.to.match(/(ln_\w+|ln_final|ln_pre|ln_post)\.weight$|bias$|class_embedding$|logit_scale/);
    expect(decayed).to.include.members([
      'token_embedding.weight',
      'positional_embedding',
      'visual.positional_embedding',
      'visual.conv1.weight',
      'visual.proj',
      'text_projection',
      'transformer.resblocks.0.attn.in_proj_weight',
      'visual.transformer.resblocks.2.mlp.c_proj.weight',
    ]);
    // 3 + 3 blocks × 4 linear weights, conv1, 2 positional + token embedding, 2 projections.
    expect(decayed).to.have.length(6 * 4 + 1 + 3 + 2);
  });

  it('AdamW step = torch.optim.AdamW written out in float64 (decay only where masked; logit scale clamped to ln 100; |Δ| ≤ 1e-6)', () => {
    const p = new Map<string, tf.Variable>([
      [
        'w.weight',
        tf.variable(
          tf.tensor2d([
            [0.5, -1],
            [2, 0.25],
          ]),
        ),
      ],
      ['w.bias', tf.variable(tf.tensor1d([0.3, -0.7]))],
      ['logit_scale', tf.variable(tf.scalar(4.6))],
    ]);
    const g0 = { 'w.weight': [0.1, -0.2, 0.05, 0.4], 'w.bias': [1, -0.5], logit_scale: [-3] };
    const g1 = { 'w.weight': [-0.3, 0.1, 0.2, 0.0], 'w.bias': [0.2, 0.1], logit_scale: [-1] };
    const opt = new AdamW(p);
    // float64 reference: decoupled decay p·(1 − lr·wd), bias-corrected moments, then the clamp.
    const lr = 0.01,
      wd = 0.1,
      b1 = 0.9,
      b2 = 0.98,
      eps = 1e-6;
    const ref: Record<string, number[]> = { 'w.weight': [0.5, -1, 2, 0.25], 'w.bias': [0.3, -0.7], logit_scale: [4.6] };
    const m: Record<string, number[]> = {},
      v: Record<string, number[]> = {};
    for (const [t, g] of [g0, g1].entries()) {
      const grads: Record<string, tf.Tensor> = {};
      for (const [name, vals] of Object.entries(g)) grads[name] = tf.tensor(vals, p.get(name)!.shape);
      opt.step(grads, lr);
      tf.dispose(Object.values(grads));
      for (const [name, vals] of Object.entries(g)) {
        m[name] ??= vals.map(() => 0);
        v[name] ??= vals.map(() => 0);
        ref[name] = ref[name].map((x, i) => {
          m[name][i] = b1 * m[name][i] + (1 - b1) * vals[i];
          v[name][i] = b2 * v[name][i] + (1 - b2) * vals[i] ** 2;
          const upd = m[name][i] / (1 - b1 ** (t + 1)) / (Math.sqrt(v[name][i] / (1 - b2 ** (t + 1))) + eps);
          const y = (name === 'w.weight' ? x * (1 - lr * wd) : x) - lr * upd;
          return name === 'logit_scale' ? Math.min(y, Math.log(100)) : y;
        });
      }
    }
    for (const [name, want] of Object.entries(ref)) {
      const got = Array.from(p.get(name)!.dataSync());
      got.forEach((x, i) => expect(Math.abs(x - want[i]), `${name}[${i}]`).to.be.below(1e-6));
    }
    expect(p.get('logit_scale')!.dataSync()[0]).to.be.closeTo(MAX_LOG_SCALE, 1e-6);
    opt.dispose();
    tf.dispose([...p.values()]);
  });

  it('learning rate: linear warm-up to the peak, cosine to 0 at the last step (exact values)', () => {
    expect(learningRate(5, 1e-3, 10, 110)).to.be.closeTo(5e-4, 1e-15);
    expect(learningRate(10, 1e-3, 10, 110)).to.be.closeTo(1e-3, 1e-15);
    expect(learningRate(60, 1e-3, 10, 110)).to.be.closeTo(5e-4, 1e-15);
    expect(learningRate(110, 1e-3, 10, 110)).to.be.closeTo(0, 1e-15);
  });

  it('training data: training combinations only, training templates, ≈ 1/4 one-object scenes (2000 draws, ±4 sd), same seed same batch', () => {
    const r = rng(5);
    let one = 0;
    const allowed = [...TWO_OBJECT_TEMPLATES, ...ONE_OBJECT_TEMPLATES].map(
      (t) => new RegExp('^' + t.replace(/\{[cs]\d?\}/g, '(\\w+)') + '$'),
    );
    for (let i = 0; i < 2000; i++) {
      const scene = drawScene(r);
      if (scene.length === 1) one++;
      for (const o of scene) expect(HELD_OUT.some(([c, s]) => c === o.color && s === o.shape)).to.equal(false);
      if (scene.length === 2) (expect(scene[0].color).not.to.equal(scene[1].color), expect(scene[0].shape).not.to.equal(scene[1].shape));
      const cap = drawCaption(r, scene);
      expect(
        allowed.some((re) => re.test(cap)),
        cap,
      ).to.equal(true);
      for (const o of scene) expect(cap).to.contain(`${o.color} ${o.shape}`);
    }
    const sd = Math.sqrt(2000 * 0.25 * 0.75);
    expect(Math.abs(one - 500)).to.be.below(4 * sd);
    const a = new BatchStream(7).next(3),
      b = new BatchStream(7).next(3);
    expect(a.captions).to.deep.equal(b.captions);
    expect(Buffer.from(a.pixels.buffer).equals(Buffer.from(b.pixels.buffer))).to.equal(true);
  });

  it('float16 safetensors writer: names, shapes, values within float16 rounding (rel ≤ 2⁻¹¹), no temp file left', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toy-train-'));
    try {
      const file = path.join(dir, 'openai.safetensors');
      const map: TensorMap = new Map([
        ['a.weight', { dtype: 'float32', shape: [2, 2], data: Float32Array.from([1.2345, -3.3, 1e-3, 70000 / 3]) }],
        ['logit_scale', { dtype: 'float32', shape: [], data: Float32Array.from([2.8]) }],
      ]);
      writeSafetensorsF16(file, map, { step: '7' });
      expect(fs.readdirSync(dir)).to.deep.equal(['openai.safetensors']);
      const { tensors, metadata } = readSafetensors(file);
      expect(metadata.step).to.equal('7');
      expect([...tensors.keys()]).to.deep.equal(['a.weight', 'logit_scale']);
      expect(tensors.get('a.weight')!.shape).to.deep.equal([2, 2]);
      expect(tensors.get('logit_scale')!.shape).to.deep.equal([]);
      const want = [1.2345, -3.3, 1e-3, 70000 / 3];
      Array.from(tensors.get('a.weight')!.data).forEach((x, i) =>
        expect(Math.abs(x - want[i])).to.be.at.most(Math.abs(want[i]) * 2 ** -11),
      );
      expect(Math.abs(tensors.get('logit_scale')!.data[0] - 2.8)).to.be.at.most(2.8 * 2 ** -11);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
