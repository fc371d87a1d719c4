import { expect } from 'chai';
import { Jimp } from 'jimp';
import { barChart, linePlots, xPositions } from '../../../src/eval/plots/charts';
import { alignmentHeatmap } from '../../../src/eval/plots/heatmap';
import { asciiText, niceTicks, Raster, stack, viridis } from '../../../src/eval/plots/raster';

/** Distinct colours in a PNG (a blank or one-colour picture would mean nothing was drawn). */
async function colours(png: Buffer): Promise<{ w: number; h: number; n: number; has: (rgb: number[]) => boolean }> {
  const img = await Jimp.read(png);
  const set = new Set<number>();
  const d = img.bitmap.data;
  for (let i = 0; i < d.length; i += 4) set.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  return { w: img.bitmap.width, h: img.bitmap.height, n: set.size, has: ([r, g, b]) => set.has((r << 16) | (g << 8) | b) };
}

describe('eval/plots (jimp only)', () => {
  it('bar chart: a PNG with the series colours and text', async () => {
    const r = await barChart({
      title: 'toy',
      yLabel: 'accuracy',
      groups: ['swap-att\nseen', 'swap-att\nunseen'],
      series: [
        { name: 'clip', values: [0.773, 0.73] },
        { name: 'abe', values: [0.8, NaN] },
      ],
      yRange: [0, 1],
    });
    const c = await colours(await r.png());
    expect(c.w).to.be.greaterThan(300);
    expect(c.has([0, 114, 178])).to.equal(true); // first series colour
    expect(c.has([230, 159, 0])).to.equal(true);
    expect(c.n).to.be.greaterThan(20); // anti-aliased text present
  });
  it('line plots: one panel per option, wrapped rows', async () => {
    const panel = {
      title: 't',
      xLabel: 'lambda',
      yLabel: 'acc',
      x: ['0', '1'],
      series: [
        { name: 'a', values: [0.5, 0.7] },
        { name: 'b', values: [0.6, 0.6], dashed: true },
      ],
    };
    const r = await linePlots('sweep', [panel, panel, panel, panel], 3);
    expect(r.width).to.be.greaterThan(3 * 300);
    expect(r.height).to.be.greaterThan(2 * 220);
  });
  it('heatmap: the plain image first, then per group a brightness map that darkens but never tints (hue kept exactly), a black-and-white outline, numbered regions', async () => {
    const RED = [220, 40, 40];
    const img = new Jimp({ width: 64, height: 64, color: 0xdc2828ff });
    const r = await alignmentHeatmap({
      title: 'a red cube',
      image: img as never,
      gridH: 8,
      gridW: 8,
      regions: [Uint8Array.from({ length: 64 }, (_, j) => (j >= 60 ? 1 : 0))],
      groups: [{ label: 'red cube', delta: 0.01, simP: Array.from({ length: 64 }, (_, j) => j), chosen: [0, 1] }],
    });
    const png = await r.png();
    const c = await colours(png);
    expect(c.has(RED), 'the plain panel and the highest patch keep the image colour').to.equal(true);
    expect(c.has([0, 0, 0]) && c.has([255, 255, 255]), 'black and white outline').to.equal(true);
    const im = await Jimp.read(png);
    // Panel 1 starts at x = 16 + 224 + 16, y = 40 (no subtitle); cells are 28 px. Sample the centre of every cell
    // that no outline or label touches: its colour is the image colour scaled toward black (same channel ratios).
    let checked = 0;
    for (let gy = 1; gy < 7; gy++)
      for (let gx = 1; gx < 7; gx++) {
        const x = 256 + gx * 28 + 14,
          y = 40 + gy * 28 + 14;
        const k = (y * im.bitmap.width + x) * 4,
          [R, G, B] = [im.bitmap.data[k], im.bitmap.data[k + 1], im.bitmap.data[k + 2]];
        expect(R, `cell ${gx},${gy}`).to.be.greaterThan(0);
        expect(Math.abs(G / R - 40 / 220), `cell ${gx},${gy} hue`).to.be.below(0.03);
        expect(Math.abs(B / R - 40 / 220), `cell ${gx},${gy} hue`).to.be.below(0.03);
        checked++;
      }
    expect(checked).to.equal(36);
  });
  it('helpers: viridis ends, nice ticks, ASCII fallbacks, stacking', () => {
    expect(viridis(0)).to.deep.equal([68, 1, 84]);
    expect(viridis(1)).to.deep.equal([253, 231, 37]);
    expect(niceTicks(0, 1)).to.deep.equal([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.7, 0.78)).to.deep.equal([0.7, 0.72, 0.74, 0.76, 0.78]);
    expect(asciiText('Δ=0.1 λ×2')).to.equal('delta=0.1 lambdax2');
    expect(stack([new Raster(10, 5), new Raster(20, 5)], 2)).to.include({ width: 20, height: 12 });
  });
  it('line plot x axis: numeric values placed by value (0, 0.25, 1 → gaps 1:3), categories evenly', () => {
    const box = { x: 100, y: 0, w: 240, h: 100 }; // drawable 200 px between 20 px margins: x = 120 … 320
    const num = xPositions({ x: ['0', '0.25', '1'], xValues: [0, 0.25, 1] }, box);
    expect([0, 1, 2].map(num)).to.deep.equal([120, 170, 320]);
    const cat = xPositions({ x: ['0', '0.25', '1'] }, box);
    expect([0, 1, 2].map(cat)).to.deep.equal([120, 220, 320]);
    const one = xPositions({ x: ['2'], xValues: [2] }, box);
    expect(one(0)).to.equal(220);
  });
});
