import { expect } from 'chai';
import { QUICK_CONFIG } from '../../src/bench';
import { randomClipWeights, weightsBytes } from '../../src/bench/random-weights';
import { canonicalShapes } from '../../src/weights/names';

describe('bench/random-weights', () => {
  const c = { ...QUICK_CONFIG, text: { ...QUICK_CONFIG.text, vocabSize: 500 } };
  it('has every canonical tensor with its shape, finite float32 values', () => {
    const w = randomClipWeights(c);
    const shapes = canonicalShapes(c);
    expect([...w.keys()]).to.deep.equal([...shapes.keys()]);
    for (const [name, s] of shapes) {
      const t = w.get(name)!;
      expect(t.shape, name).to.deep.equal(s);
      expect(t.dtype).to.equal('float32');
      expect(t.data.every(Number.isFinite), name).to.equal(true);
    }
    expect(weightsBytes(w)).to.equal([...w.values()].reduce((a, t) => a + 4 * t.data.length, 0));
  });
  it('is deterministic per seed, different across seeds; LayerNorm gains near 1, logit scale ln(1/0.07)', () => {
    const a = randomClipWeights(c, { seed: 4 }),
      b = randomClipWeights(c, { seed: 4 }),
      d = randomClipWeights(c, { seed: 5 });
    const n = 'visual.transformer.resblocks.0.attn.in_proj_weight';
    expect(Array.from(a.get(n)!.data)).to.deep.equal(Array.from(b.get(n)!.data));
    expect(Array.from(a.get(n)!.data)).to.not.deep.equal(Array.from(d.get(n)!.data));
    const g = a.get('visual.ln_pre.weight')!.data;
    expect(Math.min(...g)).to.be.greaterThan(0.8);
    expect(a.get('logit_scale')!.data[0]).to.be.closeTo(Math.log(1 / 0.07), 1e-6);
  });
  it('shared: one SharedArrayBuffer behind every tensor', () => {
    const w = randomClipWeights(c, { shared: true });
    const bufs = new Set([...w.values()].map((t) => t.data.buffer));
    expect(bufs.size).to.equal(1);
    expect([...bufs][0]).to.be.instanceOf(SharedArrayBuffer);
  });
});
