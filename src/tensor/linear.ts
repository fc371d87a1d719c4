import * as tf from '@tensorflow/tfjs';

/**
 * How a linear layer holds its weight, chosen once per model:
 * - `in-out` ([in, out], y = x·w): the weight is matMul's right operand. On wasm, XNNPACK packs the right
 *   operand into an operator that tfjs caches for as long as the weight lives: a second copy of every weight.
 * - `out-in` (PyTorch's [out, in], yᵀ = w·xᵀ): the weight is the left operand, which XNNPACK reads in place;
 *   only the activation is packed, per call, and freed with it. Half the weight memory on wasm, for a few
 *   per cent more time (measured in README "Performance").
 */
export type WeightLayout = 'in-out' | 'out-in';

export const WEIGHT_LAYOUTS: readonly WeightLayout[] = ['in-out', 'out-in'];

/** `out-in` on wasm (where the cached packed copies are), `in-out` elsewhere (no transposes). */
export function defaultWeightLayout(backend = tf.getBackend()): WeightLayout {
  return backend === 'wasm' ? 'out-in' : 'in-out';
}

/**
 * x·w + b, 2-D. tfjs's fused matMul is one kernel on wasm (XNNPACK adds the bias in the product) but on
 * TensorFlow it is a 3-D batch-of-one product wrapped in reshapes plus an add: there a plain 2-D product (the
 * `MatMul` op, src/tensor/tensorflow.ts) and one add issue 5 fewer ops per layer (measured in the bench).
 */
function biased(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  return tf.getBackend() === 'tensorflow'
    ? tf.add<tf.Tensor2D>(tf.matMul(x, w), b)
    : (tf.fused.matMul({ a: x, b: w, bias: b }) as tf.Tensor2D);
}

/**
 * Rows: x [..., in] → [..., out] for a weight in `layout`. `in-out` runs as one 2-D matmul with a fused bias
 * (on wasm the fused kernel is wrong with transposes or batch > 1 — measured — so it is only called 2-D without
 * transposes, where it matches); `out-in` goes through the column form with one transpose each way.
 */
export function linear<R extends tf.Rank>(x: tf.Tensor<R>, w: tf.Tensor2D, b: tf.Tensor1D | undefined, layout: WeightLayout): tf.Tensor<R> {
  return tf.tidy((): tf.Tensor => {
    const [inDim, outDim] = layout === 'in-out' ? w.shape : [w.shape[1], w.shape[0]];
    const x2 = (x.rank === 2 ? x : tf.reshape(x, [-1, inDim])) as tf.Tensor2D;
    const y =
      layout === 'in-out'
        ? ((b ? biased(x2, w, b) : tf.matMul(x2, w)) as tf.Tensor2D)
        : tf.transpose(linearColumns(tf.transpose(x2), w, b, layout));
    return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
  }) as tf.Tensor<R>;
}

/** Columns: xᵀ [in, N] → yᵀ [out, N], the natural form of `out-in` (no transposes); `in-out` transposes twice. */
export function linearColumns(xT: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | undefined, layout: WeightLayout): tf.Tensor2D {
  return tf.tidy((): tf.Tensor2D => {
    if (layout === 'in-out') return tf.transpose(linear(tf.transpose(xT) as tf.Tensor2D, w, b, layout));
    const y: tf.Tensor2D = tf.matMul(w, xT);
    return b ? (tf.add(y, tf.reshape(b, [-1, 1])) as tf.Tensor2D) : y;
  });
}
