/**
 * Replay fuzz cases in this process and print what happened:
 *   npx ts-node --transpile-only test/fuzz/repro.ts <target> <seed> <case> [<last case>]
 * Runs under the same limits as the fuzz worker (FUZZ_LIMITS).
 */
import { setLimits } from '../../src/limits';
import { formatReport, formatViolation, runTarget } from './harness';
import { FUZZ_LIMITS } from './plan';
import { TARGETS } from './targets';

async function main(): Promise<void> {
  const [name, seedArg, caseArg, lastArg] = process.argv.slice(2);
  const t = TARGETS[name];
  if (!t || seedArg === undefined || caseArg === undefined) {
    console.error(`usage: repro.ts <target> <seed> <case> [<last case>]\ntargets: ${Object.keys(TARGETS).join(', ')}`);
    process.exit(2);
  }
  setLimits(FUZZ_LIMITS);
  const first = Number(caseArg),
    last = lastArg === undefined ? first : Number(lastArg);
  for (let i = first; i <= last; i++) {
    const rep = await runTarget(t, { seed: Number(seedArg), cases: i + 1, only: i, perCaseMs: 2000, budgetMs: 1e9, rssBoundMB: 1e9 });
    console.log(formatReport(rep));
    for (const v of rep.violations) console.log(formatViolation(v));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
