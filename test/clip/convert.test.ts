import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { convertCheckpoint, ConvertReport, fixedInput, verificationOutputs } from '../../src/clip/convert';
import { loadClip, openWeights } from '../../src/clip/load';
import { OptionsError, UnsafePickleError, WeightsFormatError } from '../../src/errors';
import { readConverted } from '../../src/weights/converted';
import { floatToHalf, halfToFloat } from '../../src/weights/dtype';
import { canonicalize } from '../../src/weights/names';
import { readSafetensors } from '../../src/weights/safetensors';
import { expectClose } from '../helpers/close';
import { fixturePath } from '../helpers/paths';
import { buildSafetensors, buildTorchZip, PickleWriter, pickleTensor, f32Bytes } from '../weights/builders';

const MICRO = (f: string) => fixturePath('micro', f);
/** The four layouts of the micro model, and the config each needs (bare files do not say the text head count). */
const FORMATS: [string, string, string | undefined][] = [
  ['openai.safetensors', MICRO('openai.safetensors'), undefined], // its __metadata__.config says it
  ['hf.safetensors', MICRO('hf.safetensors'), MICRO('hf_config.json')],
  ['model.pt', fixturePath('checkpoints', 'model.pt'), MICRO('config.json')],
  ['model.jit.pt', fixturePath('checkpoints', 'model.jit.pt'), MICRO('config.json')],
];

