import { expect } from 'chai';
import { PARITY_BACKENDS } from '../helpers/backends';
import * as tf from '@tensorflow/tfjs';
import { disposeOutput } from '../../src/clip/model';
import { InputError, OptionsError, WeightsFormatError } from '../../src/errors';
import { createClip } from '../../src/clip/model';
import { fixturePath } from '../helpers/paths';
import { defaultWeightLayout, WEIGHT_LAYOUTS } from '../../src/tensor/linear';
import { expectGolden, goldenTensor, loadRef, RefModel } from './goldens';
import { parseConfigJson } from '../../src/weights/config';
import { canonicalize } from '../../src/weights/names';
import { readSafetensors } from '../../src/weights/safetensors';
import type { RawTensor, TensorMap } from '../../src/weights/types';

const MICRO = fixturePath('micro');

function expectTyped(
  fn: () => Promise<unknown>,
  cls: new (...args: never[]) => Error,
  source: RegExp | string,
  problem?: RegExp,
): Promise<void> {
  return fn().then(
    () => {
      throw new Error('expected an error');
    },
    (e: Error & { source?: string }) => {
      expect(e, e.message).to.be.instanceOf(cls);
      if (typeof source === 'string') expect(e.source).to.equal(source);
      else expect(e.source).to.match(source);
      if (problem) expect(e.message).to.match(problem);
    },
  );
}

