/**
 * Run fuzz targets from the command line through the worker driver (same path as the tests):
 *   npx ts-node --transpile-only test/fuzz/run.ts [--cases N] [--seed S] [target…]
 * Prints one line per target and every violation with its replay command; exits 1 on any violation.
 */
import { runPlan } from './driver';
import { formatReport, formatViolation } from './harness';
import { FUZZ_LIMITS, FUZZ_SEED } from './plan';
import { TARGETS } from './targets';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let cases = 200,
    seed = FUZZ_SEED;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--cases') cases = Number(args[++i]);
    else if (args[i] === '--seed') seed = Number(args[++i]);
    else names.push(args[i]);
  }
  const targets = (names.length ? names : Object.keys(TARGETS).filter((n) => !n.startsWith('_'))).map((name) => {
    if (!TARGETS[name]) throw new Error(`unknown target ${name} (known: ${Object.keys(TARGETS).join(', ')})`);
    return { name, cases: TARGETS[name].fixedCases ?? Math.max(1, Math.round(cases * (TARGETS[name].weight ?? 1))) };
  });
  const t0 = Date.now();
  const reports = await runPlan({ seed, targets, limits: FUZZ_LIMITS, onReport: (r) => console.log(formatReport(r)) });
  const total = reports.reduce((s, r) => s + r.cases, 0);
  const violations = reports.flatMap((r) => r.violations);
  console.log(`total ${total} cases in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${violations.length} violations`);
  for (const v of violations.slice(0, 50)) console.log(formatViolation(v));
  process.exit(violations.length ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
