/**
 * Kernel audit per backend: the tfjs kernels this code uses or has avoided, against plain-JavaScript loops
 * written here (not against another backend). The README's "known kernel problems" table is this list:
 * a kernel listed as wrong or missing on a backend must still be so (a tfjs upgrade that fixes it fails
 * here, so the workaround and the table get revisited); every other kernel must match within 1e-5.
 * Backends: cpu, wasm, plus ABE_TEST_BACKENDS (CI adds tfjs-node).
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { initBackend } from '../../src/backend';
import { PARITY_BACKENDS } from '../helpers/backends';

type Known = 'wrong' | 'missing';
/** Measured with tfjs 4.22 (the cases below); README "Backends" lists the same. */
const KNOWN: Record<string, Record<string, Known>> = {
  wasm: {
    'fused matMul + bias, transposeA': 'wrong',
    'fused matMul + bias, transposeB': 'wrong',
    'fused matMul + bias + relu, batch 2, transposeB': 'wrong',
    'gather batchDims 1, axis 1': 'wrong',
    'gather batchDims 1, axis 2': 'wrong',
    'einsum bij,bkj->bik': 'missing',
    unsortedSegmentSum: 'missing',
  },
};

/** Deterministic values in [-0.5, 0.5) from a linear congruential generator. */
function values(n: number, seed: number): Float32Array {
  const d = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    d[i] = s / 2147483648 - 0.5;
  }
  return d;
}

/** C[b] = op(A[b])·op(B[b]) (+ bias, relu) by three loops; A is [B, M, K] (or [B, K, M] with tA). */
function matmulLoops(
  a: Float32Array,
  b: Float32Array,
  B: number,
  M: number,
  K: number,
  N: number,
  o: { tA?: boolean; tB?: boolean; bias?: Float32Array; relu?: boolean } = {},
): Float32Array {
  const c = new Float32Array(B * M * N);
  for (let q = 0; q < B; q++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const x = o.tA ? a[q * K * M + k * M + i] : a[q * M * K + i * K + k];
          const y = o.tB ? b[q * N * K + j * K + k] : b[q * K * N + k * N + j];
          s += x * y;
        }
        if (o.bias) s += o.bias[j];
        c[q * M * N + i * N + j] = o.relu ? Math.max(0, s) : s;
      }
  return c;
}

const A = values(2 * 4 * 5, 1),
  Bm = values(2 * 5 * 3, 2),
  BIAS = values(3, 3);
const X = values(3 * 16 * 8, 4),
  SEG = values(6 * 2, 6),
  TOP = values(3 * 7, 5);

