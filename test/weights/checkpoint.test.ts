import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { WeightsFormatError } from '../../src/errors';
import { openCheckpoint, readCheckpoint } from '../../src/weights/checkpoint';
import { readSafetensors } from '../../src/weights/safetensors';
import { fixturePath } from '../helpers/paths';
import { buildSafetensors } from './builders';

describe('weights/checkpoint (files and folders of every layout)', () => {
  let dir: string;
  const hf = () => readSafetensors(fixturePath('micro', 'hf.safetensors')).tensors;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-ckpt-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A Hugging Face folder with the micro HF weights split over two shards and an index. */
  function shardedFolder(name: string, index?: (wm: Record<string, string>) => Record<string, string>): string {
    const d = path.join(dir, name);
    fs.mkdirSync(d);
    const floats = [...hf()].filter(([, t]) => t.dtype === 'float32');
    const half = Math.ceil(floats.length / 2);
    const shards = [floats.slice(0, half), floats.slice(half)];
    const wm: Record<string, string> = {};
    shards.forEach((s, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      fs.writeFileSync(path.join(d, file), buildSafetensors(s.map(([n, t]) => ({ name: n, shape: t.shape, data: t.data }))));
      for (const [n] of s) wm[n] = file;
    });
    fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: index ? index(wm) : wm }));
    fs.copyFileSync(fixturePath('micro', 'hf_config.json'), path.join(d, 'config.json'));
    return d;
  }

  it('single safetensors file: names, metadata config, size', () => {
    const c = openCheckpoint(fixturePath('micro', 'openai.safetensors'));
    try {
      expect(c.format).to.equal('safetensors');
      expect(c.names.length).to.equal(62);
      expect((c.fileConfig as Record<string, number>).transformer_heads).to.equal(2);
      expect(c.inputBytes).to.equal(fs.statSync(fixturePath('micro', 'openai.safetensors')).size);
    } finally { c.close(); }
  });

  it('HF sharded folder (index + 2 shards + config.json) reads the same tensors as the single file', () => {
    const d = shardedFolder('sharded');
    const { tensors, checkpoint } = readCheckpoint(d);
    expect(checkpoint.layout).to.equal('hf');
    expect(checkpoint.files.length).to.equal(2);
    expect(checkpoint.act).to.equal('quick_gelu');
    const ref = hf();
    for (const [n, t] of tensors) expect(Array.from(t.data), n).to.deep.equal(Array.from(ref.get(n)!.data));
    expect(tensors.size).to.equal(ref.size - 2); // all but the two I64 position_ids buffers
  });

  it('an index naming a path outside its folder → WeightsFormatError (no file outside is opened)', () => {
    for (const [name, bad] of [['trav1', '../outside.safetensors'], ['trav2', '/etc/passwd'], ['trav3', 'sub/../../x.safetensors'], ['trav4', '..\\..\\x.safetensors']]) {
      const d = shardedFolder(name, (wm) => ({ ...wm, [Object.keys(wm)[0]]: bad }));
      expect(() => openCheckpoint(d), bad).to.throw(WeightsFormatError, /outside its folder|absolute|missing/);
    }
    fs.writeFileSync(path.join(dir, 'outside.safetensors'), 'x');
    const d = shardedFolder('trav5', (wm) => ({ ...wm, [Object.keys(wm)[0]]: '../outside.safetensors' }));
    expect(() => openCheckpoint(d)).to.throw(WeightsFormatError, /outside its folder/);
  });

  it('a missing shard, or a tensor absent from its shard → WeightsFormatError', () => {
    const d = shardedFolder('missing');
    fs.rmSync(path.join(d, 'model-00002-of-00002.safetensors'));
    expect(() => openCheckpoint(d)).to.throw(WeightsFormatError, /model-00002-of-00002\.safetensors.*is missing/);
    const e = shardedFolder('absent', (wm) => ({ ...wm, 'extra.weight': 'model-00001-of-00002.safetensors' }));
    expect(() => openCheckpoint(e)).to.throw(WeightsFormatError, /'extra\.weight' listed in model\.safetensors\.index\.json is not in this shard/);
  });

  it('HF folder with pytorch_model.bin (a torch zip) and an open_clip folder (GELU by default, mean/std)', () => {
    const h = path.join(dir, 'hfbin');
    fs.mkdirSync(h);
    fs.copyFileSync(fixturePath('checkpoints', 'model.pt'), path.join(h, 'pytorch_model.bin'));
    let c = openCheckpoint(h);
    try { expect(c.format).to.equal('torch'); expect(c.names.length).to.equal(62); } finally { c.close(); }

    const o = path.join(dir, 'openclip');
    fs.mkdirSync(o);
    fs.copyFileSync(fixturePath('micro', 'openai.safetensors'), path.join(o, 'open_clip_model.safetensors'));
    fs.writeFileSync(path.join(o, 'open_clip_config.json'), JSON.stringify({
      model_cfg: { embed_dim: 32, vision_cfg: { image_size: 32, layers: 2, width: 128, patch_size: 8 }, text_cfg: { context_length: 16, vocab_size: 1000, width: 64, heads: 2, layers: 2 } },
      preprocess_cfg: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    }));
    // A Hugging Face folder's preprocessor_config.json gives the normalisation; bad values name the file.
    fs.writeFileSync(path.join(h, 'preprocessor_config.json'), JSON.stringify({ image_mean: [0.5, 0.4, 0.3], image_std: [0.2, 0.25, 0.3], crop_size: 32 }));
    c = openCheckpoint(h);
    try { expect(c.imageMean).to.deep.equal([0.5, 0.4, 0.3]); expect(c.imageStd).to.deep.equal([0.2, 0.25, 0.3]); } finally { c.close(); }
    fs.writeFileSync(path.join(h, 'preprocessor_config.json'), JSON.stringify({ image_mean: [0.5, 0.4, 0.3], image_std: [0.2, 0, 0.3] }));
    expect(() => openCheckpoint(h)).to.throw(WeightsFormatError, /preprocessor_config\.json.*image_std must be 3 finite numbers > 0/);
    fs.writeFileSync(path.join(h, 'preprocessor_config.json'), JSON.stringify({ image_mean: ['x', 1, 2] }));
    expect(() => openCheckpoint(h)).to.throw(WeightsFormatError, /image_mean must be 3 finite numbers/);
    fs.writeFileSync(path.join(h, 'preprocessor_config.json'), '[1]');
    expect(() => openCheckpoint(h)).to.throw(WeightsFormatError, /not a JSON object/);
    fs.unlinkSync(path.join(h, 'preprocessor_config.json'));

    c = openCheckpoint(o);
    try {
      expect(c.layout).to.equal('open_clip');
      expect(c.act).to.equal('gelu');
      expect(c.imageMean).to.deep.equal([0.5, 0.5, 0.5]);
      expect((c.fileConfig as { text_cfg: { heads: number } }).text_cfg.heads).to.equal(2);
    } finally { c.close(); }
  });

  it('unknown folders and architectures → WeightsFormatError', () => {
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    expect(() => openCheckpoint(empty)).to.throw(WeightsFormatError, /no checkpoint found/);
    const sig = path.join(dir, 'siglip');
    fs.mkdirSync(sig);
    fs.writeFileSync(path.join(sig, 'config.json'), JSON.stringify({ model_type: 'siglip' }));
    expect(() => openCheckpoint(sig)).to.throw(WeightsFormatError, /model_type "siglip" is not supported/);
    const oc = path.join(dir, 'hftext');
    fs.mkdirSync(oc);
    fs.writeFileSync(path.join(oc, 'open_clip_config.json'), JSON.stringify({ model_cfg: { text_cfg: { hf_model_name: 'xlm-roberta-base' } } }));
    expect(() => openCheckpoint(oc)).to.throw(WeightsFormatError, /xlm-roberta-base/);
    expect(() => openCheckpoint(path.join(dir, 'nope'))).to.throw(WeightsFormatError, /no such file/);
    const junk = path.join(dir, 'junk.bin');
    fs.writeFileSync(junk, Buffer.alloc(64, 1));
    expect(() => openCheckpoint(junk)).to.throw(WeightsFormatError, /not a safetensors file, a PyTorch zip/);
    const legacy = path.join(dir, 'legacy.pt');
    fs.writeFileSync(legacy, Buffer.from([0x80, 2, 0x8a, 0x0a]));
    expect(() => openCheckpoint(legacy)).to.throw(WeightsFormatError, /legacy/);
  });
});
