import { expect } from 'chai';
import { UsageError } from '../../src/errors';
import { ablationCsv, ablationPanels, ablationRows, gridPoints, parseGrid, pointLabel } from '../../src/eval/ablate';
import { summarise } from '../../src/eval/report';
import type { RunResult } from '../../src/eval/runner';

describe('eval/ablate', () => {
  it('parses OPTION=values words, typed by the option defaults', () => {
    const axes = parseGrid(['lambda=0,0.5,1,2', 'topK=1,2,4', 'refine=none,contextual,isolated', 'patchLayer=-1,-2']);
    expect(axes).to.deep.equal([
      { key: 'lambda', values: [0, 0.5, 1, 2] },
      { key: 'topK', values: [1, 2, 4] },
      { key: 'refine', values: ['none', 'contextual', 'isolated'] },
      { key: 'patchLayer', values: [-1, -2] },
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
      configs: ['clip', ...labels],
      missing: [],
      failed: [],
      seconds: 0,
      scored: items.map((item, i) => ({
        item,
        scores: Object.fromEntries([['clip', [0, 1]], ...labels.map((l, k) => [l, k >= i ? [1, 0] : [0, 1]])]) as Record<
          string,
          [number, number]
        >,
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
    expect(panels[0].xValues).to.deep.equal([0, 1]);
  });

  const rowsFor = (words: string[]) => {
    const axes = parseGrid(words);
    const pts = gridPoints(axes);
    const labels = pts.map(pointLabel);
    const items = ['a', 'b', 'c'].map((id) => ({ id, kind: 'k', split: 'all', image: id, positive: 'p', negative: 'n' }));
    // Point k is right on the first k items; clip on item a only.
    const run: RunResult = {
      configs: ['clip', ...labels],
      missing: [],
      failed: [],
      seconds: 0,
      scored: items.map((item, i) => ({
        item,
        scores: Object.fromEntries([['clip', i === 0 ? [1, 0] : [0, 1]], ...labels.map((l, k) => [l, i < k ? [1, 0] : [0, 1]])]) as Record<
          string,
          [number, number]
        >,
      })),
    };
    return { axes, table: ablationRows(summarise(run, { halvings: 5 }), pts) };
  };

  it('a numeric option is plotted by value in value order (lambda=1,0,0.25 → x 0, 0.25, 1); a text option stays categorical', () => {
    const { axes, table } = rowsFor(['lambda=1,0,0.25', 'refine=none,isolated']);
    const [lam, ref] = ablationPanels(axes, table, 'clip');
    expect(lam.x).to.deep.equal(['0', '0.25', '1']);
    expect(lam.xValues).to.deep.equal([0, 0.25, 1]);
    // Points in grid order: (1,none)=0/3 (1,isolated)=1/3 (0,none)=2/3 (0,isolated)=1 (0.25,none)=1 (0.25,isolated)=1.
    const all = lam.series.find((s) => s.name === 'k')!.values;
    expect(all.map((v) => Math.round(v * 600))).to.deep.equal([500, 600, 100]); // 5/6, 1, 1/6
    expect(ref.xValues).to.equal(undefined);
    expect(ref.x).to.deep.equal(['none', 'isolated']);
  });

  it('ablation.csv: quotes only fields that need them, ends with the clip row (independently counted accuracies)', () => {
    const { axes, table } = rowsFor(['lambda=0,0.5', 'template=a photo of {}.,a {}']);
    const lines = ablationCsv(axes, table).trim().split('\n');
    expect(lines[0]).to.equal('lambda,template,acc_k,p_vs_clip');
    expect(lines[1].split(',').slice(0, 3)).to.deep.equal(['0', 'a photo of {}.', '0']);
    expect(lines[2]).to.match(/^0,a \{\},0\.3333333333333333,/);
    expect(lines[lines.length - 1]).to.equal('clip,,0.3333333333333333,');
    expect(lines).to.have.length(6);
    const quoted = ablationCsv(parseGrid(['template=a {}, b']), {
      cells: ['all'],
      baseline: { all: 0.5 },
      rows: [{ label: 'x', point: { template: 'a {}, b' }, accuracy: { all: 1 }, overall: 1, pVsBaseline: 0.5 }],
    });
    expect(quoted.split('\n')[1]).to.equal('"a {}, b",1,0.5');
  });
});
