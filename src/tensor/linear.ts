import * as tf from '@tensorflow/tfjs';

/**
 * Whether `linear` uses `tf.fused.matMul` for the bias. On wasm the fused kernel is wrong with transposes or
 * batch > 1 (measured), so `linear` only ever calls it 2-D without transposes, where it matches.
 */
let fusedBias = true;
export function setFusedLinear(on: boolean): void { fusedBias = on; }

/** y = x @ w + b over the last axis of x (any rank), w [in, out] prepared at load. Runs as one 2-D matmul. */
export function linear<R extends tf.Rank>(x: tf.Tensor<R>, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor<R> {
  const inDim = w.shape[0], outDim = w.shape[1];
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? (x as unknown as tf.Tensor2D) : tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  let y: tf.Tensor2D;
  if (b && fusedBias) y = tf.fused.matMul({ a: x2, b: w, bias: b }) as tf.Tensor2D;
  else {
    y = tf.matMul(x2, w);
    if (b) y = tf.add(y, b);
  }
  return (x.rank === 2 ? y : tf.reshape(y, [...lead, outDim] as number[])) as unknown as tf.Tensor<R>;
}
