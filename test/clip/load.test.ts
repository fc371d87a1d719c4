import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Jimp } from 'jimp';
import { loadClip, packageRoot, resolveModelPath } from '../../src/clip/load';
import { OptionsError, WeightsFormatError } from '../../src/errors';
import { CLIP_MEAN, CLIP_STD } from '../../src/image/constants';
import { tokenizeToArrays } from '../../src/text/tokenize';
import { fixturePath, REPO } from '../helpers/paths';

interface Item {
  id: string;
  image: string;
  positive: string;
  negative: string;
  clip_pos: number;
  clip_neg: number;
}

/** 64×64 RGB PNG → normalised [1,3,64,64] (the toy-shapes preprocessing: no resize, /255, mean/std). */
async function pixels(file: string): Promise<Float32Array> {
  const img = await Jimp.read(file);
  const { width, height, data } = img.bitmap;
  expect([width, height]).to.deep.equal([64, 64]);
  const out = new Float32Array(3 * 64 * 64);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 64 * 64; i++) out[c * 4096 + i] = (data[i * 4 + c] / 255 - CLIP_MEAN[c]) / CLIP_STD[c];
  }
  return out;
}

describe('clip/load (loadClip)', function () {
  this.timeout(120000);

  it("the bundled 'toy-shapes' (float16) reproduces the reference logits clip_pos / clip_neg to 1e-3", async () => {
    const items: Item[] = fs
      .readFileSync(fixturePath('toy-shapes', 'items.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const before = tf.memory().numTensors;
    const model = await loadClip('toy-shapes');
    const images = [...new Set(items.map((i) => i.image))];
    const px = new Float32Array(images.length * 3 * 64 * 64);
    for (const [k, f] of images.entries()) px.set(await pixels(fixturePath('toy-shapes', f)), k * 3 * 64 * 64);
    const captions = [...new Set(items.flatMap((i) => [i.positive, i.negative]))];
    const rows = tokenizeToArrays(captions, { contextLength: model.config.text.contextLength });
    const ids = rows.map((r) => Array.from(r));
    const pt = tf.tensor4d(px, [images.length, 3, 64, 64]);
    const { logitsPerImage, logitsPerText } = await model.logits(pt, ids);
    const L = logitsPerImage.arraySync() as number[][];
    let worst = 0;
    for (const it of items) {
      const r = images.indexOf(it.image);
      worst = Math.max(
        worst,
        Math.abs(L[r][captions.indexOf(it.positive)] - it.clip_pos),
        Math.abs(L[r][captions.indexOf(it.negative)] - it.clip_neg),
      );
    }
    expect(worst, `max |logit − reference| over ${items.length} items`).to.be.below(1e-3);
    tf.dispose([pt, logitsPerImage, logitsPerText]);
    model.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('the bundled folder is found from the package root (works from src/ and dist/)', () => {
    expect(packageRoot()).to.equal(REPO);
    expect(resolveModelPath('toy-shapes')).to.equal(path.join(REPO, 'weights', 'toy-shapes'));
    const m = JSON.parse(fs.readFileSync(path.join(REPO, 'weights', 'toy-shapes', 'model.json'), 'utf8'));
    expect(m.format).to.equal('abe-clip-weights');
    expect(m.weightsManifest[0].weights.every((w: { quantization?: { dtype: string } }) => w.quantization?.dtype === 'float16')).to.equal(
      true,
    );
  });

  it('loads a .safetensors, a .pt, a TorchScript archive and a Hugging Face folder, leaving no tensors after dispose', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-load-'));
    try {
      fs.copyFileSync(fixturePath('micro', 'hf.safetensors'), path.join(dir, 'model.safetensors'));
      fs.copyFileSync(fixturePath('micro', 'hf_config.json'), path.join(dir, 'config.json'));
      const cfg = fixturePath('micro', 'config.json');
      const inputs: [string, object][] = [
        [fixturePath('micro', 'openai.safetensors'), {}],
        [fixturePath('checkpoints', 'model.pt'), { config: cfg }],
        [fixturePath('checkpoints', 'model.jit.pt'), { config: cfg }],
        [dir, {}],
      ];
      const before = tf.memory().numTensors;
      for (const [x, opts] of inputs) {
        const m = await loadClip(x, opts);
        expect(m.config.text.heads, x).to.equal(2);
        expect(m.config.vision.width).to.equal(128);
        m.dispose();
      }
      expect(tf.memory().numTensors).to.equal(before);
      // The folder's preprocessor_config.json normalisation reaches the model's preprocessing config.
      fs.writeFileSync(
        path.join(dir, 'preprocessor_config.json'),
        JSON.stringify({ image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] }),
      );
      const m = await loadClip(dir);
      expect(m.preprocess).to.deep.equal({ resolution: m.config.vision.resolution, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
      m.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('unknown names and bad options → typed errors', async () => {
    let err: unknown;
    try {
      await loadClip('no-such-model');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(WeightsFormatError);
    expect((err as Error).message).to.match(/not a bundled model \(toy-shapes\)/);
    err = undefined;
    try {
      await loadClip('toy-shapes', { act: 'relu' as 'gelu' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(OptionsError);
    err = undefined;
    try {
      await loadClip('', {});
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(OptionsError);
  });
});
