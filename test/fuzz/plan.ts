/**
 * The fuzz plans: case counts per target for the quick form (inside `npm test`) and the long form
 * (`npm run fuzz`), and the limits the fuzz worker runs under.
 */
import type { Limits } from '../../src/limits';
import { TARGETS } from './targets';

/** Run seed (fixed, so runs are reproducible; override with FUZZ_SEED). */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20240611);

/**
 * Lowered so that a mutated header declaring a large-but-legal image (the default allows 90 MP) is refused
 * up front instead of costing seconds per case; the default limits are exercised in limits.test.ts.
 */
export const FUZZ_LIMITS: Partial<Limits> = { maxImagePixels: 1_000_000 };

function plan(base: number): { name: string; cases: number }[] {
  return Object.values(TARGETS)
    .filter((t) => !t.name.startsWith('_'))
    .map((t) => ({ name: t.name, cases: t.fixedCases ?? Math.max(1, Math.round(base * (t.weight ?? 1))) }));
}

/** Quick form: a few hundred cases per cheap target. */
export const QUICK_PLAN = plan(Number(process.env.FUZZ_QUICK_CASES ?? 80));
/** Long form: ~43,000 cases in all (the acceptance floor is 20,000 within 10 minutes). */
export const LONG_PLAN = plan(Number(process.env.FUZZ_LONG_CASES ?? 4000));
