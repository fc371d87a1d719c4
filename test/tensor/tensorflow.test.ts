import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { setTensorflowThreads, tensorflowKernelsTuned, tuneTensorflowKernels } from '../../src/tensor/tensorflow';
import { maxAbsDiff } from '../helpers/close';
import { PARITY_BACKENDS } from '../helpers/backends';

describe('tensor/tensorflow setTensorflowThreads (on a given environment object)', () => {
  it('a thread count sets TF_NUM_INTRAOP_THREADS (over an exported one); none leaves the environment as it was', () => {
    const env: NodeJS.ProcessEnv = { TF_NUM_INTRAOP_THREADS: '4' };
    expect(setTensorflowThreads(1, env)).to.equal(1);
    expect(env).to.deep.equal({ TF_NUM_INTRAOP_THREADS: '1' });
    const env2: NodeJS.ProcessEnv = { TF_NUM_INTRAOP_THREADS: '3' };
    expect(setTensorflowThreads(undefined, env2)).to.equal(3);
    expect(env2).to.deep.equal({ TF_NUM_INTRAOP_THREADS: '3' });
    expect(setTensorflowThreads(undefined, {})).to.equal(undefined);
  });
});

// Reference: the same products on the cpu backend (plain JS loops), computed before switching.
describe('tensor/tensorflow matMul routing (every parity backend vs cpu, max abs diff ≤ 1e-4)', function () {
  this.timeout(60_000);
  const A = tf.tidy(() => tf.randomNormal([37, 29], 0, 1, 'float32', 1).arraySync() as number[][]);
  const B = tf.tidy(() => tf.randomNormal([29, 23], 0, 1, 'float32', 2).arraySync() as number[][]);
  const C = tf.tidy(() => tf.randomNormal([37, 23], 0, 1, 'float32', 3).arraySync() as number[][]);
  const bias = tf.tidy(() => tf.randomNormal([23], 0, 1, 'float32', 4).arraySync() as number[]);
  type Case = [string, () => tf.Tensor];
  /** Every form's product, computed on the active backend (operands made and freed inside). */
  const run = (): Record<string, Float32Array> =>
    tf.tidy(() => {
      const a = tf.tensor2d(A),
        b = tf.tensor2d(B),
        c = tf.tensor2d(C),
        bb = tf.tensor1d(bias);
      const cases: Case[] = [
        ['a·b (2-D)', () => tf.matMul(a, b)],
        ['aᵀ·c (transposeA)', () => tf.matMul(a, c, true, false)],
        ['a·cᵀ… (transposeB: c·bᵀ)', () => tf.matMul(c, b, false, true)],
        ['fused a·b + bias, relu (batch-1 3-D inside)', () => tf.fused.matMul({ a, b, bias: bb, activation: 'relu' })],
        ['[1,37,29]·[1,29,23] (3-D, batch 1)', () => tf.matMul(tf.expandDims(a, 0), tf.expandDims(b, 0))],
        ["[2,37,29]·[2,29,23] (3-D, batch 2: tfjs-node's own kernel)", () => tf.matMul(tf.stack([a, a]), tf.stack([b, b]))],
      ];
      return Object.fromEntries(cases.map(([name, f]) => [name, f().dataSync() as Float32Array]));
    });
  let prev: string;
  let ref: Record<string, Float32Array>;
  before(async () => {
    prev = tf.getBackend();
    await initBackend({ backend: 'cpu' });
    ref = run();
  });
  after(async () => {
    if (prev) await tf.setBackend(prev);
  });

  for (const backend of PARITY_BACKENDS) {
    it(`${backend}: every form matches cpu; tuned only on tensorflow; no tensors left`, async () => {
      const info = await initBackend({ backend });
      expect(tuneTensorflowKernels()).to.equal(info.tfBackend === 'tensorflow');
      expect(tensorflowKernelsTuned()).to.equal(info.tfBackend === 'tensorflow');
      const before = tf.memory().numTensors;
      const got = run();
      expect(tf.memory().numTensors).to.equal(before);
      expect(Object.keys(got)).to.deep.equal(Object.keys(ref));
      for (const name of Object.keys(ref)) expect(maxAbsDiff(got[name], ref[name]), name).to.be.at.most(1e-4);
    });
  }
});