for (const backend of PARITY_BACKENDS)
  for (const weightLayout of WEIGHT_LAYOUTS) {
    describe(`clip/model on micro goldens (${backend}, ${weightLayout} weights, max abs err ≤ 1e-4·max(1,max|ref|))`, () => {
      let ref: RefModel;
      let px: tf.Tensor4D, ids: tf.Tensor2D;
      let prev: string;
      before(async () => {
        await tf.ready(); // getBackend() is null until some backend is initialised
        prev = tf.getBackend();
        const { initBackend } = await import('../../src/backend');
        await initBackend({ backend });
        ref = loadRef(MICRO, 'openai.safetensors', { weightLayout });
        px = goldenTensor(ref.golden, 'pixel_values') as tf.Tensor4D;
        ids = goldenTensor(ref.golden, 'input_ids') as tf.Tensor2D;
      });
      after(async () => {
        ref.model.dispose();
        tf.dispose([px, ids]);
        await tf.setBackend(prev);
      });

      it('image_embeds, image_tokens, text_embeds, text_tokens, logits_per_image', async () => {
        const im = await ref.model.encodeImages(px);
        expectGolden(im.embeds, ref.golden, 'image_embeds');
        expectGolden(im.tokens, ref.golden, 'image_tokens');
        const tx = await ref.model.encodeTexts(ids);
        expectGolden(tx.embeds, ref.golden, 'text_embeds');
        expectGolden(tx.tokens, ref.golden, 'text_tokens');
        const { logitsPerImage, logitsPerText } = await ref.model.logits(px, ids);
        expectGolden(logitsPerImage, ref.golden, 'logits_per_image');
        // logits_per_text is the reference's logits_per_image transposed (reference README); micro stores only the latter.
        const t = tf.tidy(() => tf.transpose(logitsPerText));
        expectGolden(t, ref.golden, 'logits_per_image');
        t.dispose();
        disposeOutput(im);
        disposeOutput(tx);
        tf.dispose([logitsPerImage, logitsPerText]);
      });

      it('chunked (batchSize 1 and 2) and number[][] input give the same goldens', async () => {
        const im = await ref.model.encodeImages(px, { batchSize: 2, hiddenStates: true });
        expectGolden(im.tokens, ref.golden, 'image_tokens');
        expect(im.hidden).to.have.length(3);
        const rows = (await ids.array()) as number[][];
        const tx = await ref.model.encodeTexts(rows, { batchSize: 1 });
        expectGolden(tx.embeds, ref.golden, 'text_embeds');
        expectGolden(tx.tokens, ref.golden, 'text_tokens');
        disposeOutput(im);
        disposeOutput(tx);
      });

      it('tokens: false gives the same embeds goldens (pooled rows only) and an empty [n,0,E] tokens tensor', async () => {
        const im = await ref.model.encodeImages(px, { tokens: false, batchSize: 2 });
        expectGolden(im.embeds, ref.golden, 'image_embeds');
        expect(im.tokens.shape).to.deep.equal([px.shape[0], 0, ref.model.config.embedDim]);
        const tx = await ref.model.encodeTexts(ids, { tokens: false });
        expectGolden(tx.embeds, ref.golden, 'text_embeds');
        expect(tx.tokens.shape).to.deep.equal([ids.shape[0], 0, ref.model.config.embedDim]);
        disposeOutput(im);
        disposeOutput(tx);
      });

      it('numTensors is unchanged after encode calls with and without hooks (outputs disposed)', async () => {
        const m = ref.model;
        await m.encodeImages(px).then(disposeOutput); // warm up lazy tensors (masks, q/k/v views)
        await m.encodeTexts(ids).then(disposeOutput);
        m.text.blocks[0].attn.wq; // eslint-disable-line @typescript-eslint/no-unused-expressions
        const before = tf.memory().numTensors;
        const hooks = {
          hidden: { 1: (h: tf.Tensor3D) => tf.mul(h, 1.5) as tf.Tensor3D, 2: () => undefined },
          attentionMask: {
            0: () => null,
            1: () =>
              tf.zeros([1, 1]).pad([
                [0, 15],
                [0, 15],
              ]) as tf.Tensor2D,
          },
        };
        for (const opts of [{}, { hiddenStates: true }, { batchSize: 2, hooks: { hidden: hooks.hidden } }]) {
          await m.encodeImages(px, opts).then(disposeOutput);
          expect(tf.memory().numTensors, `images ${JSON.stringify(opts)}`).to.equal(before);
        }
        for (const opts of [{}, { hiddenStates: true }, { batchSize: 3, hooks }]) {
          await m.encodeTexts(ids, opts).then(disposeOutput);
          expect(tf.memory().numTensors, `texts ${JSON.stringify(opts)}`).to.equal(before);
        }
        await m.logits(px, ids).then((o) => tf.dispose([o.logitsPerImage, o.logitsPerText]));
        await expectTyped(
          () => m.encodeTexts(ids, { hooks: { hidden: { 1: () => tf.zeros([1, 2, 3]) as tf.Tensor3D } } }),
          InputError,
          /hooks\.hidden\[1\]/,
        );
        expect(tf.memory().numTensors, 'after logits and a failing hook').to.equal(before);
      });

      it('hooks: read every boundary with its info; a replacement at the last boundary is what the head sees', async () => {
        const m = ref.model;
        const seen: string[] = [];
        const read = (h: tf.Tensor3D, info: { encoder: string; layer: number; batchStart: number }): void => {
          seen.push(`${info.encoder}:${info.layer}:${info.batchStart}:${h.shape}`);
        };
        const all = { 0: read, 1: read, 2: read };
        const out = await m.encodeImages(px, { batchSize: 2, hiddenStates: true, hooks: { hidden: all } });
        expect(seen).to.deep.equal([
          'image:0:0:2,17,128',
          'image:1:0:2,17,128',
          'image:2:0:2,17,128',
          'image:0:2:1,17,128',
          'image:1:2:1,17,128',
          'image:2:2:1,17,128',
        ]);
        const zeroed = await m.encodeImages(px, { hooks: { hidden: { 2: (h) => tf.zerosLike(h) } } });
        const head = tf.tidy(() => m.vision.head(tf.zeros([3, 17, 128])));
        expect(tf.tidy(() => tf.max(tf.abs(tf.sub(zeroed.tokens, head))).dataSync()[0])).to.equal(0);
        // runFrom(hidden[1], 1) then head reproduces the tokens: the path for editing a state and continuing.
        const tokens = tf.tidy(() => m.vision.head(m.vision.runFrom(out.hidden![1], 1)));
        expectGolden(tokens, ref.golden, 'image_tokens');
        const tx = await m.encodeTexts(ids, { hiddenStates: true });
        const ttok = tf.tidy(() => m.text.head(m.text.runFrom(tx.hidden![1], 1)));
        expectGolden(ttok, ref.golden, 'text_tokens');
        tf.dispose([head, tokens, ttok]);
        disposeOutput(out);
        disposeOutput(zeroed);
        disposeOutput(tx);
      });

      it('attention-mask hooks: the default (causal) mask is offered and can be replaced', async () => {
        const m = ref.model;
        const infos: string[] = [];
        const same = await m.encodeTexts(ids, {
          hooks: {
            attentionMask: {
              0: (i) => {
                infos.push(`${i.encoder}:${i.block}:${i.batch}:${i.tokens}:${i.defaultMask?.shape}`);
                return i.defaultMask;
              },
            },
          },
        });
        expect(infos).to.deep.equal(['text:0:4:16:16,16']);
        expectGolden(same.embeds, ref.golden, 'text_embeds');
        const open = await m.encodeTexts(ids, { hooks: { attentionMask: { 0: () => null, 1: () => null } } });
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(open.embeds, same.embeds))).dataSync()[0]);
        expect(diff, 'removing the causal mask must change the output').to.be.greaterThan(1e-2);
        let visionDefault: unknown = 'unset';
        const img = await m.encodeImages(px, {
          hooks: {
            attentionMask: {
              1: (i) => {
                visionDefault = i.defaultMask;
                return tf.zeros([i.batch, i.tokens, i.tokens]) as tf.Tensor3D;
              },
            },
          },
        });
        expect(visionDefault).to.equal(null);
        expectGolden(img.embeds, ref.golden, 'image_embeds');
        disposeOutput(same);
        disposeOutput(open);
        disposeOutput(img);
      });
    });
  }

