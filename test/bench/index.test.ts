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
      for (const k of [
        'matmulGflops1024',
        'imageGflopsBatch8OneThread',
        'imagesPerSecBatch8',
        'imagesPerSecBatch8OneThread',
        'preprocessMsPerImage',
        'encodeMsPerImage',
        'scoreMs1024',
        'encodeMs1024',
        'peakRssBytes',
        'weightsBytes',
      ] as const) {
        expect(r[k], k).to.be.a('number');
        expect(Number.isFinite(r[k]) && r[k] > 0, `${k} = ${r[k]}`).to.equal(true);
      }
      expect(r.backend).to.equal('wasm');
      expect(r.threads).to.equal(1);
      expect(r.models.map((m) => m.name)).to.include('toy-shapes');
      expect(r.preprocess.map((p) => p.format)).to.deep.equal(['jpeg', 'png']);
      // wasm: one-core GFLOP ratios for the pool's layout (in-out) and the default (out-in), the two onnxruntime
      // ratios, plus 4 others; a quick run judges none of them.
      expect(r.ratios).to.have.length(10);
      expect(r.ratios.map((x) => x.ok)).to.deep.equal(r.ratios.map(() => null));
      expect(r.device).to.be.a('string').and.not.equal('');
      // The peer computed the same function (quick geometry, wasm vs onnxruntime, pooled embeds ≤ 1e-4).
      expect(r.peer.notMeasured).to.equal(undefined);
      for (const t of [r.peer.image!, r.peer.text!]) {
        expect(t.maxAbsDiff).to.be.at.most(1e-4);
        expect(Number.isFinite(t.ratio) && t.ratio > 0).to.equal(true);
      }
      expect([r.peer.image!.batch, r.peer.text!.batch]).to.deep.equal([8, 32]);
      expect(r.oneThreadDefaultLayout.weightLayout).to.equal('out-in');
      expect(r.models[0].imagePoolLayout.map((e) => e.batch)).to.deep.equal([8]);
      expect(r.tfMemory.numTensors).to.equal(before);
      expect(tf.memory().numTensors).to.equal(before);
      expect(progress.length).to.be.greaterThan(3);
      const table = formatBenchTable(r);
      for (const s of [
        'matMul',
        'toy-shapes',
        'preprocess 640×480',
        'scoreMatrix',
        'acceptance',
        'onnxruntime',
        'quick: targets not judged',
      ])
        expect(table).to.contain(s);
      expect(table).to.not.contain('NOT MET');
      expect(JSON.parse(JSON.stringify(r))).to.deep.equal(r);
    } finally {
      if (prev) await tf.setBackend(prev);
    }
  });
});
