/**
 * The three pixel stages of a JPEG decoder, bit-exact with libjpeg-turbo's defaults as Pillow uses them
 * (JDCT_ISLOW integer IDCT, "fancy" triangle-filter chroma upsampling, fixed-point YCbCr→RGB). jpeg-js
 * (jimp's decoder) replicates chroma samples instead, which differs from Pillow by up to 65 levels at
 * colour edges; matching these stages exactly is what makes our pixel_values agree with the reference.
 */

const CONST_BITS = 13;
const PASS1_BITS = 2;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/** libjpeg's post-IDCT range limit: index (x & 1023) → clamp(x + 128), wrapping like the C table does. */
const IDCT_LIMIT = (() => {
  const t = new Uint8Array(1024);
  for (let i = 0; i < 1024; i++) {
    if (i < 128) t[i] = i + 128;
    else if (i < 512) t[i] = 255;
    else if (i < 896) t[i] = 0;
    else t[i] = i - 896;
  }
  return t;
})();

const ws = new Int32Array(64);

/**
 * jpeg_idct_islow: dequantise `coef` (natural order) with `q` and write the 8×8 block to `out` at `off`
 * with row stride `stride`.
 */
export function idctIslow(coef: Int16Array, cOff: number, q: Uint16Array, out: Uint8Array, off: number, stride: number): void {
  // Pass 1: columns → workspace, scaled up by 2^PASS1_BITS.
  for (let c = 0; c < 8; c++) {
    const i = cOff + c;
    if (
      coef[i + 8] === 0 &&
      coef[i + 16] === 0 &&
      coef[i + 24] === 0 &&
      coef[i + 32] === 0 &&
      coef[i + 40] === 0 &&
      coef[i + 48] === 0 &&
      coef[i + 56] === 0
    ) {
      const dc = (coef[i] * q[c]) << PASS1_BITS;
      for (let r = 0; r < 64; r += 8) ws[c + r] = dc;
      continue;
    }
    let z2 = coef[i + 16] * q[c + 16];
    let z3 = coef[i + 48] * q[c + 48];
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    z2 = coef[i] * q[c];
    z3 = coef[i + 32] * q[c + 32];
    let tmp0 = (z2 + z3) << CONST_BITS;
    let tmp1 = (z2 - z3) << CONST_BITS;
    const tmp10 = tmp0 + tmp3,
      tmp13 = tmp0 - tmp3,
      tmp11 = tmp1 + tmp2,
      tmp12 = tmp1 - tmp2;

    tmp0 = coef[i + 56] * q[c + 56];
    tmp1 = coef[i + 40] * q[c + 40];
    tmp2 = coef[i + 24] * q[c + 24];
    tmp3 = coef[i + 8] * q[c + 8];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;
    tmp0 *= FIX_0_298631336;
    tmp1 *= FIX_2_053119869;
    tmp2 *= FIX_3_072711026;
    tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223;
    z2 *= -FIX_2_562915447;
    z3 *= -FIX_1_961570560;
    z4 *= -FIX_0_390180644;
    z3 += z5;
    z4 += z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;

    const S = CONST_BITS - PASS1_BITS,
      H = 1 << (S - 1);
    ws[c] = (tmp10 + tmp3 + H) >> S;
    ws[c + 56] = (tmp10 - tmp3 + H) >> S;
    ws[c + 8] = (tmp11 + tmp2 + H) >> S;
    ws[c + 48] = (tmp11 - tmp2 + H) >> S;
    ws[c + 16] = (tmp12 + tmp1 + H) >> S;
    ws[c + 40] = (tmp12 - tmp1 + H) >> S;
    ws[c + 24] = (tmp13 + tmp0 + H) >> S;
    ws[c + 32] = (tmp13 - tmp0 + H) >> S;
  }
  // Pass 2: rows → samples, descaled by 8 and 2^PASS1_BITS, then range-limited.
  const S = CONST_BITS + PASS1_BITS + 3,
    H = 1 << (S - 1);
  for (let r = 0; r < 64; r += 8) {
    const o = off + (r >> 3) * stride;
    if (ws[r + 1] === 0 && ws[r + 2] === 0 && ws[r + 3] === 0 && ws[r + 4] === 0 && ws[r + 5] === 0 && ws[r + 6] === 0 && ws[r + 7] === 0) {
      const v = IDCT_LIMIT[((ws[r] + (1 << (PASS1_BITS + 2))) >> (PASS1_BITS + 3)) & 1023];
      for (let k = 0; k < 8; k++) out[o + k] = v;
      continue;
    }
    let z2 = ws[r + 2],
      z3 = ws[r + 6];
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    let tmp0 = (ws[r] + ws[r + 4]) << CONST_BITS;
    let tmp1 = (ws[r] - ws[r + 4]) << CONST_BITS;
    const tmp10 = tmp0 + tmp3,
      tmp13 = tmp0 - tmp3,
      tmp11 = tmp1 + tmp2,
      tmp12 = tmp1 - tmp2;

    tmp0 = ws[r + 7];
    tmp1 = ws[r + 5];
    tmp2 = ws[r + 3];
    tmp3 = ws[r + 1];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;
    tmp0 *= FIX_0_298631336;
    tmp1 *= FIX_2_053119869;
    tmp2 *= FIX_3_072711026;
    tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223;
    z2 *= -FIX_2_562915447;
    z3 *= -FIX_1_961570560;
    z4 *= -FIX_0_390180644;
    z3 += z5;
    z4 += z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;

    out[o] = IDCT_LIMIT[((tmp10 + tmp3 + H) >> S) & 1023];
    out[o + 7] = IDCT_LIMIT[((tmp10 - tmp3 + H) >> S) & 1023];
    out[o + 1] = IDCT_LIMIT[((tmp11 + tmp2 + H) >> S) & 1023];
    out[o + 6] = IDCT_LIMIT[((tmp11 - tmp2 + H) >> S) & 1023];
    out[o + 2] = IDCT_LIMIT[((tmp12 + tmp1 + H) >> S) & 1023];
    out[o + 5] = IDCT_LIMIT[((tmp12 - tmp1 + H) >> S) & 1023];
    out[o + 3] = IDCT_LIMIT[((tmp13 + tmp0 + H) >> S) & 1023];
    out[o + 4] = IDCT_LIMIT[((tmp13 - tmp0 + H) >> S) & 1023];
  }
}

