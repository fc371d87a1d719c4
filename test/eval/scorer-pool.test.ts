import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { loadClip } from '../../src/clip/load';
import { ClipModel } from '../../src/clip/model';
import { loadDataset } from '../../src/eval/datasets';
import { runPairs, RunResult } from '../../src/eval/runner';
import { ScorerPool } from '../../src/eval/scorer-pool';
import { ModelScorer, ScorerConfig } from '../../src/eval/scoring';
import { OptionsError } from '../../src/errors';
import { bundledBenchmark } from '../../src/cli/paths';

const quiet = { write: () => true, isTTY: false };
const CONFIGS: ScorerConfig[] = [{ name: 'clip' }, { name: 'abe' }, { name: 'abe+regions' }];

function flat(r: RunResult): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const s of r.scored) for (const [cfg, pn] of Object.entries(s.scores)) (out[cfg] ??= []).push(...pn);
  return out;
}

describe('eval/ScorerPool (2 wasm workers vs one in-process ModelScorer on the toy benchmark: identical scores)', function () {
  this.timeout(300_000);
  let prev: string;
  let model: ClipModel;
  let pool: ScorerPool | undefined;

  before(async () => {
    prev = tf.getBackend();
    await initBackend({ backend: 'wasm' });
    model = await loadClip('toy-shapes');
  });
  after(async () => {
    await pool?.close();
    model?.dispose();
    if (prev) await tf.setBackend(prev);
  });

  it('runPairs over 2 workers (chunks of 5 images, each whole on whichever worker is free) gives the same scores (≤ 1e-5·max(1,|s|)), items and order, and the same resolved options', async () => {
    const ds = loadDataset('toy', { data: bundledBenchmark(), limit: 24 });
    const local = new ModelScorer(model, { configs: CONFIGS });
    const ref = await runPairs(ds, local, { chunk: 5, progress: quiet });
    local.dispose();
    const before = tf.memory().numTensors;
    pool = await ScorerPool.create({ weights: 'toy-shapes', configs: CONFIGS, backend: 'wasm' }, 2);
    const got = await runPairs(ds, pool, { chunk: 5, progress: quiet });
    expect(tf.memory().numTensors, 'no tensors in this thread').to.equal(before);
    expect(pool.configs).to.deep.equal(local.configs);
    expect(pool.options).to.deep.equal(local.options);
    expect(got.scored.map((s) => s.item.id)).to.deep.equal(ref.scored.map((s) => s.item.id));
    expect(got.scored.length).to.equal(24);
    // Same kernels and rows, but abe+regions encodes each batch's region token subsets padded to that batch's
    // longest subset: the masked padding changes the float summation order only (≈ 1e-7 relative).
    const a = flat(got),
      b = flat(ref);
    expect(Object.keys(a)).to.deep.equal(Object.keys(b));
    for (const k of Object.keys(b)) {
      expect(a[k].length, k).to.equal(b[k].length);
      b[k].forEach((v, i) => expect(Math.abs(a[k][i] - v), `${k}[${i}]`).to.be.at.most(1e-5 * Math.max(1, Math.abs(v))));
    }
  });

  it('a worker count that is not a positive integer is an OptionsError naming threads', async () => {
    const e = await ScorerPool.create({ weights: 'toy-shapes', configs: CONFIGS }, 0).catch((x) => x);
    expect(e).to.be.instanceOf(OptionsError);
    expect((e as OptionsError).message).to.match(/threads/);
  });

  it("a model that cannot be loaded fails create() with the worker's typed error, and no worker is left running", async () => {
    const e = await ScorerPool.create({ weights: '/nonexistent/model.safetensors', configs: CONFIGS, backend: 'wasm' }, 2).catch((x) => x);
    expect(e).to.be.instanceOf(Error);
    expect(String((e as Error).message)).to.match(/nonexistent/);
  });
});
