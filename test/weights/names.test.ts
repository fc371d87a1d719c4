import { expect } from 'chai';
import * as fs from 'fs';
import { WeightsFormatError } from '../../src/errors';
import { parseConfigJson } from '../../src/weights/config';
import { canonicalize, canonicalShapes, detectLayout } from '../../src/weights/names';
import { readSafetensors } from '../../src/weights/safetensors';
import { RawTensor, TensorMap } from '../../src/weights/types';
import { fixturePath } from '../helpers/paths';

const micro = (f: string): TensorMap => readSafetensors(fixturePath('micro', f)).tensors;
const json = (f: string): unknown => JSON.parse(fs.readFileSync(fixturePath('micro', f), 'utf8'));

function failWith(fn: () => unknown, ...patterns: RegExp[]): WeightsFormatError {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, 'expected a WeightsFormatError').to.be.instanceOf(WeightsFormatError);
  for (const p of patterns) expect((err as Error).message).to.match(p);
  return err as WeightsFormatError;
}

describe('weights/names canonicalize', () => {
  const openai = micro('openai.safetensors');
  const hf = micro('hf.safetensors');
  const refConfig = json('config.json') as Record<string, number | string>;

  it('detects the layout from the names', () => {
    expect(detectLayout(openai.keys())).to.equal('openai');
    expect(detectLayout(hf.keys())).to.equal('hf');
  });

  it('OpenAI-named and HF-named micro files give identical canonical tensors and configs', () => {
    const a = canonicalize(openai, { source: 'openai.safetensors', hfConfig: json('hf_config.json') });
    const b = canonicalize(hf, { source: 'hf.safetensors', hfConfig: json('hf_config.json') });
    expect(a.layout).to.equal('openai');
    expect(b.layout).to.equal('hf');
    expect(b.config).to.deep.equal(a.config);
    expect([...b.weights.keys()]).to.deep.equal([...a.weights.keys()]);
    expect(a.weights.size).to.equal(62);
    for (const [name, t] of a.weights) {
      const u = b.weights.get(name)!;
      expect(u.shape, name).to.deep.equal(t.shape);
      expect(Buffer.compare(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength),
        Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), name).to.equal(0);
    }
  });

  it('config from the HF config matches the reference config.json (text heads 2, from the file)', () => {
    const { config } = canonicalize(hf, { source: 'hf', hfConfig: json('hf_config.json') });
    expect(config.embedDim).to.equal(refConfig.embed_dim);
    expect(config.vision).to.deep.include({
      resolution: refConfig.image_resolution, layers: refConfig.vision_layers, width: refConfig.vision_width,
      heads: refConfig.vision_heads, patchSize: refConfig.vision_patch_size, act: 'quick_gelu', layerNormEps: 1e-5,
    });
    expect(config.text).to.deep.include({
      contextLength: refConfig.context_length, vocabSize: refConfig.vocab_size, width: refConfig.transformer_width,
      heads: refConfig.transformer_heads, layers: refConfig.transformer_layers, act: 'quick_gelu', layerNormEps: 1e-5,
    });
    // The reference's openai-style config.json gives the same geometry.
    expect(canonicalize(openai, { source: 'o', hfConfig: refConfig }).config).to.deep.equal(config);
  });

  it('without a config, heads are inferred as build_model does (width / 64); overrides win', () => {
    const { config } = canonicalize(openai, { source: 'o' });
    expect(config.vision.heads).to.equal(2); // 128 / 64
    expect(config.text.heads).to.equal(1); // 64 / 64 — the micro model really has 2: hence the config file
    const o = canonicalize(openai, { source: 'o', heads: { text: 2 }, act: 'gelu' }).config;
    expect(o.text.heads).to.equal(2);
    expect([o.vision.act, o.text.act]).to.deep.equal(['gelu', 'gelu']);
  });

  it('position_ids of HF files are ignored; module. prefixes of open_clip files are stripped', () => {
    const prefixed: TensorMap = new Map([...openai].map(([k, v]) => [`module.${k}`, v]));
    expect(canonicalize(prefixed, { source: 'p' }).weights.size).to.equal(62);
  });

  it('missing and unexpected tensors are listed by their names in the file', () => {
    const m = new Map(openai);
    m.delete('visual.transformer.resblocks.1.mlp.c_fc.bias');
    m.delete('ln_final.bias');
    m.set('visual.extra_head.weight', openai.get('ln_final.weight')!);
    const e = failWith(() => canonicalize(m, { source: 'broken.safetensors' }),
      /^broken\.safetensors: /, /missing tensors: .*visual\.transformer\.resblocks\.1\.mlp\.c_fc\.bias/, /ln_final\.bias/,
      /unexpected tensors: visual\.extra_head\.weight/);
    expect(e.source).to.equal('broken.safetensors');

    const h = new Map(hf);
    h.delete('text_model.encoder.layers.0.self_attn.k_proj.weight');
    h.delete('vision_model.pre_layrnorm.bias');
    failWith(() => canonicalize(h, { source: 'hf.safetensors' }),
      /missing tensors: .*text_model\.encoder\.layers\.0\.self_attn\.k_proj\.weight/, /vision_model\.pre_layrnorm\.bias/);
  });

  it('a key tensor missing is reported before inference (not a crash)', () => {
    const m = new Map(openai);
    m.delete('visual.conv1.weight');
    failWith(() => canonicalize(m, { source: 'f' }), /missing tensors: visual\.conv1\.weight/);
    failWith(() => canonicalize(new Map(), { source: 'empty' }), /missing tensors/);
  });

  it('shapes inconsistent with each other are reported with the expected shape', () => {
    const m = new Map(openai);
    const w = openai.get('transformer.resblocks.0.mlp.c_fc.weight')!;
    m.set('transformer.resblocks.0.mlp.c_fc.weight', { ...w, shape: [128, 128] });
    failWith(() => canonicalize(m, { source: 'f' }), /inconsistent shapes: 'transformer\.resblocks\.0\.mlp\.c_fc\.weight' has shape \[128,128\], expected \[256,64\]/);
    const h = new Map(hf);
    const q = hf.get('vision_model.encoder.layers.1.self_attn.q_proj.weight')!;
    h.set('vision_model.encoder.layers.1.self_attn.q_proj.weight', { ...q, shape: [64, 256] });
    failWith(() => canonicalize(h, { source: 'f' }), /q_proj\.weight', '.*k_proj\.weight', '.*v_proj\.weight' has shape/);
  });

  it('integer tensors where floats belong, and configs that contradict the shapes, are errors', () => {
    const m = new Map(openai);
    const ln = openai.get('ln_final.bias')!;
    m.set('ln_final.bias', { dtype: 'int32', shape: ln.shape, data: new Int32Array(ln.shape[0]) } as RawTensor);
    failWith(() => canonicalize(m, { source: 'f' }), /ln_final\.bias' is an integer tensor/);
    const cfg = json('hf_config.json') as { vision_config: Record<string, unknown> };
    cfg.vision_config.hidden_size = 256;
    failWith(() => canonicalize(openai, { source: 'f', hfConfig: cfg }), /vision\.width: config says 256, tensors imply 128/);
    failWith(() => canonicalize(openai, { source: 'f', heads: { text: 3 } }), /text\.width 64 is not divisible by text\.heads 3/);
  });

  it('parses open_clip configs (GELU unless quick_gelu) and rejects unknown ones', () => {
    const oc = parseConfigJson({ embed_dim: 512, vision_cfg: { image_size: 224, layers: 12, width: 768, patch_size: 32 },
      text_cfg: { context_length: 77, vocab_size: 49408, width: 512, heads: 8, layers: 12 } }, 'ViT-B-32.json');
    expect(oc.embedDim).to.equal(512);
    expect(oc.vision).to.deep.include({ heads: 12, act: 'gelu' });
    expect(oc.text).to.deep.include({ heads: 8, act: 'gelu' });
    expect(() => parseConfigJson({ foo: 1 }, 'x.json')).to.throw(WeightsFormatError, /^x\.json: /);
    expect(() => parseConfigJson({ model_type: 'clip', text_config: { hidden_act: 'relu' } }, 'x.json')).to.throw(WeightsFormatError, /hidden_act/);
  });

  it('canonicalShapes lists exactly the tensors of the reference file', () => {
    const { config } = canonicalize(openai, { source: 'o', hfConfig: json('hf_config.json') });
    expect([...canonicalShapes(config).keys()].sort()).to.deep.equal([...openai.keys()].sort());
  });
});
