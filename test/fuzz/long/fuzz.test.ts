/**
 * Long fuzz run (`npm run fuzz`, not part of `npm test`): ≥ 20,000 cases over every target within 10 minutes,
 * zero violations. Prints the per-target figures (cases, time, typed-error mix, RSS, tensors).
 */
import { expect } from 'chai';
import { runPlan } from '../driver';
import { formatReport, formatViolation, TargetReport } from '../harness';
import { FUZZ_LIMITS, FUZZ_SEED, LONG_PLAN } from '../plan';

describe(`fuzz, long form (seed ${FUZZ_SEED}; ≥ 20,000 cases in ≤ 10 min; zero violations)`, function () {
  this.timeout(20 * 60_000);
  let reports: TargetReport[] = [];
  let seconds = 0;
  before(async () => {
    const t0 = Date.now();
    reports = await runPlan({
      seed: FUZZ_SEED,
      targets: LONG_PLAN,
      limits: FUZZ_LIMITS,
      onReport: (r) => console.log(`      ${formatReport(r)}`),
    });
    seconds = (Date.now() - t0) / 1000;
    const total = reports.reduce((s, r) => s + r.cases, 0);
    console.log(
      `      total ${total} cases in ${seconds.toFixed(1)} s, ${reports.reduce((s, r) => s + r.violations.length, 0)} violations`,
    );
  });
  it('runs ≥ 20,000 cases within 10 minutes', () => {
    const total = reports.reduce((s, r) => s + r.cases, 0);
    expect(total).to.be.at.least(20_000);
    expect(seconds).to.be.at.most(600);
  });
  for (const { name } of LONG_PLAN) {
    it(`${name}: every planned case ran, no violations`, () => {
      const r = reports.find((x) => x.target === name);
      expect(r, `no report for ${name}`).to.not.equal(undefined);
      expect(r!.violations.map(formatViolation), formatReport(r!)).to.deep.equal([]);
      expect(r!.cases, 'cases run (time budget hit?)').to.equal(r!.asked);
    });
  }
});