/**
 * A decoded component plane: `stride` ≥ `width` columns (the block padding is real IDCT output, as in
 * libjpeg's buffers), `width`×`height` = libjpeg's downsampled_width/height.
 */
export interface Plane {
  data: Uint8Array;
  stride: number;
  width: number;
  height: number;
}

/**
 * Upsample a plane by integer factors (hf, vf) to outW×outH. 2×1, 1×2 and 2×2 use libjpeg-turbo's fancy
 * (triangle) filters with their alternating rounding biases; other factors replicate (int_upsample).
 */
export function upsample(p: Plane, hf: number, vf: number, outW: number, outH: number): Uint8Array {
  const out = new Uint8Array(outW * outH);
  const { data, stride, width, height } = p;
  if (hf === 1 && vf === 1) {
    for (let y = 0; y < outH; y++) out.set(data.subarray(y * stride, y * stride + outW), y * outW);
    return out;
  }
  // jinit_upsampler: the 2h filters need downsampled_width > 2; 1h2v is always fancy.
  const fancy = (hf === 1 && vf === 2) || (hf === 2 && (vf === 1 || vf === 2) && width > 2);
  const row = new Uint8Array(hf * Math.max(width, 2) + 2);
  if (fancy && vf === 1) {
    // h2v1
    for (let y = 0; y < outH; y++) {
      const s = y * stride;
      h2v1Row(data, s, width, row);
      out.set(row.subarray(0, outW), y * outW);
    }
    return out;
  }
  if (fancy && hf === 1) {
    // h1v2
    for (let y = 0; y < outH; y++) {
      const iy = y >> 1;
      const ny = y & 1 ? Math.min(iy + 1, height - 1) : Math.max(iy - 1, 0);
      const bias = y & 1 ? 2 : 1;
      const a = iy * stride,
        b = ny * stride,
        o = y * outW;
      for (let x = 0; x < outW; x++) out[o + x] = (data[a + x] * 3 + data[b + x] + bias) >> 2;
    }
    return out;
  }
  if (fancy) {
    // h2v2
    for (let y = 0; y < outH; y++) {
      const iy = y >> 1;
      const ny = y & 1 ? Math.min(iy + 1, height - 1) : Math.max(iy - 1, 0);
      const a = iy * stride,
        b = ny * stride,
        o = y * outW;
      let thiscol = data[a] * 3 + data[b];
      let nextcol = data[a + 1] * 3 + data[b + 1];
      row[0] = (thiscol * 4 + 8) >> 4;
      row[1] = (thiscol * 3 + nextcol + 7) >> 4;
      let lastcol = thiscol;
      thiscol = nextcol;
      let k = 2;
      for (let x = 2; x < width; x++) {
        nextcol = data[a + x] * 3 + data[b + x];
        row[k++] = (thiscol * 3 + lastcol + 8) >> 4;
        row[k++] = (thiscol * 3 + nextcol + 7) >> 4;
        lastcol = thiscol;
        thiscol = nextcol;
      }
      row[k++] = (thiscol * 3 + lastcol + 8) >> 4;
      row[k++] = (thiscol * 4 + 7) >> 4;
      out.set(row.subarray(0, outW), o);
    }
    return out;
  }
  // int_upsample: plain replication (also libjpeg's fallback for a 1-sample-wide component).
  for (let y = 0; y < outH; y++) {
    const s = Math.min(Math.floor(y / vf), height - 1) * stride,
      o = y * outW;
    for (let x = 0; x < outW; x++) out[o + x] = data[s + Math.floor(x / hf)];
  }
  return out;
}