describe('clip/convert (checkpoint → converted folder, verified)', function () {
  this.timeout(120000);
  let dir: string;
  const reports = new Map<string, ConvertReport>();
  const canonical = () => canonicalize(readSafetensors(MICRO('openai.safetensors')).tensors, { source: 'micro' }).weights;
  const golden = () => readSafetensors(MICRO('golden.safetensors')).tensors;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-convert-'));
    for (const [name, file, config] of FORMATS) {
      reports.set(name, await convertCheckpoint(file, { out: path.join(dir, name), dtype: 'f32', config }));
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the four micro formats convert to identical canonical tensors (the F16 archive: F32 values rounded to F16)', () => {
    const ref = canonical();
    for (const [name] of FORMATS) {
      const { weights, config } = readConverted(path.join(dir, name));
      expect(config.text.heads, name).to.equal(2);
      expect([...weights.keys()], name).to.deep.equal([...ref.keys()]);
      for (const [k, t] of ref) {
        const u = weights.get(k)!;
        expect(u.shape, `${name} ${k}`).to.deep.equal(t.shape);
        const want = name === 'model.jit.pt' ? Float32Array.from(t.data, (x) => halfToFloat(floatToHalf(x))) : t.data;
        for (let i = 0; i < want.length; i++) if (u.data[i] !== want[i]) throw new Error(`${name} ${k}[${i}]: ${u.data[i]} ≠ ${want[i]}`);
      }
    }
  });

  it('reports: family, params 595,201, sizes, sha256, maxAbsDiff 0 for float32 output, peak RSS', () => {
    for (const [name, file] of FORMATS) {
      const r = reports.get(name)!;
      expect(r.params, name).to.equal(595201);
      expect(r.tensors).to.equal(62);
      expect(r.family).to.match(/^ViT-W128L2\/8@32 text-W64L2/);
      expect(r.inputBytes).to.equal(fs.statSync(file).size);
      expect(r.outBytes).to.be.within(595201 * 4, 595201 * 4 + 20000);
      expect(r.sha256).to.match(/^[0-9a-f]{64}$/);
      expect(r.maxAbsDiff, name).to.equal(0);
      expect(r.peakRssBytes).to.be.above(1e6);
      expect(r.inputKind).to.equal({ 'model.pt': 'torch', 'model.jit.pt': 'torchscript' }[name] ?? 'safetensors');
    }
  });

  for (const [name] of FORMATS) {
    // F32 sources: the README's 1e-4 float32 rule. The F16 archive's weights are rounded (≤ 5.1e-4 each),
    // so its outputs (measured max |Δ| 2.3e-3) are held to 5e-3 · max(1, |ref|) of the F32 goldens.
    const tol = name === 'model.jit.pt' ? 5e-3 : 1e-4;
    it(`${name} converted → loadClip → micro goldens (embeds, logits) within ${tol} · max(1, |ref|)`, async () => {
      const before = tf.memory().numTensors;
      const g = golden();
      const model = await loadClip(path.join(dir, name));
      const px = tf.tensor4d(g.get('pixel_values')!.data, g.get('pixel_values')!.shape as [number, number, number, number]);
      const ids = tf.tensor2d(g.get('input_ids')!.data, g.get('input_ids')!.shape as [number, number], 'int32');
      const img = await model.encodeImages(px);
      const txt = await model.encodeTexts(ids);
      const { logitsPerImage, logitsPerText } = await model.logits(px, ids);
      expectClose(img.embeds.dataSync(), g.get('image_embeds')!.data, tol, 'image_embeds');
      expectClose(txt.embeds.dataSync(), g.get('text_embeds')!.data, tol, 'text_embeds');
      expectClose(logitsPerImage.dataSync(), g.get('logits_per_image')!.data, tol, 'logits_per_image');
      tf.dispose([px, ids, img.embeds, img.tokens, txt.embeds, txt.tokens, logitsPerImage, logitsPerText]);
      model.dispose();
      expect(tf.memory().numTensors).to.equal(before);
    });
  }

  it('the verification (the model with streamed blocks) equals a whole resident ClipModel on the fixed input (exact, default layout of the backend)', async () => {
    const { createClip } = await import('../../src/clip/model');
    const { defaultWeightLayout } = await import('../../src/tensor/linear');
    const before = tf.memory().numTensors;
    const opened = openWeights(MICRO('openai.safetensors'));
    const streamed = await verificationOutputs(opened);
    opened.close();
    const w = openWeights(MICRO('openai.safetensors'));
    const model = createClip(w.config, w.weights, { weightLayout: defaultWeightLayout() });
    const { pixels, ids } = fixedInput(model.config);
    const img = await model.encodeImages(pixels);
    const txt = await model.encodeTexts(ids);
    expect(Array.from(streamed[0]), 'image embeds').to.deep.equal(Array.from(img.embeds.dataSync()));
    expect(Array.from(streamed[1]), 'text embeds').to.deep.equal(Array.from(txt.embeds.dataSync()));
    expect(streamed[2].length).to.equal(4);
    tf.dispose([pixels, img.embeds, img.tokens, txt.embeds, txt.tokens]);
    model.dispose();
    w.close();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('memory bound: while a block runs during verification the backend holds the non-block weights + that block + the activations a resident model has at the same point (≤ 16 KiB more; weights counted from their shapes)', async () => {
    const { createClip } = await import('../../src/clip/model');
    const w = openWeights(MICRO('openai.safetensors'));
    const bytes = (names: string[]) => names.reduce((s, n) => s + 4 * w.weights.get(n)!.shape.reduce((a, b) => a * b, 1), 0);
    const all = [...w.weights.keys()].filter((n) => n !== 'logit_scale'); // a scalar read on the host
    const blockOf = (n: string) => /^(visual\.)?transformer\.resblocks\.\d+\./.exec(n)?.[0];
    const ends = bytes(all.filter((n) => !blockOf(n)));
    const blocks = new Map<string, string[]>();
    for (const n of all) if (blockOf(n)) blocks.set(blockOf(n)!, [...(blocks.get(blockOf(n)!) ?? []), n]);
    expect(blocks.size).to.equal(4);
    // Backend bytes above `base` at every point inside a block, by point name.
    const probing = (base: number, at: Map<string, number>) => (_x: tf.Tensor, info: { encoder: string; name: string }) => {
      at.set(`${info.encoder}:${info.name}`, tf.memory().numBytes - base);
    };
    const points = ['blocks.*.ln1', 'blocks.*.attn.*', 'blocks.*.resid.*', 'blocks.*.ln2', 'blocks.*.mlp.*'];
    const hooksOf = (f: ReturnType<typeof probing>) => Object.fromEntries(points.map((p) => [p, f]));
    // The same encoder calls on a resident model: every weight on the backend at once.
    const base0 = tf.memory().numBytes;
    const resident = createClip(w.config, w.weights);
    const residentBytes = tf.memory().numBytes - base0;
    expect(residentBytes).to.be.at.least(bytes(all));
    const atResident = new Map<string, number>();
    const { pixels, ids } = fixedInput(w.config);
    for (const o of [
      await resident.encodeImages(pixels, { hooks: hooksOf(probing(base0, atResident)) }),
      await resident.encodeTexts(ids, { hooks: hooksOf(probing(base0, atResident)) }),
    ])
      tf.dispose([o.embeds, o.tokens]);
    pixels.dispose();
    resident.dispose();
    const before = tf.memory().numTensors;
    const base = tf.memory().numBytes;
    const atStreamed = new Map<string, number>();
    await verificationOutputs(w, hooksOf(probing(base, atStreamed)));
    w.close();
    expect(tf.memory().numTensors).to.equal(before);
    expect([...atStreamed.keys()]).to.deep.equal([...atResident.keys()]);
    let peak = 0;
    for (const [k, streamed] of atStreamed) {
      const [encoder, name] = k.split(':');
      const block = `${encoder === 'image' ? 'visual.' : ''}transformer.resblocks.${name.split('.')[1]}.`;
      const activations = atResident.get(k)! - residentBytes; // the resident run's bytes at this point, less its weights
      const bound = ends + bytes(blocks.get(block)!) + activations + 16 * 1024;
      expect(streamed, `${k}: ${streamed} B > ${bound} B`).to.be.at.most(bound);
      peak = Math.max(peak, streamed);
    }
    expect(atStreamed.size).to.be.at.least(4 * 14);
    expect(peak, 'streamed peak vs the resident weights alone').to.be.below(residentBytes);
  });

  it("a model with streamed blocks holds no blocks between calls (InputError on .blocks); a bad 'blocks' option is an OptionsError", async () => {
    const { createClip } = await import('../../src/clip/model');
    const { InputError } = await import('../../src/errors');
    const w = openWeights(MICRO('openai.safetensors'));
    const before = tf.memory().numTensors;
    const m = createClip(w.config, w.weights, { blocks: 'streamed' });
    expect(() => m.vision.blocks).to.throw(InputError, /streamed/);
    expect(m.vision.layers).to.equal(2);
    m.dispose();
    expect(tf.memory().numTensors).to.equal(before);
    expect(() => createClip(w.config, w.weights, { blocks: 'lazy' as never })).to.throw(OptionsError, /blocks/);
    w.close();
  });

  it('f16 output: half the bytes, maxAbsDiff small but reported; converting leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const r = await convertCheckpoint(MICRO('openai.safetensors'), { out: path.join(dir, 'f16'), dtype: 'f16' });
    expect(tf.memory().numTensors).to.equal(before);
    expect(r.outBytes).to.be.within(595201 * 2, 595201 * 2 + 20000);
    expect(r.maxAbsDiff).to.be.above(0).and.below(0.05);
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'f16', 'model.json'), 'utf8'));
    expect(m.weightsManifest[0].weights[0].quantization).to.deep.equal({ dtype: 'float16' });
  });

  it('a converted folder converts again (f32 → f16) and the act override reaches the config', async () => {
    const r = await convertCheckpoint(path.join(dir, 'openai.safetensors'), {
      out: path.join(dir, 'again'),
      dtype: 'f16',
      act: 'gelu',
      verify: false,
    });
    expect(r.inputKind).to.equal('converted');
    expect(r.maxAbsDiff).to.equal(null);
    expect(readConverted(path.join(dir, 'again')).config.text.act).to.equal('gelu');
  });

  describe('bad input: typed errors, nothing written outside --out, no partial output', () => {
    let work: string;
    beforeEach(() => {
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-convert-bad-'));
    });
    afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

    async function expectFailure(
      input: string,
      cls: new (...args: never[]) => Error,
      re: RegExp,
      opts: Record<string, unknown> = {},
    ): Promise<void> {
      const parent = path.join(work, 'weights');
      fs.mkdirSync(parent, { recursive: true });
      const listing = fs.readdirSync(parent);
      const tensorsBefore = tf.memory().numTensors;
      let err: unknown;
      try {
        await convertCheckpoint(input, { out: path.join(parent, 'out'), ...opts });
      } catch (e) {
        err = e;
      }
      expect(err, 'expected an error').to.be.instanceOf(cls);
      expect((err as Error).message).to.match(re);
      expect(fs.readdirSync(parent), 'no output, no temp folder left').to.deep.equal(listing);
      expect(tf.memory().numTensors, 'no tensors leaked').to.equal(tensorsBefore);
    }

    it('a checkpoint whose pickle names os.system → UnsafePickleError', async () => {
      const p = new PickleWriter();
      p.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
      p.str('w');
      pickleTensor(p, { name: 'w', storageKey: '0', storageNumel: 1, shape: [1] });
      p.str('x').global('os', 'system').mark().str('echo pwned').tuple().reduce().setitems().stop();
      const f = path.join(work, 'evil.pt');
      fs.writeFileSync(f, buildTorchZip('evil', p.bytes(), { 0: f32Bytes([1]) }));
      await expectFailure(f, UnsafePickleError, /os\.system/);
    });

    it('an unknown architecture (ResNet-style names) → WeightsFormatError', async () => {
      const f = path.join(work, 'resnet.safetensors');
      fs.writeFileSync(
        f,
        buildSafetensors([
          { name: 'visual.layer1.0.conv1.weight', shape: [4, 4, 1, 1], data: new Float32Array(16) },
          { name: 'token_embedding.weight', shape: [10, 8], data: new Float32Array(80) },
        ]),
      );
      await expectFailure(f, WeightsFormatError, /missing tensors/);
    });

    it('a corrupt zip → WeightsFormatError', async () => {
      const f = path.join(work, 'corrupt.pt');
      const b = fs.readFileSync(fixturePath('checkpoints', 'model.pt'));
      fs.writeFileSync(f, b.subarray(0, b.length - 200));
      await expectFailure(f, WeightsFormatError, /zip/);
    });

    it('heads that do not divide the width → WeightsFormatError', async () => {
      await expectFailure(MICRO('openai.safetensors'), WeightsFormatError, /divisible/, {
        config: { embed_dim: 32, transformer_heads: 3 },
      });
    });

    for (const stage of ['write', 'verify']) {
      it(`a failure during '${stage}' (shards already on disk) leaves no partial output`, async () => {
        const onProgress = (p: { stage: string }): void => {
          if (p.stage === stage) throw new Error(`cancelled in ${stage}`);
        };
        await expectFailure(MICRO('openai.safetensors'), Error, new RegExp(`cancelled in ${stage}`), { onProgress });
      });
    }

    it('an existing non-empty --out, or bad options → OptionsError before anything is read', async () => {
      const out = path.join(work, 'exists');
      fs.mkdirSync(out);
      fs.writeFileSync(path.join(out, 'keep.txt'), 'x');
      let err: unknown;
      try {
        await convertCheckpoint(MICRO('openai.safetensors'), { out });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(OptionsError);
      expect(fs.readdirSync(out)).to.deep.equal(['keep.txt']);
      for (const opts of [{ dtype: 'f8' }, { act: 'relu' }, { shardBytes: 0 }]) {
        err = undefined;
        try {
          await convertCheckpoint(MICRO('openai.safetensors'), { out: path.join(work, 'o'), ...(opts as object) });
        } catch (e) {
          err = e;
        }
        expect(err, JSON.stringify(opts)).to.be.instanceOf(OptionsError);
      }
      expect(fs.existsSync(path.join(work, 'o'))).to.equal(false);
    });
  });
});
