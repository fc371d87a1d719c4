/**
 * The backend's own matMul rate, the yardstick every encoder figure is divided by. On wasm under Node this
 * is one core (tfjs runs the wasm backend single-threaded there).
 */
import * as tf from '@tensorflow/tfjs';
import { measure, MeasureOptions, Timing } from './stats';

export interface MatmulResult extends Timing {
  n: number;
  gflops: number;
  /** From CPU time instead of wall time: the core's rate while it ran, robust to other processes. */
  cpuGflops: number;
}

/**
 * GFLOP/s of an n×n by n×n float32 matMul (2n³ FLOP), median of repeats. The same right-hand tensor is reused,
 * as model weights are, so a backend that caches packed weights (XNNPACK on wasm) is measured warm.
 */
export async function matmulGflops(n: number, opts: MeasureOptions = {}): Promise<MatmulResult> {
  const a = tf.randomUniform([n, n], -1, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomUniform([n, n], -1, 1, 'float32', 2) as tf.Tensor2D;
  try {
    const t = await measure(
      async () => {
        const c = tf.matMul(a, b);
        await c.data();
        c.dispose();
      },
      { warmup: 1, repeats: 5, ...opts },
    );
    return { ...t, n, gflops: (2 * n ** 3) / (t.medianMs * 1e6), cpuGflops: (2 * n ** 3) / (t.cpuMedianMs * 1e6) };
  } finally {
    tf.dispose([a, b]);
  }
}
