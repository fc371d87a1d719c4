import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { BLOCK_POINTS, globRegExp, hookPointNames } from '../../src/clip/hooks';
import { disposeOutput } from '../../src/clip/model';
import { InputError, OptionsError } from '../../src/errors';
import { readSafetensors } from '../../src/weights/safetensors';
import { PARITY_BACKENDS } from '../helpers/backends';
import { expectClose } from '../helpers/close';
import { fixturePath } from '../helpers/paths';
import { plainHead, plainImage, plainText } from '../helpers/plain-clip';
import { goldenTensor, loadRef, RefModel, withBackend } from './goldens';

const MICRO = fixturePath('micro');

async function rejects(p: Promise<unknown>, cls: new (...args: never[]) => Error, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e, (e as Error).message).to.be.instanceOf(cls);
    expect((e as Error).message).to.match(re);
    return;
  }
  throw new Error('expected an error');
}

describe('clip/hooks: names and globs', () => {
  it('every block has the 14 points, in the order they are reached; vision adds embed and ln_pre; the head ln_post|ln_final, proj', () => {
    expect(hookPointNames('image', 2)).to.have.length(2 + 2 * 14 + 2);
    expect(hookPointNames('image', 1).slice(-2)).to.deep.equal(['ln_post', 'proj']);
    expect(hookPointNames('text', 1)).to.deep.equal(['embed', ...BLOCK_POINTS.map((p) => `blocks.0.${p}`), 'ln_final', 'proj']);
    expect(globRegExp('blocks.*.attn.probs').test('blocks.12.attn.probs')).to.equal(true);
    expect(globRegExp('blocks.*.attn.*').test('blocks.1.attn.q')).to.equal(true);
    expect(globRegExp('blocks.*').test('blocks.1.attn.q')).to.equal(false); // '*' stops at a dot
    expect(globRegExp('blocks.**').test('blocks.1.attn.q')).to.equal(true);
  });
});

