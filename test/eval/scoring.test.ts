import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadClip } from '../../src/clip/load';
import type { ClipModel } from '../../src/clip/model';
import { cropImage, ModelScorer } from '../../src/eval/scoring';
import type { DecodedImage } from '../../src/image/decode';
import { fixturePath, REPO } from '../helpers/paths';

const IMG = (n: string): string => fixturePath('datasets', 'images', n);

/** Reference logits of the bundled model (openai/CLIP, float16-rounded weights) from the bundled benchmark. */
function reference(): Map<string, { clip_pos: number; clip_neg: number }> {
  const m = new Map();
  for (const line of fs.readFileSync(path.join(REPO, 'data', 'toy-shapes', 'reference_scores.jsonl'), 'utf8').split('\n')) {
    if (line.trim()) {
      const r = JSON.parse(line);
      m.set(r.id, r);
    }
  }
  return m;
}

describe('eval/scoring ModelScorer (bundled toy-shapes model)', function () {
  this.timeout(300_000);
  let model: ClipModel;
  let scorer: ModelScorer;
  before(async () => {
    model = await loadClip('toy-shapes');
    scorer = new ModelScorer(model, { configs: [{ name: 'clip' }, { name: 'abe' }, { name: 'abe+regions' }] });
  });
  after(() => {
    scorer.dispose();
    model.dispose();
  });

  it('clip scores equal the reference openai/CLIP logits to 1e-3; every configuration is returned', async () => {
    const items = fs
      .readFileSync(fixturePath('datasets', 'toy-items.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const images = ['seen_0000.png', 'seen_0001.png'].map((n) => ({ key: n, path: IMG(n) }));
    const caps = images.map((im) => items.filter((it) => it.image.endsWith(im.key)).flatMap((it) => [it.positive, it.negative]));
    // Warm-up: the model creates its constant tensors (masks, packed weights) once, on first use.
    await scorer.score(images.slice(0, 1), [['a red square']]);
    const before = tf.memory().numTensors;
    const { scores, failed } = await scorer.score(images, caps);
    expect(tf.memory().numTensors, 'tensors leaked').to.equal(before);
    expect(failed.size).to.equal(0);
    expect(Object.keys(scores)).to.deep.equal(['clip', 'abe', 'abe+regions']);
    const ref = reference();
    images.forEach((im, i) => {
      items
        .filter((it) => it.image.endsWith(im.key))
        .forEach((it) => {
          const r = ref.get(it.id)!;
          expect(scores.clip[i][caps[i].indexOf(it.positive)]).to.be.closeTo(r.clip_pos, 1e-3);
          expect(scores.clip[i][caps[i].indexOf(it.negative)]).to.be.closeTo(r.clip_neg, 1e-3);
        });
    });
    for (const cfg of ['abe', 'abe+regions']) expect(scores[cfg][0].every(Number.isFinite)).to.equal(true);
  });

  it('an undecodable file is reported per image, not thrown; the others are scored', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-scoring-'));
    try {
      const bad = path.join(tmp, 'bad.png');
      fs.writeFileSync(bad, 'not a png');
      const { scores, failed } = await scorer.score(
        [
          { key: 'bad', path: bad },
          { key: 'ok', path: IMG('seen_0000.png') },
        ],
        [['a red square'], ['a orange star']],
      );
      expect([...failed.keys()]).to.deep.equal(['bad']);
      expect(scores.clip[0]).to.deep.equal([]);
      expect(scores.clip[1]).to.have.length(1);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a crop of the whole image scores exactly as the image itself', async () => {
    const full = await scorer.score([{ key: 'a', path: IMG('seen_0003.png') }], [['a green triangle and a orange diamond']]);
    const crop = await scorer.score(
      [{ key: 'b', path: IMG('seen_0003.png'), crop: { x: 0, y: 0, w: 64, h: 64 } }],
      [['a green triangle and a orange diamond']],
    );
    expect(crop.scores.clip[0][0]).to.equal(full.scores.clip[0][0]);
  });

  it('unknown configurations are rejected', () => {
    expect(() => new ModelScorer(model, { configs: [{ name: 'nope' }] })).to.throw(/unknown configuration 'nope'/);
  });
});

describe('eval/scoring cropImage (PIL Image.crop semantics)', () => {
  const img: DecodedImage = { width: 3, height: 2, channels: 1, mode: 'L', source: 't', data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
  it('rounds the box and copies the window', () => {
    expect(Array.from(cropImage(img, { x: 0.6, y: 0, w: 2, h: 2 }).data)).to.deep.equal([2, 3, 5, 6]);
  });
  it('pads outside the image with zeros', () => {
    const c = cropImage(img, { x: 2, y: 1, w: 2, h: 2 });
    expect([c.width, c.height]).to.deep.equal([2, 2]);
    expect(Array.from(c.data)).to.deep.equal([6, 0, 0, 0]);
  });
});
