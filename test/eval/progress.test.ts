import { expect } from 'chai';
import { formatDuration, Progress } from '../../src/eval/progress';

describe('eval/progress', () => {
  it('formats durations as m:ss or h:mm:ss', () => {
    expect(formatDuration(5)).to.equal('0:05');
    expect(formatDuration(125)).to.equal('2:05');
    expect(formatDuration(3725)).to.equal('1:02:05');
    expect(formatDuration(NaN)).to.equal('--:--');
  });
  it('TTY: redraws one line with a bar, rate and ETA', () => {
    let t = 0;
    const out: string[] = [];
    const p = new Progress('eval', 100, 'items', { isTTY: true, columns: 100, write: (s: string) => out.push(s) }, () => t);
    t = 10_000;
    p.tick(50);
    expect(out[0]).to.match(/^\reval \[#+\.+\]  50%  50\/100 items  5\.0 items\/s  ETA 0:10$/);
    t = 20_000;
    p.tick(50);
    p.finish();
    expect(out[out.length - 1]).to.match(/100%  100\/100 items  5\.0 items\/s  in 0:20\x1b\[K\n$/);
  });
  it('not a TTY: about one plain line per 10%, then a final line', () => {
    const out: string[] = [];
    const p = new Progress('eval', 100, 'items', { isTTY: false, write: (s: string) => out.push(s) });
    for (let i = 0; i < 100; i++) p.tick();
    p.finish();
    expect(out.length).to.be.within(10, 12);
    expect(out.every((l) => !l.includes('\r') && !l.includes('['))).to.equal(true);
    expect(out[out.length - 1]).to.match(/^eval: 100%  100\/100 items/);
  });
});
