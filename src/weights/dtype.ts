/** Decoding of stored element types into the two host types we compute with. */
import { WeightsFormatError } from '../errors';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half → float32, exact (every half is representable). */
export function halfToFloat(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) {
    if (frac === 0) { u32[0] = sign; return f32[0]; }
    // subnormal: frac · 2^-24
    const v = frac * 5.960464477539063e-8;
    return sign ? -v : v;
  }
  if (exp === 0x1f) { u32[0] = sign | 0x7f800000 | (frac << 13); return f32[0]; }
  u32[0] = sign | ((exp + 112) << 23) | (frac << 13);
  return f32[0];
}

/** float32 → IEEE half bits, round to nearest even (as torch's `.half()`). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let frac = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (frac ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    frac |= 0x800000;
    const shift = 14 - e;
    let half = frac >>> shift;
    const rem = frac & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (frac >>> 13);
  const rem = frac & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

let halfTable: Float32Array | undefined;
/** All 65,536 halves as float32 (256 KB, built once): decoding becomes one lookup per element. */
function halfLookup(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A typed-array view needs its offset aligned to the element size; copy when it is not. */
function aligned(bytes: Uint8Array, size: number): Uint8Array {
  return bytes.byteOffset % size === 0 ? bytes : bytes.slice();
}

export type StoredDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64' | 'F64';
export const ITEM_SIZE: Record<StoredDtype, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8, F64: 8 };

/**
 * Decode little-endian bytes of a stored dtype. Floats become Float32Array, integers Int32Array
 * (I64 values outside int32 are reported through `onRange`).
 */
export function decode(bytes: Uint8Array, dtype: StoredDtype, onRange: () => never): Float32Array | Int32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / ITEM_SIZE[dtype];
  switch (dtype) {
    case 'F32': {
      // Uint8Array.prototype.slice copies even for a Node Buffer (whose own slice is a view into a shared pool).
      if (LITTLE_ENDIAN_HOST) return new Float32Array(Uint8Array.prototype.slice.call(bytes).buffer, 0, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    }
    case 'F16': {
      if (LITTLE_ENDIAN_HOST) {
        const table = halfLookup();
        const b = aligned(bytes, 2);
        const src = new Uint16Array(b.buffer, b.byteOffset, n);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = table[src[i]];
        return out;
      }
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(n);
      const o32 = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) o32[i] = dv.getUint16(i * 2, true) << 16;
      return out;
    }
    case 'I32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
      return out;
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = dv.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) onRange();
        out[i] = Number(v);
      }
      return out;
    }
  }
}

export function isFloat(dtype: StoredDtype): boolean {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || dtype === 'F64';
}

/**
 * Refuse NaN / ±Inf in float weights: such a model scores NaN for every input, which would otherwise be
 * reported as wrong answers. One pass over the data (x − x is 0 exactly for finite x), far cheaper than the
 * decode before it.
 */
export function checkFinite(data: Float32Array | Int32Array, label: string, name: string): void {
  // OpenAI's TorchScript archives carry a causal `attn_mask` buffer of -inf: a constant, never loaded as a weight.
  if (!(data instanceof Float32Array) || name === 'attn_mask' || name.endsWith('.attn_mask')) return;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (x - x !== 0) {
      throw new WeightsFormatError(label, `tensor '${name}' holds ${Number.isNaN(x) ? 'NaN' : x > 0 ? '+Inf' : '-Inf'} (element ${i}); weights must be finite`);
    }
  }
}
