/** Worker side of driver.ts: runs the planned targets one after another and posts each report. */
import { parentPort, workerData } from 'worker_threads';
import '../helpers/quiet'; // a worker has its own tfjs, and with it the cpu backend's banner
import { setLimits } from '../../src/limits';
import { runTarget } from './harness';
import type { WorkerPlan } from './driver';
import { TARGETS } from './targets';

async function main(): Promise<void> {
  const plan = workerData as WorkerPlan;
  const hb = new Int32Array(plan.heartbeat);
  if (plan.limits) setLimits(plan.limits);
  for (const { name, cases, from } of plan.targets) {
    const t = TARGETS[name];
    Atomics.store(
      hb,
      2,
      plan.targets.findIndex((x) => x.name === name),
    );
    Atomics.store(hb, 3, 2 * (t.perCaseMs ?? plan.perCaseMs));
    Atomics.store(hb, 0, -1);
    Atomics.store(hb, 1, Date.now() - plan.clockBase);
    const report = await runTarget(t, {
      seed: plan.seed,
      cases,
      perCaseMs: plan.perCaseMs,
      budgetMs: plan.budgetMs,
      rssBoundMB: plan.rssBoundMB,
      heartbeat: hb,
      clockBase: plan.clockBase,
      from,
      progress: (r) => parentPort!.postMessage({ type: 'progress', report: r }),
    });
    parentPort!.postMessage({ type: 'report', report });
  }
  parentPort!.postMessage({ type: 'done' });
}

main().catch((e) => parentPort!.postMessage({ type: 'fatal', message: String(e?.stack ?? e) }));