describe('clip/hooks: the micro model against an independent plain-JS forward (checked first against the PyTorch goldens)', function () {
  this.timeout(300000);
  let ref: RefModel;
  const weights = readSafetensors(`${MICRO}/openai.safetensors`).tensors;
  before(() => {
    ref = loadRef(MICRO, 'openai.safetensors');
  });
  after(() => ref.model.dispose());
  /** micro's golden pixels and ids as tensors (the caller disposes), after the model made its lazy causal mask. */
  const goldenInputs = async () => {
    const px = goldenTensor(ref.golden, 'pixel_values') as tf.Tensor4D;
    const ids = goldenTensor(ref.golden, 'input_ids') as tf.Tensor2D;
    disposeOutput(await ref.model.encodeTexts(ids)); // the causal mask is kept with the model
    return { m: ref.model, c: ref.model.config, px, ids };
  };

  it("the plain-JS forward itself meets micro's PyTorch image and text embeds (max abs err ≤ 1e-4·max(1,max|ref|))", () => {
    const c = ref.model.config;
    const px = ref.golden.get('pixel_values')!,
      ids = ref.golden.get('input_ids')!;
    const R = c.vision.resolution,
      L = ids.shape[1];
    const img = [0, 1, 2].flatMap(
      (i) => plainImage(weights, c, (px.data as Float32Array).subarray(i * 3 * R * R, (i + 1) * 3 * R * R)).embed,
    );
    expectClose(Float32Array.from(img), ref.golden.get('image_embeds')!.data, 1e-4, 'plain image_embeds');
    const txt = [0, 1, 2, 3].flatMap((i) => plainText(weights, c, (ids.data as Int32Array).subarray(i * L, (i + 1) * L)));
    expectClose(Float32Array.from(txt), ref.golden.get('text_embeds')!.data, 1e-4, 'plain text_embeds');
  });

  for (const backend of PARITY_BACKENDS) {
    it(`${backend}: attention probs of every vision block and zeroing a text head (attn.z) match the plain-JS forward (≤ 1e-4), in chunks of 2`, async () => {
      await withBackend(backend, async () => {
        const { m, c, px, ids } = await goldenInputs();
        const before = tf.memory().numTensors;
        const img = await m.encodeImages(px, { batchSize: 2, outputAttentions: true });
        const R = c.vision.resolution;
        const plain = [0, 1, 2].map((i) =>
          plainImage(weights, c, (ref.golden.get('pixel_values')!.data as Float32Array).subarray(i * 3 * R * R, (i + 1) * 3 * R * R)),
        );
        expect(img.attentions).to.have.length(c.vision.layers);
        for (let b = 0; b < c.vision.layers; b++) {
          expect(img.attentions![b].shape).to.deep.equal([3, c.vision.heads, 17, 17]);
          expectClose(
            img.attentions![b].dataSync(),
            Float32Array.from(plain.flatMap((p) => p.probs[b].flat(2))),
            1e-4,
            `vision block ${b} probs`,
          );
        }
        disposeOutput(img);
        const head = 1,
          D = c.text.width / c.text.heads;
        const zero = (z: tf.Tensor): tf.Tensor => tf.mul(z, tf.tensor([0, 1].map((h) => (h === head ? 0 : 1))).reshape([1, 2, 1, 1]));
        const seen: number[] = [];
        const txt = await m.encodeTexts(ids, {
          batchSize: 3,
          hooks: {
            'blocks.1.attn.z': (z, info) => {
              seen.push(info.batchStart, info.batch);
              return zero(z);
            },
          },
        });
        expect(seen).to.deep.equal([0, 3, 3, 1]);
        const L = ids.shape[1];
        const expected = [0, 1, 2, 3].flatMap((i) =>
          plainText(weights, c, (ref.golden.get('input_ids')!.data as Int32Array).subarray(i * L, (i + 1) * L), { block: 1, head }),
        );
        expectClose(txt.embeds.dataSync(), Float32Array.from(expected), 1e-4, 'text embeds with head 1 of block 1 zeroed');
        expect(D).to.equal(32);
        disposeOutput(txt);
        expect(tf.memory().numTensors).to.equal(before);
        tf.dispose([px, ids]);
      });
    });
  }

  it('cache: chunking and weight layout invisible (≤ 1e-5, 1e-4); identity hooks change nothing; resid.post(i) = resid.pre(i+1) = hidden state i+1; shapes as documented', async () => {
    const m = ref.model,
      c = m.config.vision;
    const before = tf.memory().numTensors;
    const px = goldenTensor(ref.golden, 'pixel_values') as tf.Tensor4D;
    const names = hookPointNames('image', c.layers);
    const whole = await m.runWithCache('image', px, ['**'], { hiddenStates: [0, -1] });
    const chunked = await m.runWithCache('image', px, ['**'], {
      batchSize: 2,
      hooks: Object.fromEntries(names.map((n) => [n, (x: tf.Tensor) => tf.add(x, 0)])),
    });
    expect(Object.keys(whole.cache)).to.deep.equal(names);
    const W = c.width,
      H = c.heads,
      D = W / H,
      T = 17;
    const shapes: Record<string, number[]> = {
      'attn.q': [3, H, T, D],
      'attn.k': [3, H, T, D],
      'attn.v': [3, H, T, D],
      'attn.z': [3, H, T, D],
      'attn.scores': [3, H, T, T],
      'attn.probs': [3, H, T, T],
      'mlp.hidden': [3, T, c.mlpWidth],
      proj: [3, T, m.config.embedDim],
    };
    for (const n of names) {
      expect(whole.cache[n].shape, n).to.deep.equal(shapes[n.replace(/^blocks\.\d+\./, '')] ?? [3, T, W]);
      expectClose(chunked.cache[n].dataSync(), whole.cache[n].dataSync(), 1e-5, `${n} chunked vs whole`);
    }
    expectClose(chunked.embeds.dataSync(), whole.embeds.dataSync(), 1e-5, 'embeds');
    // The other weight layout shows the same activations (q/k/v, z and mlp.hidden come from column forms there).
    const other = loadRef(MICRO, 'openai.safetensors', { weightLayout: m.weightLayout === 'in-out' ? 'out-in' : 'in-out' });
    const again = await other.model.runWithCache('image', px, ['**'], {
      hooks: { 'blocks.*.mlp.hidden': (x) => tf.mul(x, 1), 'blocks.*.attn.v': (x) => tf.mul(x, 1) },
    });
    for (const n of names) expectClose(again.cache[n].dataSync(), whole.cache[n].dataSync(), 1e-4, `${n} in the other layout`);
    disposeOutput(again);
    other.model.dispose();
    expect(Array.from(whole.cache['blocks.0.resid.post'].dataSync())).to.deep.equal(
      Array.from(whole.cache['blocks.1.resid.pre'].dataSync()),
    );
    expect(Array.from(whole.hiddenStates![0].dataSync())).to.deep.equal(Array.from(whole.cache['ln_pre'].dataSync()));
    expect(Array.from(whole.hiddenStates![1].dataSync())).to.deep.equal(Array.from(whole.cache['blocks.1.resid.post'].dataSync()));
    expect(whole.hidden).to.equal(whole.hiddenStates);
    // probs = softmax(scores) row by row.
    const sm = tf.tidy(() => tf.softmax(whole.cache['blocks.0.attn.scores']));
    expectClose(sm.dataSync(), whole.cache['blocks.0.attn.probs'].dataSync(), 1e-6, 'probs = softmax(scores)');
    sm.dispose();
    disposeOutput(whole);
    disposeOutput(chunked);
    px.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it("head points: proj = micro's PyTorch image_tokens / text_tokens (≤ 1e-4·max(1,|ref|)); ln_post, ln_final, proj = a float64 plain-JS head on the captured last hidden state (≤ 1e-5)", async () => {
    const { m, c, px, ids } = await goldenInputs();
    const before = tf.memory().numTensors;
    for (const [encoder, ln, golden] of [
      ['image', 'ln_post', 'image_tokens'],
      ['text', 'ln_final', 'text_tokens'],
    ] as const) {
      const L = encoder === 'image' ? c.vision.layers : c.text.layers;
      // tokens: false — the head points still see every token; `tokens` stays empty as asked.
      const out = await m.runWithCache(encoder, encoder === 'image' ? px : ids, [ln, 'proj', 'blocks.*.resid.post'], {
        tokens: false,
        batchSize: 2,
      });
      expect(out.tokens.shape[1]).to.equal(0);
      expectClose(out.cache.proj.dataSync(), ref.golden.get(golden)!.data, 1e-4, `${encoder} proj vs PyTorch ${golden}`);
      const last = out.cache[`blocks.${L - 1}.resid.post`] as tf.Tensor3D;
      const rows = last.arraySync();
      const plain = rows.map((r) => plainHead(weights, c, encoder, r));
      expectClose(out.cache[ln].dataSync(), Float32Array.from(plain.flatMap((p) => p.ln.flat())), 1e-5, `${encoder} ${ln}`, false);
      expectClose(out.cache.proj.dataSync(), Float32Array.from(plain.flatMap((p) => p.proj.flat())), 1e-5, `${encoder} proj`, false);
      disposeOutput(out);
    }
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([px, ids]);
  });

  it('head edits change the embeds as predicted: ln_post + δ on every token → image embeds + δ·proj (plain JS, ≤ 1e-4); proj × 2 → text embeds × 2 (≤ 1e-5)', async () => {
    const { m, c, px, ids } = await goldenInputs();
    const before = tf.memory().numTensors;
    const W = c.vision.width,
      E = c.embedDim;
    const delta = Array.from({ length: W }, (_, i) => 0.3 * Math.sin(i * 0.7));
    const plainImg = await m.encodeImages(px);
    const edited = await m.encodeImages(px, { batchSize: 2, hooks: { ln_post: (x) => tf.add(x, tf.tensor1d(delta)) } });
    const P = weights.get('visual.proj')!.data as Float32Array;
    const shift = Array.from({ length: E }, (_, e) => delta.reduce((s, v, i) => s + v * P[i * E + e], 0));
    const base = plainImg.embeds.dataSync();
    const expected = Float32Array.from(base, (v, k) => v + shift[k % E]);
    expectClose(edited.embeds.dataSync(), expected, 1e-4, 'image embeds after ln_post + δ');
    expect(Math.max(...shift.map(Math.abs))).to.be.above(0.05); // the edit is visible
    const txt = await m.encodeTexts(ids);
    const doubled = await m.encodeTexts(ids, { tokens: false, hooks: { proj: (x) => tf.mul(x, 2) } });
    expectClose(
      doubled.embeds.dataSync(),
      Float32Array.from(txt.embeds.dataSync(), (v) => 2 * v),
      1e-5,
      'text embeds after proj × 2',
    );
    for (const o of [plainImg, edited, txt, doubled]) disposeOutput(o);
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([px, ids]);
  });

  it('an edit is seen downstream: attn.out replaced by 0 in every block gives resid.mid = resid.pre (text, causal)', async () => {
    const m = ref.model;
    const ids = goldenTensor(ref.golden, 'input_ids') as tf.Tensor2D;
    disposeOutput(await m.encodeTexts(ids)); // the model's lazy causal mask, kept with the model
    const before = tf.memory().numTensors;
    const out = await m.encodeTexts(ids, { hooks: { 'blocks.*.attn.out': (x) => tf.zerosLike(x) }, cache: ['blocks.*.resid.*'] });
    for (const b of [0, 1]) {
      expect(Array.from(out.cache![`blocks.${b}.resid.mid`].dataSync())).to.deep.equal(
        Array.from(out.cache![`blocks.${b}.resid.pre`].dataSync()),
      );
    }
    disposeOutput(out);
    expect(tf.memory().numTensors).to.equal(before);
    ids.dispose();
  });

  it('bad hooks and captures are typed errors naming the option, and leak nothing', async () => {
    const m = ref.model;
    const before = tf.memory().numTensors;
    const px = goldenTensor(ref.golden, 'pixel_values') as tf.Tensor4D;
    await rejects(m.encodeImages(px, { hooks: { 'blocks.9.ln1': () => undefined } }), OptionsError, /matches no hook point/);
    await rejects(m.encodeImages(px, { cache: ['attn.probs'] }), OptionsError, /matches no hook point/);
    await rejects(m.encodeImages(px, { cache: 'ln_pre' as never }), OptionsError, /cache/);
    await rejects(m.encodeImages(px, { hooks: { 'blocks.0.ln1': 3 as never } }), OptionsError, /must be a function/);
    await rejects(m.encodeImages(px, { hiddenStates: [5] }), OptionsError, /hidden-state index/);
    await rejects(m.encodeImages(px, { outputAttentions: 1 as never }), OptionsError, /outputAttentions/);
    await rejects(
      m.encodeImages(px, { batchSize: 2, cache: ['**'], hooks: { 'blocks.1.attn.probs': () => tf.zeros([1, 2]) } }),
      InputError,
      /hooks\['blocks\.1\.attn\.probs'\] at blocks\.1\.attn\.probs \(image\).*shape \[1,2\]/,
    );
    await rejects(m.runWithCache('image', px, []), OptionsError, /names/);
    px.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('logitsPerText is logitsPerImage transposed; hiddenStates as indices come in the order asked (−1 = last)', async () => {
    const m = ref.model;
    const before = tf.memory().numTensors;
    const px = goldenTensor(ref.golden, 'pixel_values') as tf.Tensor4D;
    const ids = goldenTensor(ref.golden, 'input_ids') as tf.Tensor2D;
    const { logitsPerImage, logitsPerText } = await m.logits(px, ids);
    expect(logitsPerText.arraySync()).to.deep.equal(tf.tidy(() => tf.transpose(logitsPerImage).arraySync()));
    const all = await m.encodeTexts(ids, { hiddenStates: true });
    const some = await m.encodeTexts(ids, { hiddenStates: [-1, 0] });
    expect(some.hiddenStates).to.have.length(2);
    expect(Array.from(some.hiddenStates![0].dataSync())).to.deep.equal(Array.from(all.hiddenStates![2].dataSync()));
    expect(Array.from(some.hiddenStates![1].dataSync())).to.deep.equal(Array.from(all.hiddenStates![0].dataSync()));
    tf.dispose([logitsPerImage, logitsPerText, px, ids]);
    disposeOutput(all);
    disposeOutput(some);
    expect(tf.memory().numTensors).to.equal(before);
  });
});
