/**
 * Quick fuzz run (part of `npm test`): every target, a fixed seed and ~80 cases per cheap target, in a
 * watched worker (driver.ts). The long run is test/fuzz/long (`npm run fuzz`). A failure prints each
 * violation with the command that replays it. The `_selftest` target breaks the property on purpose, once
 * per kind, proving that untyped errors, invalid results, leaks, slow cases and endless loops are caught.
 */
import { expect } from 'chai';
import { runPlan } from './driver';
import { formatReport, formatViolation, TargetReport } from './harness';
import { FUZZ_LIMITS, FUZZ_SEED, QUICK_PLAN } from './plan';
import { selftest, SELFTEST_EXPECTED } from './targets/selftest';

describe(`fuzz, quick form (seed ${FUZZ_SEED}; each call returns a valid result or throws a typed error; ≤ 2 s per case (10 s for model calls); numTensors unchanged; RSS growth ≤ 128 MiB)`, function () {
  this.timeout(300_000);
  const reports = new Map<string, TargetReport>();
  before(async () => {
    const targets = [...QUICK_PLAN, { name: selftest.name, cases: selftest.fixedCases! }];
    for (const r of await runPlan({ seed: FUZZ_SEED, targets, limits: FUZZ_LIMITS })) reports.set(r.target, r);
    if (process.env.FUZZ_VERBOSE) for (const r of reports.values()) console.log(formatReport(r));
  });
  it('the harness catches each kind of violation (untyped, invalid, leak, endless loop, slow) and resumes after the hang', () => {
    const r = reports.get(selftest.name)!;
    const got = Object.fromEntries(r.violations.map((v) => [v.index, v.kind]));
    expect(got).to.deep.equal(SELFTEST_EXPECTED);
    expect(r.cases).to.equal(selftest.fixedCases);
  });
  for (const { name, cases } of QUICK_PLAN) {
    it(`${name}: ${cases} cases, no violations`, () => {
      const r = reports.get(name);
      expect(r, `no report for ${name}`).to.not.equal(undefined);
      expect(r!.violations.map(formatViolation), formatReport(r!)).to.deep.equal([]);
      expect(r!.cases).to.equal(cases);
    });
  }
});