function h2v1Row(data: Uint8Array, s: number, width: number, row: Uint8Array): void {
  let v = data[s];
  row[0] = v;
  row[1] = (v * 3 + data[s + 1] + 2) >> 2;
  let k = 2;
  for (let x = 1; x < width - 1; x++) {
    v = data[s + x] * 3;
    row[k++] = (v + data[s + x - 1] + 1) >> 2;
    row[k++] = (v + data[s + x + 1] + 2) >> 2;
  }
  v = data[s + width - 1];
  row[k++] = (v * 3 + data[s + width - 2] + 1) >> 2;
  row[k++] = v;
}

const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const FIX = (x: number) => Math.floor(x * (1 << SCALEBITS) + 0.5);
const CR_R = new Int32Array(256),
  CB_B = new Int32Array(256),
  CR_G = new Int32Array(256),
  CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (FIX(1.402) * x + ONE_HALF) >> SCALEBITS;
  CB_B[i] = (FIX(1.772) * x + ONE_HALF) >> SCALEBITS;
  CR_G[i] = -FIX(0.71414) * x;
  CB_G[i] = -FIX(0.34414) * x + ONE_HALF;
}

/** jdcolor.c ycc_rgb_convert into interleaved RGB. */
export function yccToRgb(Y: Uint8Array, Cb: Uint8Array, Cr: Uint8Array, out: Uint8Array): void {
  for (let i = 0, o = 0; i < Y.length; i++, o += 3) {
    const y = Y[i],
      cb = Cb[i],
      cr = Cr[i];
    const r = y + CR_R[cr],
      g = y + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS),
      b = y + CB_B[cb];
    out[o] = r < 0 ? 0 : r > 255 ? 255 : r;
    out[o + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
    out[o + 2] = b < 0 ? 0 : b > 255 ? 255 : b;
  }
}
