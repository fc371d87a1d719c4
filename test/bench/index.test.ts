import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { formatBenchTable, runBench } from '../../src/bench';

// Correctness of the report only: no timing is asserted (figures depend on the machine and its load).
describe('bench/runBench (quick, one thread: report shape, no timing assertions)', function () {
  this.timeout(300_000);
  it('returns every acceptance field as a finite number, renders a table, leaves no tensors', async () => {
    const prev = tf.getBackend();
    const before = tf.memory().numTensors;
    const progress: string[] = [];
    const r = await runBench({ quick: true, threads: 1, backend: 'wasm', onProgress: (m) => progress.push(m) });
    try {
      for (const k of ['matmulGflops1024', 'imageGflopsBatch8OneThread', 'imagesPerSecBatch8', 'imagesPerSecBatch8OneThread',
        'preprocessMsPerImage', 'encodeMsPerImage', 'scoreMs1024', 'encodeMs1024', 'peakRssBytes', 'weightsBytes'] as const) {
        expect(r[k], k).to.be.a('number');
        expect(Number.isFinite(r[k]) && r[k] > 0, `${k} = ${r[k]}`).to.equal(true);
      }
      expect(r.backend).to.equal('wasm');
      expect(r.threads).to.equal(1);
      expect(r.models.map((m) => m.name)).to.include('toy-shapes');
      expect(r.preprocess.map((p) => p.format)).to.deep.equal(['jpeg', 'png']);
      // wasm: one-core GFLOP ratios for the pool's layout (in-out) and the default (out-in), plus 4 others.
      expect(r.ratios).to.have.length(8);
      expect(r.oneThreadDefaultLayout.weightLayout).to.equal('out-in');
      expect(r.models[0].imagePoolLayout.map((e) => e.batch)).to.deep.equal([8]);
      expect(r.tfMemory.numTensors).to.equal(before);
      expect(tf.memory().numTensors).to.equal(before);
      expect(progress.length).to.be.greaterThan(3);
      const table = formatBenchTable(r);
      for (const s of ['matMul', 'toy-shapes', 'preprocess 640×480', 'scoreMatrix', 'acceptance']) expect(table).to.contain(s);
      expect(JSON.parse(JSON.stringify(r))).to.deep.equal(r);
    } finally {
      if (prev) await tf.setBackend(prev);
    }
  });
});