/** Each case: the tfjs call and the loop answer. */
const CASES: Record<string, { run: () => tf.Tensor; want: () => Float32Array }> = {
  'matMul 2-D': {
    run: () => tf.matMul(tf.tensor2d(A.subarray(0, 20), [4, 5]), tf.tensor2d(Bm.subarray(0, 15), [5, 3])),
    want: () => matmulLoops(A, Bm, 1, 4, 5, 3),
  },
  'fused matMul + bias, 2-D': {
    run: () =>
      tf.fused.matMul({ a: tf.tensor2d(A.subarray(0, 20), [4, 5]), b: tf.tensor2d(Bm.subarray(0, 15), [5, 3]), bias: tf.tensor1d(BIAS) }),
    want: () => matmulLoops(A, Bm, 1, 4, 5, 3, { bias: BIAS }),
  },
  'fused matMul + bias, transposeA': {
    run: () =>
      tf.fused.matMul({
        a: tf.tensor2d(A.subarray(0, 20), [5, 4]),
        b: tf.tensor2d(Bm.subarray(0, 15), [5, 3]),
        bias: tf.tensor1d(BIAS),
        transposeA: true,
      }),
    want: () => matmulLoops(A, Bm, 1, 4, 5, 3, { tA: true, bias: BIAS }),
  },
  'fused matMul + bias, transposeB': {
    run: () =>
      tf.fused.matMul({
        a: tf.tensor2d(A.subarray(0, 20), [4, 5]),
        b: tf.tensor2d(Bm.subarray(0, 15), [3, 5]),
        bias: tf.tensor1d(BIAS),
        transposeB: true,
      }),
    want: () => matmulLoops(A, Bm, 1, 4, 5, 3, { tB: true, bias: BIAS }),
  },
  'fused matMul + bias + relu, batch 2, transposeB': {
    run: () =>
      tf.fused.matMul({
        a: tf.tensor3d(A, [2, 4, 5]),
        b: tf.tensor3d(Bm, [2, 3, 5]),
        bias: tf.tensor1d(BIAS),
        transposeB: true,
        activation: 'relu',
      }),
    want: () => matmulLoops(A, Bm, 2, 4, 5, 3, { tB: true, bias: BIAS, relu: true }),
  },
  'batched matMul, transposeB': {
    run: () => tf.matMul(tf.tensor3d(A, [2, 4, 5]), tf.tensor3d(Bm, [2, 3, 5]), false, true),
    want: () => matmulLoops(A, Bm, 2, 4, 5, 3, { tB: true }),
  },
  'einsum bij,bkj->bik': {
    run: () => tf.einsum('bij,bkj->bik', tf.tensor3d(A, [2, 4, 5]), tf.tensor3d(Bm, [2, 3, 5])),
    want: () => matmulLoops(A, Bm, 2, 4, 5, 3, { tB: true }),
  },
  'gather batchDims 1, axis 1': {
    // x [3, 16, 8], idx [3, 2]: out[b, j, :] = x[b, idx[b, j], :]
    run: () =>
      tf.gather(
        tf.tensor3d(X, [3, 16, 8]),
        tf.tensor2d(
          [
            [0, 4],
            [3, 1],
            [15, 2],
          ],
          [3, 2],
          'int32',
        ),
        1,
        1,
      ),
    want: () => {
      const idx = [
        [0, 4],
        [3, 1],
        [15, 2],
      ];
      const out: number[] = [];
      for (let b = 0; b < 3; b++) for (const r of idx[b]) out.push(...X.subarray((b * 16 + r) * 8, (b * 16 + r + 1) * 8));
      return Float32Array.from(out);
    },
  },
  'gather batchDims 1, axis 2': {
    // x [2, 3, 5], idx [2, 4]: out[b, i, j] = x[b, i, idx[b, j]]
    run: () =>
      tf.gather(
        tf.tensor3d(X.subarray(0, 30), [2, 3, 5]),
        tf.tensor2d(
          [
            [0, 4, 1, 1],
            [3, 1, 2, 0],
          ],
          [2, 4],
          'int32',
        ),
        2,
        1,
      ),
    want: () => {
      const idx = [
        [0, 4, 1, 1],
        [3, 1, 2, 0],
      ];
      const out: number[] = [];
      for (let b = 0; b < 2; b++) for (let i = 0; i < 3; i++) for (const c of idx[b]) out.push(X[(b * 3 + i) * 5 + c]);
      return Float32Array.from(out);
    },
  },
  unsortedSegmentSum: {
    run: () => tf.unsortedSegmentSum(tf.tensor2d(SEG, [6, 2]), tf.tensor1d([0, 2, 1, 0, 2, 2], 'int32'), 3),
    want: () => {
      const ids = [0, 2, 1, 0, 2, 2];
      const out = new Float32Array(6);
      ids.forEach((s, r) => {
        out[s * 2] += SEG[r * 2];
        out[s * 2 + 1] += SEG[r * 2 + 1];
      });
      return out;
    },
  },
  'topk values (k 3 of 7)': {
    run: () => tf.topk(tf.tensor2d(TOP, [3, 7]), 3).values,
    want: () =>
      Float32Array.from(
        [0, 1, 2].flatMap((r) =>
          Array.from(TOP.subarray(r * 7, r * 7 + 7))
            .sort((p, q) => q - p)
            .slice(0, 3),
        ),
      ),
  },
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const backend of PARITY_BACKENDS) {
  describe(`kernel audit on ${backend}: each kernel against loops written here (≤ 1e-5), or still wrong/missing as listed`, () => {
    let prev: string;
    before(async () => {
      await tf.ready();
      prev = tf.getBackend();
      await initBackend({ backend });
    });
    after(async () => {
      await tf.setBackend(prev);
    });

    for (const [name, c] of Object.entries(CASES)) {
      const known = KNOWN[backend]?.[name];
      it(`${name}${known ? ` (known ${known} on ${backend})` : ''}`, () => {
        const before = tf.memory().numTensors;
        let got: Float32Array | undefined;
        let error: string | undefined;
        try {
          const t = tf.tidy(c.run);
          got = t.dataSync() as Float32Array;
          t.dispose();
        } catch (e) {
          error = (e as Error).message;
        }
        expect(tf.memory().numTensors, 'tensors leaked').to.equal(before);
        if (known === 'missing') {
          expect(error, 'listed as missing but ran').to.match(/not registered/);
        } else if (known === 'wrong') {
          // A wrong kernel may also read out of bounds (wasm's gather with batchDims: "memory access out of
          // bounds" on some heaps): wrong either way; what must not happen is a correct result.
          if (error === undefined)
            expect(maxAbsDiff(got!, c.want()), 'listed as wrong but now correct: update KNOWN and the README').to.be.above(1e-3);
        } else {
          expect(error, error).to.equal(undefined);
          expect(maxAbsDiff(got!, c.want())).to.be.at.most(1e-5);
        }
      });
    }
  });
}
