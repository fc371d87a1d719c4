import { expect } from 'chai';
import { modelWorkers } from '../../src/cli/setup';

describe('cli/setup modelWorkers (model workers a scoring command starts for N cores)', () => {
  it('a CPU backend gets one worker per core; one core (or less) is the in-process scorer', () => {
    expect(modelWorkers(2, { gpu: false })).to.equal(2);
    expect(modelWorkers(16, undefined)).to.equal(16);
    expect(modelWorkers(1, { gpu: false })).to.equal(1);
    expect(modelWorkers(0, { gpu: false })).to.equal(1);
  });
  it('a GPU backend scores in-process whatever the core count (no model per core on one device)', () => {
    expect(modelWorkers(16, { gpu: true })).to.equal(1);
    expect(modelWorkers(1, { gpu: true })).to.equal(1);
  });
});
