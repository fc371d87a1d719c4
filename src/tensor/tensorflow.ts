/**
 * Settings and kernel choices for TensorFlow's native backend (tfjs-node, backend name `tensorflow`).
 *
 * tfjs-node runs every tfjs matMul as TensorFlow's `BatchMatMulV2`, even a plain 2-D product. TensorFlow's
 * `MatMul` op computes the same 2-D product much faster on CPU (measured in the bench's linear layers:
 * README "Performance"), so `tuneTensorflowKernels` re-registers tfjs's BatchMatMul kernel for this backend:
 * 2-D operands, and 3-D ones with a batch of one on both sides (tf.fused.matMul's form), go to `MatMul`;
 * everything else to tfjs-node's own kernel.
 *
 * Threads: tfjs-node creates TensorFlow's eager context with default options, and TensorFlow then takes its
 * intra-op and inter-op thread counts from TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS (else every
 * core). They are read once, when the package loads: `setTensorflowThreads` must run before initBackend.
 * (OMP_NUM_THREADS has no effect: TensorFlow's oneDNN runs on TensorFlow's own thread pool.)
 */
import * as tf from '@tensorflow/tfjs';

interface NodeBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_BOOL: number; TF_FLOAT: number };
  executeSingleOutput(op: string, attrs: { name: string; type: number; value: unknown }[], inputs: tf.TensorInfo[]): tf.Tensor;
}

let tunedFor: tf.KernelBackend | undefined;

/** The active backend, when it is TensorFlow's. */
function nodeBackend(): NodeBackend | undefined {
  if (tf.getBackend() !== 'tensorflow') return undefined;
  const b = tf.backend() as unknown as Partial<NodeBackend>;
  return typeof b.executeSingleOutput === 'function' && b.binding ? (b as NodeBackend) : undefined;
}

/** TensorFlow's 2-D `MatMul` op. */
function matMulOp(be: NodeBackend, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.Tensor {
  return be.executeSingleOutput(
    'MatMul',
    [
      { name: 'T', type: be.binding.TF_ATTR_TYPE, value: be.binding.TF_FLOAT },
      { name: 'transpose_a', type: be.binding.TF_ATTR_BOOL, value: transposeA },
      { name: 'transpose_b', type: be.binding.TF_ATTR_BOOL, value: transposeB },
    ],
    [a, b],
  );
}

/**
 * On the `tensorflow` backend, route tfjs's single matrix products to TensorFlow's `MatMul` op (see above).
 * A no-op on any other backend; idempotent. Call after the backend is active (initBackend does).
 */
export function tuneTensorflowKernels(): boolean {
  const be = nodeBackend();
  if (!be) return false;
  if (tunedFor === tf.backend()) return true;
  const original = tf.getKernel(tf.BatchMatMul, 'tensorflow');
  if (!original) return false;
  tf.unregisterKernel(tf.BatchMatMul, 'tensorflow');
  tf.registerKernel({
    kernelName: tf.BatchMatMul,
    backendName: 'tensorflow',
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.Tensor; b: tf.Tensor };
      const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const self = args.backend as unknown as NodeBackend;
      const float = a.dtype === 'float32' && b.dtype === 'float32';
      if (float && a.rank === 2 && b.rank === 2) return matMulOp(self, a, b, transposeA, transposeB);
      if (float && a.rank === 3 && b.rank === 3 && a.shape[0] === 1 && b.shape[0] === 1) {
        return tf.tidy(() => tf.expandDims(matMulOp(self, tf.squeeze(a, [0]), tf.squeeze(b, [0]), transposeA, transposeB), 0));
      }
      return original.kernelFunc(args) as tf.TensorInfo;
    },
  });
  tunedFor = tf.backend();
  return true;
}

/** Whether tfjs's BatchMatMul currently runs through TensorFlow's `MatMul` op (for reports). */
export function tensorflowKernelsTuned(): boolean {
  return tunedFor !== undefined && tunedFor === tf.backend() && tf.getBackend() === 'tensorflow';
}

/**
 * Set TensorFlow's intra-op thread count (the cores one op may use) for a tfjs-node that has not loaded yet;
 * without `threads`, TF_NUM_INTRAOP_THREADS as exported applies, else every core. Inter-op threads stay as
 * TensorFlow (or TF_NUM_INTEROP_THREADS) sets them. Returns the intra-op count that will apply, if known.
 */
export function setTensorflowThreads(threads: number | undefined, env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (threads !== undefined) env.TF_NUM_INTRAOP_THREADS = String(threads);
  const n = Number(env.TF_NUM_INTRAOP_THREADS);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}
