import { expect } from 'chai';
import { bicubicCoeffs, resizeBicubic, resizeNearest } from '../../src/image/resize';
import { noise } from './make';

describe('image/resize: Pillow resampling invariants', () => {
  it('fixed-point taps of every output sum to 2^22 within rounding (normalised filter), support widens when shrinking', () => {
    for (const [inS, outS] of [
      [300, 96],
      [37, 64],
      [500, 64],
      [640, 298],
    ]) {
      const c = bicubicCoeffs(inS, outS);
      for (let i = 0; i < outS; i++) {
        let s = 0;
        for (let x = 0; x < c.bounds[2 * i + 1]; x++) s += c.k[i * c.ksize + x];
        expect(Math.abs(s - (1 << 22)), `${inS}->${outS} #${i}`).to.be.at.most(c.ksize);
      }
      expect(c.ksize).to.equal(Math.ceil(2 * Math.max(inS / outS, 1)) * 2 + 1);
    }
  });

  it('a constant image stays exactly constant (any size, 1–4 channels)', () => {
    for (const ch of [1, 2, 3, 4] as const) {
      const data = new Uint8Array(50 * 31 * ch).fill(173);
      if (ch === 2 || ch === 4) for (let i = ch - 1; i < data.length; i += ch) data[i] = 255;
      const r = resizeBicubic({ width: 50, height: 31, channels: ch, data }, 17, 90);
      expect(r.data.every((v) => v === 173 || v === 255)).to.equal(true);
    }
  });

  it('same size is a copy (Pillow skips resampling), not a filtered image', () => {
    const data = noise(20 * 10 * 3);
    const r = resizeBicubic({ width: 20, height: 10, channels: 3, data }, 20, 10);
    expect(Buffer.from(r.data).equals(Buffer.from(data))).to.equal(true);
    expect(r.data).to.not.equal(data);
  });

  it('fully transparent areas come out black in RGB (premultiplied resize, alpha dropped)', () => {
    const data = new Uint8Array(8 * 8 * 4);
    for (let i = 0; i < 64; i++) {
      data[i * 4] = 200;
      data[i * 4 + 1] = 100;
      data[i * 4 + 2] = 50;
      data[i * 4 + 3] = 0;
    }
    const r = resizeBicubic({ width: 8, height: 8, channels: 4, data }, 5, 5);
    for (let i = 0; i < 25; i++) expect(Array.from(r.data.subarray(i * 4, i * 4 + 4))).to.deep.equal([0, 0, 0, 0]);
  });

  it('a window of the result equals the same part of the full resize (bicubic and nearest)', () => {
    const src = { width: 45, height: 70, channels: 3 as const, data: noise(45 * 70 * 3, 3) };
    for (const f of [resizeBicubic, resizeNearest]) {
      const full = f(src, 64, 99);
      const win = f(src, 64, 99, { left: 5, top: 17, width: 40, height: 50 });
      for (let y = 0; y < 50; y++) {
        const a = full.data.subarray(((y + 17) * 64 + 5) * 3, ((y + 17) * 64 + 45) * 3);
        expect(Buffer.from(win.data.subarray(y * 120, (y + 1) * 120)).equals(Buffer.from(a)), `${f.name} row ${y}`).to.equal(true);
      }
    }
  });

  it('nearest picks source pixels at (i + 0.5)·scale (ImagingScaleAffine)', () => {
    const data = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const r = resizeNearest({ width: 10, height: 1, channels: 1, data }, 4, 1);
    expect(Array.from(r.data)).to.deep.equal([1, 3, 6, 8]);
  });
});
