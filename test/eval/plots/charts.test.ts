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
      title: 'toy', yLabel: 'accuracy', groups: ['swap-att\nseen', 'swap-att\nunseen'],
      series: [{ name: 'clip', values: [0.773, 0.73] }, { name: 'abe', values: [0.8, NaN] }], yRange: [0, 1],
    });
    const c = await colours(await r.png());
    expect(c.w).to.be.greaterThan(300);
    expect(c.has([0, 114, 178])).to.equal(true); // first series colour
    expect(c.has([230, 159, 0])).to.equal(true);
    expect(c.n).to.be.greaterThan(20); // anti-aliased text present
  });
  it('line plots: one panel per option, wrapped rows', async () => {
    const panel = { title: 't', xLabel: 'lambda', yLabel: 'acc', x: ['0', '1'], series: [{ name: 'a', values: [0.5, 0.7] }, { name: 'b', values: [0.6, 0.6], dashed: true }] };
    const r = await linePlots('sweep', [panel, panel, panel, panel], 3);
    expect(r.width).to.be.greaterThan(3 * 300);
    expect(r.height).to.be.greaterThan(2 * 220);
  });
  it('heatmap: image, overlay and outline of the chosen patches', async () => {
    const img = new Jimp({ width: 64, height: 64, color: 0x202020ff });
    const r = await alignmentHeatmap({
      title: 'a red cube', image: img as never, gridH: 8, gridW: 8,
      groups: [{ label: 'red cube', delta: 0.01, simP: Array.from({ length: 64 }, (_, j) => j), chosen: [0, 1] }],
    });
    const c = await colours(await r.png());
    expect(c.has([255, 40, 40])).to.equal(true);
    expect(c.n).to.be.greaterThan(30);
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
