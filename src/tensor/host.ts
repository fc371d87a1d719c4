/** Host-side typed-array reshuffles (loading weights, assembling batches before they become tensors). */

/** [rows, cols] row-major → [cols, rows]. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[base + c];
  }
  return out;
}

function concatInto<T extends Float32Array | Int32Array>(out: T, parts: readonly T[]): T {
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const total = (parts: readonly ArrayLike<number>[]): number => parts.reduce((a, p) => a + p.length, 0);

/** Concatenate along the first axis. */
export function concatRows(parts: readonly Float32Array[]): Float32Array {
  return concatInto(new Float32Array(total(parts)), parts);
}

/** Concatenate int32 rows (token ids) along the first axis. */
export function concatIntRows(parts: readonly Int32Array[]): Int32Array {
  return concatInto(new Int32Array(total(parts)), parts);
}

/** Dot product of n entries of a (from ao) and b (from bo): one row of each, without copying either out. */
export function dotAt(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
  return s;
}
