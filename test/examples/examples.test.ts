import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
// Through the package's own name, as a user imports it (package.json `exports`; `abe-clip-source` resolves to src/).
import { disposeOutput, loadClip, loadImages, tokenize } from 'abe-clip';
import { readConverted } from 'abe-clip/weights';
import { headAblation } from '../../examples/ablation';
import { expectClose } from '../helpers/close';
import { plainBlock, plainText, plainVisionInput } from '../helpers/plain-clip';

const ROOT = path.join(__dirname, '..', '..');
const IMAGES = ['seen_0000.png', 'seen_0001.png'].map((f) => path.join(ROOT, 'data', 'toy-shapes', 'images', f));
const CAPTIONS = ['a orange star and a cyan circle', 'a white triangle and a green star'];

describe('examples/ablation.ts on the bundled toy-shapes model', function () {
  this.timeout(300000);

  it('vision block 0 attention probs and text embeds with head 0 of text block 1 zeroed equal an independent plain-JS forward (max abs err ≤ 1e-4·max(1,max|ref|)); no tensors left', async () => {
    const model = await loadClip('toy-shapes');
    const { pixels } = await loadImages(IMAGES, model.preprocess);
    disposeOutput(await model.encodeTexts(CAPTIONS)); // the model's lazy causal mask, kept with the model
    const before = tf.memory().numTensors;
    const r = await headAblation(model, pixels, CAPTIONS, 1, 0);
    expect(tf.memory().numTensors).to.equal(before);
    const { config: c, weights } = readConverted(path.join(ROOT, 'weights', 'toy-shapes'));
    const px = pixels.dataSync() as Float32Array,
      R = c.vision.resolution;
    pixels.dispose();
    model.dispose();
    const probs = [0, 1].map(
      (i) =>
        plainBlock(
          weights,
          'visual.transformer.resblocks.0',
          c.vision,
          plainVisionInput(weights, c, px.subarray(i * 3 * R * R, (i + 1) * 3 * R * R)),
          false,
        ).probs,
    );
    expectClose(Float32Array.from(r.visionProbs.flat(3)), Float32Array.from(probs.flat(3)), 1e-4, 'vision block 0 probs');
    const ids = tokenize(CAPTIONS, { contextLength: c.text.contextLength });
    const rows = ids.arraySync() as number[][];
    ids.dispose();
    const after = rows.map((row) => plainText(weights, c, row, { block: 1, head: 0 }));
    const plain = rows.map((row) => plainText(weights, c, row));
    expectClose(Float32Array.from(r.textAfter.flat()), Float32Array.from(after.flat()), 1e-4, 'text embeds, head zeroed');
    expectClose(Float32Array.from(r.textBefore.flat()), Float32Array.from(plain.flat()), 1e-4, 'text embeds');
    // The ablation matters: the zeroed head moves every embedding.
    expect(Math.max(...r.textAfter.flat().map((v, i) => Math.abs(v - r.textBefore.flat()[i])))).to.be.greaterThan(1e-3);
  });
});

/** dist/ as `npm ci` builds it (prepare), rebuilt when a source file is newer: the ESM example runs what users run. */
function ensureBuilt(): void {
  const entry = path.join(ROOT, 'dist', 'src', 'index.js');
  const newest = (dir: string): number =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = path.join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
    }, 0);
  if (fs.existsSync(entry) && fs.statSync(entry).mtimeMs >= newest(path.join(ROOT, 'src'))) return;
  const r = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.json')], {
    encoding: 'utf8',
  });
  expect(r.status, `npm run build failed:\n${r.stdout}${r.stderr}`).to.equal(0);
}

describe('examples compile and run', function () {
  this.timeout(600000);

  it('every TypeScript example type-checks against the package exports (tsconfig.examples.json)', () => {
    const r = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.examples.json')], {
      encoding: 'utf8',
    });
    expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
  });

  it('examples/score.mjs (ESM JavaScript, the README snippet) runs on the built package and prints a 2 × 2 matrix whose diagonal wins for image 0', () => {
    ensureBuilt();
    const r = spawnSync(process.execPath, [path.join(ROOT, 'examples', 'score.mjs')], {
      encoding: 'utf8',
      env: { ...process.env, ABE_BACKEND: 'cpu' },
    });
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('image '));
    expect(lines).to.have.length(2);
    // Image 0 shows "a orange star and a cyan circle": its own caption must beat the attribute swap under CLIP.
    const [, clip0, clip1] = /clip (\S+) (\S+)/.exec(lines[0])!;
    expect(Number(clip0)).to.be.greaterThan(Number(clip1));
  });

  it('the README Library API snippet is examples/score.mjs', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const body = fs
      .readFileSync(path.join(ROOT, 'examples', 'score.mjs'), 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('//'))
      .join('\n')
      .trim();
    expect(readme).to.include(body);
  });
});