describe('clip/model API surface and bad input', () => {
  let ref: RefModel;
  before(() => {
    ref = loadRef(MICRO, 'hf.safetensors');
  });
  after(() => ref.model.dispose());

  it('exposes config, logitScale, blocks with ln1 and [in,out] attention params, heads, headDim', () => {
    const m = ref.model;
    expect(m.logitScale).to.be.closeTo(15.7882, 1e-3);
    expect(m.config.text.heads).to.equal(2);
    const b = m.text.blocks[1];
    expect(b.heads).to.equal(2);
    expect(b.headDim).to.equal(32);
    for (const w of [b.attn.wq, b.attn.wk, b.attn.wv, b.attn.wo]) expect(w.shape).to.deep.equal([64, 64]);
    for (const v of [b.attn.bq, b.attn.bk, b.attn.bv, b.attn.bo]) expect(v.shape).to.deep.equal([64]);
    expect(m.vision.blocks).to.have.length(2);
    expect(m.vision.blocks[0].attn.wq.shape).to.deep.equal([128, 128]);
    const y = tf.tidy(() => b.ln1.apply(tf.ones([1, 2, 64])));
    expect(y.shape).to.deep.equal([1, 2, 64]);
    y.dispose();
  });

  it('wrong pixels → InputError naming pixels (rank, size, dtype, not a tensor)', async () => {
    const m = ref.model;
    const cases: [() => unknown, RegExp][] = [
      [() => tf.zeros([3, 32, 32]), /rank 3/],
      [() => tf.zeros([1, 3, 64, 64]), /expected \[n,3,32,32\]/],
      [() => tf.zeros([1, 32, 32, 3]), /channels first/],
      [() => tf.zeros([1, 3, 32, 32], 'int32'), /dtype int32/],
      [() => [[1, 2]], /expected a tf\.Tensor4D/],
    ];
    for (const [make, re] of cases) {
      const x = make();
      await expectTyped(() => m.encodeImages(x as tf.Tensor4D), InputError, 'pixels', re);
      if (x instanceof tf.Tensor) x.dispose();
    }
  });

  it('wrong ids → InputError naming ids (dtype, rank, vocabulary, length, ragged, non-integer)', async () => {
    const m = ref.model;
    const cases: [() => unknown, RegExp, string?][] = [
      [() => tf.zeros([2, 16]), /dtype float32, expected int32/],
      [() => tf.zeros([16], 'int32'), /rank 1/],
      [() => tf.tensor2d([[998, 1000]], [1, 2], 'int32'), /id 1000 .* outside the vocabulary \[0, 1000\)/],
      [() => [[998, -1]], /id -1/],
      [() => [Array(17).fill(1)], /length 17 per row, expected 1\.\.16/],
      [() => [[1, 2], [3]], /row 0 has 2/, 'ids[1]'],
      [() => [[1, 2.5]], /not an integer/, 'ids[0][1]'],
      [() => 'a cat', /expected a tf\.Tensor2D/],
    ];
    for (const [make, re, src] of cases) {
      const x = make();
      await expectTyped(() => m.encodeTexts(x as tf.Tensor2D), InputError, src ?? 'ids', re);
      if (x instanceof tf.Tensor) x.dispose();
    }
  });

  it('bad options → OptionsError; use after dispose → InputError', async () => {
    const m = ref.model;
    const px = tf.zeros([1, 3, 32, 32]) as tf.Tensor4D;
    await expectTyped(() => m.encodeImages(px, { batchSize: 0 }), OptionsError, 'opts.batchSize');
    await expectTyped(() => m.encodeImages(px, { bogus: 1 } as never), OptionsError, 'opts.bogus');
    await expectTyped(() => m.encodeImages(px, { tokens: 'no' } as never), OptionsError, 'opts.tokens');
    await expectTyped(() => m.encodeImages(px, { hooks: { hidden: { 3: () => undefined } } }), OptionsError, 'opts.hooks.hidden[3]');
    await expectTyped(
      () => m.encodeImages(px, { hooks: { attentionMask: { 2: () => null } } }),
      OptionsError,
      'opts.hooks.attentionMask[2]',
    );
    await expectTyped(
      () => m.encodeImages(px, { hooks: { attentionMask: { 0: () => tf.zeros([3, 3]) as tf.Tensor2D } } }),
      InputError,
      /hooks\.attentionMask\[0\]/,
      /expected \[17,17\]/,
    );
    const other = loadRef(MICRO, 'openai.safetensors').model;
    other.dispose();
    await expectTyped(() => other.encodeImages(px), InputError, 'model', /after dispose/);
    px.dispose();
  });

  it('empty batches give empty outputs', async () => {
    const out = await ref.model.encodeTexts([] as number[][]);
    expect(out.embeds.shape).to.deep.equal([0, 32]);
    disposeOutput(out);
  });

  it('weightLayout: out-in on wasm and in-out elsewhere by default; projections and [in,out] views agree in both layouts; bad value → OptionsError', () => {
    expect(defaultWeightLayout('wasm')).to.equal('out-in');
    expect(defaultWeightLayout('cpu')).to.equal('in-out');
    expect(defaultWeightLayout('tensorflow')).to.equal('in-out');
    expect(ref.model.weightLayout).to.equal(defaultWeightLayout());
    const models = WEIGHT_LAYOUTS.map((weightLayout) => createClip(ref.model.config, new Map(loadRefWeights()), { weightLayout }));
    try {
      const [a, b] = models.map((m) => m.text.blocks[0]);
      expect(a.attn.qkv.w.shape).to.deep.equal([64, 192]); // in-out
      expect(b.attn.qkv.w.shape).to.deep.equal([192, 64]); // out-in, PyTorch's
      const x = tf.randomNormal([3, 64], 0, 1, 'float32', 5) as tf.Tensor2D;
      for (const blk of [a, b]) {
        // q·x through the layer equals x @ wq + bq through the [in,out] view.
        const d = tf.tidy(() => tf.max(tf.abs(tf.sub(blk.attn.q.apply(x), tf.add(tf.matMul(x, blk.attn.wq), blk.attn.bq)))).dataSync()[0]);
        expect(d).to.be.lessThan(1e-5);
      }
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a.attn.wv, b.attn.wv))).dataSync()[0]);
      expect(diff).to.equal(0);
      x.dispose();
    } finally {
      for (const m of models) m.dispose();
    }
    expect(() => createClip(ref.model.config, new Map(loadRefWeights()), { weightLayout: 'rows' as never })).to.throw(
      OptionsError,
      /weightLayout/,
    );
  });

  it('createClip rejects weights that do not match the config', () => {
    const w = new Map(loadRefWeights());
    w.delete('ln_final.bias');
    expect(() => createClip(ref.model.config, w)).to.throw(WeightsFormatError, /missing 'ln_final\.bias'/);
  });

  function loadRefWeights() {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { canonicalize } = require('../../src/weights/names');
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { readSafetensors } = require('../../src/weights/safetensors');
    return canonicalize(readSafetensors(fixturePath('micro', 'openai.safetensors')).tensors, { source: 'o', heads: { text: 2 } })
      .weights as Map<string, never>;
  }
});

