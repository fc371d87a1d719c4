/** A host-side tensor as read from a checkpoint, before it becomes a tf.Tensor. */
export interface RawTensor {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
  /** The dtype it was stored as in the source file (F16, BF16, F32, I64, …). */
  storedAs?: string;
}

/** Tensors by name, in file order. */
export type TensorMap = Map<string, RawTensor>;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
