import { expect } from 'chai';
import { UsageError } from '../../src/errors';
import { ablationPanels, ablationRows, gridPoints, parseGrid, pointLabel } from '../../src/eval/ablate';
import { summarise } from '../../src/eval/report';
import type { RunResult } from '../../src/eval/runner';

describe('eval/ablate', () => {
  it('parses OPTION=values words, typed by the option defaults', () => {
    const axes = parseGrid(['lambda=0,0.5,1,2', 'topK=1,2,4', 'refine=none,contextual,isolated', 'patchLayer=-1,-2']);
    expect(axes).to.deep.equal([
      { key: 'lambda', values: [0, 0.5, 1, 2] }, { key: 'topK', values: [1, 2, 4] },
      { key: 'refine', values: ['none', 'contextual', 'isolated'] }, { key: 'patchLayer', values: [-1, -2] },
    ]);
    const pts = gridPoints(axes);
    expect(pts).to.have.length(72);
    expect(pointLabel(pts[0])).to.equal('lambda=0 topK=1 refine=none patchLayer=-1');
  });
  it('unknown options, bad numbers and empty grids are usage errors', () => {
    expect(() => parseGrid(['lamda=0,1'])).to.throw(UsageError, /unknown option 'lamda'/);
    expect(() => parseGrid(['topK=1,two'])).to.throw(UsageError, /topK needs numbers, got 'two'/);
    expect(() => parseGrid(['topK'])).to.throw(UsageError, /expected OPTION=v1,v2/);
    expect(() => parseGrid(['topK=1', 'topK=2'])).to.throw(UsageError, /given twice/);
    expect(() => parseGrid([])).to.throw(UsageError, /is empty/);
  });
  it('rows per grid point and per-option panels (mean over the other options)', () => {
    const axes = parseGrid(['lambda=0,1', 'topK=1,2']);
    const pts = gridPoints(axes);
    const labels = pts.map(pointLabel);
    const mk = (id: string, kind: string) => ({ id, kind, split: 'all', image: id, positive: 'p', negative: 'n' });
    // Point k gets items right iff k ≥ item index: accuracies 1/4, 2/4, 3/4, 4/4 over 4 items.
    const items = [mk('a', 'x'), mk('b', 'x'), mk('c', 'y'), mk('d', 'y')];
    const run: RunResult = {
      configs: ['clip', ...labels], missing: [], failed: [], seconds: 0,
      scored: items.map((item, i) => ({
        item,
        scores: Object.fromEntries([['clip', [0, 1]], ...labels.map((l, k) => [l, k >= i ? [1, 0] : [0, 1]])]) as Record<string, [number, number]>,
      })),
    };
    const table = ablationRows(summarise(run, { halvings: 5 }), pts);
    expect(table.cells).to.deep.equal(['x', 'y', 'all']);
    expect(table.rows.map((r) => r.overall)).to.deep.equal([0.25, 0.5, 0.75, 1]);
    expect(table.baseline.all).to.equal(0);
    const panels = ablationPanels(axes, table, 'clip');
    expect(panels.map((p) => p.title)).to.deep.equal(['accuracy vs lambda', 'accuracy vs topK']);
    // lambda=0 → points 0,1 (0.25, 0.5) → mean 0.375; lambda=1 → points 2,3 → 0.875.
    expect(panels[0].series.find((s) => s.name === 'all')!.values).to.deep.equal([0.375, 0.875]);
    expect(panels[0].series.find((s) => s.name === 'clip (all)')!.dashed).to.equal(true);
  });
});