describe('clip/model with an MLP width other than 4 × width (open_clip mlp_ratio, HF intermediate_size)', () => {
  // micro's MLPs widened from 4W to 5W: the extra hidden units get random c_fc rows but zero c_proj columns, so the
  // widened model must still give micro's goldens — a test that fails if the width is ignored or misread.
  function widened(): { weights: Map<string, RawTensor>; golden: TensorMap } {
    const { tensors } = readSafetensors(fixturePath('micro', 'openai.safetensors'));
    const out = new Map<string, RawTensor>();
    let seed = 7;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed / 2 ** 32 - 0.5) * 0.2;
    };
    for (const [name, t] of tensors) {
      const m = /mlp\.(c_fc|c_proj)\.(weight|bias)$/.exec(name);
      if (!m || (m[1] === 'c_proj' && m[2] === 'bias')) {
        out.set(name, t);
        continue;
      }
      const data = t.data as Float32Array;
      if (m[1] === 'c_fc') {
        // [4W, W] → [5W, W], bias [4W] → [5W]
        const rows = t.shape[0],
          cols = t.shape.length === 2 ? t.shape[1] : 1,
          extra = rows / 4;
        const d = new Float32Array((rows + extra) * cols);
        d.set(data);
        for (let i = rows * cols; i < d.length; i++) d[i] = rnd();
        out.set(name, { ...t, shape: t.shape.length === 2 ? [rows + extra, cols] : [rows + extra], data: d });
      } else {
        // c_proj [W, 4W] → [W, 5W], zero columns
        const [W, H] = t.shape,
          H2 = H + H / 4;
        const d = new Float32Array(W * H2);
        for (let r = 0; r < W; r++) d.set(data.subarray(r * H, (r + 1) * H), r * H2);
        out.set(name, { ...t, shape: [W, H2], data: d });
      }
    }
    return { weights: out, golden: readSafetensors(fixturePath('micro', 'golden.safetensors')).tensors };
  }

  it("shapes imply the widths (vision 640, text 320); the widened model gives micro's goldens (max abs err ≤ 1e-4·max(1,max|ref|))", async () => {
    const { weights, golden } = widened();
    const { config, weights: canon } = canonicalize(weights, { source: 'widened', heads: { text: 2 } });
    expect(config.vision.mlpWidth).to.equal(640);
    expect(config.text.mlpWidth).to.equal(320);
    const before = tf.memory().numTensors;
    const m = createClip(config, canon);
    const px = goldenTensor(golden, 'pixel_values') as tf.Tensor4D;
    const ids = goldenTensor(golden, 'input_ids') as tf.Tensor2D;
    const im = await m.encodeImages(px);
    const tx = await m.encodeTexts(ids);
    expectGolden(im.embeds, golden, 'image_embeds');
    expectGolden(tx.embeds, golden, 'text_embeds');
    disposeOutput(im);
    disposeOutput(tx);
    tf.dispose([px, ids]);
    m.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('configs state the width (HF intermediate_size, open_clip mlp_ratio); a config that contradicts the shapes is refused', () => {
    const hf = parseConfigJson(
      { text_config: { hidden_size: 64, intermediate_size: 320 }, vision_config: { hidden_size: 128, intermediate_size: 512 } },
      'c',
    );
    expect(hf.text?.mlpWidth).to.equal(320);
    expect(hf.vision?.mlpWidth).to.equal(512);
    const oc = parseConfigJson({ vision_cfg: { width: 1664, mlp_ratio: 4.9231 }, text_cfg: { width: 1280 } }, 'c');
    expect(oc.vision?.mlpWidth).to.equal(8192); // open_clip ViT-bigG-14: int(1664 · 4.9231)
    expect(oc.text?.mlpWidth).to.equal(undefined); // no ratio stated: the shapes decide
    const { weights } = widened();
    const hfConfig = {
      text_config: { hidden_size: 64, intermediate_size: 256, num_attention_heads: 2 },
      vision_config: { hidden_size: 128, intermediate_size: 512 },
    };
    expect(() =>
      canonicalize(weights, {
        source: 'widened',
        hfConfig: { ...hfConfig, text_config: { ...hfConfig.text_config, intermediate_size: 300 } },
      }),
    ).to.throw(WeightsFormatError, /text\.mlpWidth: config says 300, tensors imply 320/);
    expect(() => parseConfigJson({ vision_cfg: { width: 64, mlp_ratio: -1 } }, 'c')).to.throw(WeightsFormatError, /mlp_ratio/);
  });
});
