/**
 * Runs fuzz targets in a worker thread and watches it, so that a real hang (a synchronous loop that never
 * ends) or a crash of the thread becomes a reported violation instead of a stuck test run: the worker
 * writes the case it is on into shared memory; a case that does not finish within `hangMs` gets the worker
 * terminated (V8 stops even a tight loop), the violation recorded, and a fresh worker started for the
 * targets that remain.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { Limits } from '../../src/limits';
import { DEFAULT_RSS_BOUND_MB, emptyReport, mergeReports, TargetReport, Violation } from './harness';

export interface Plan {
  seed: number;
  targets: { name: string; cases: number }[];
  /** A measured case slower than this is a violation (default 2000 ms). */
  perCaseMs?: number;
  /** A case that has not finished after this long is a hang: the worker is terminated (default 5 s, at least 2× the target's per-case limit). */
  hangMs?: number;
  /** Per-target time budget (default 10 min). */
  budgetMs?: number;
  rssBoundMB?: number;
  /** Limits set in the worker before any target runs. */
  limits?: Partial<Limits>;
  /** Called with each report as it arrives (progress printing). */
  onReport?: (r: TargetReport) => void;
}

export interface WorkerPlan {
  seed: number;
  /** `from`: first case index (resuming after a case that hung or crashed a worker). */
  targets: { name: string; cases: number; from?: number }[];
  perCaseMs: number;
  budgetMs: number;
  rssBoundMB: number;
  limits?: Partial<Limits>;
  heartbeat: SharedArrayBuffer;
  clockBase: number;
}

/** Setup (seed generation, model loading) may take this long before a target counts as hung. */
const SETUP_HANG_MS = 180_000;

const WORKER_SOURCE = `
require('ts-node').register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
require(${JSON.stringify(path.join(__dirname, 'worker.ts'))});
`;

/** The part of a target that ran before its worker died: cases before `upTo` counted, mix unknown. */
function partialReport(name: string, seed: number, asked: number, from: number, upTo: number, v: Violation): TargetReport {
  return { ...emptyReport(name, seed, asked), cases: Math.max(0, upTo - from) + (v.index >= 0 ? 1 : 0), violations: [v] };
}

/** Run every target of the plan; returns one report per target, in plan order. */
export async function runPlan(plan: Plan): Promise<TargetReport[]> {
  const perCaseMs = plan.perCaseMs ?? 2000;
  const hangMs = plan.hangMs ?? 5_000;
  const reports = new Map<string, TargetReport>();
  const add = (r: TargetReport) => {
    const prev = reports.get(r.target);
    reports.set(r.target, prev ? mergeReports(prev, r) : r);
  };
  let remaining: WorkerPlan['targets'] = plan.targets.slice();
  while (remaining.length) {
    const hbBuf = new SharedArrayBuffer(16);
    const hb = new Int32Array(hbBuf);
    const clockBase = Date.now();
    Atomics.store(hb, 0, -1);
    Atomics.store(hb, 1, 0);
    const wp: WorkerPlan = {
      seed: plan.seed,
      targets: remaining,
      perCaseMs,
      budgetMs: plan.budgetMs ?? 600_000,
      rssBoundMB: plan.rssBoundMB ?? DEFAULT_RSS_BOUND_MB,
      limits: plan.limits,
      heartbeat: hbBuf,
      clockBase,
    };
    const done = new Set<string>();
    let progress: TargetReport | undefined;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: wp });
    const stopped = await new Promise<{ at?: number; v?: Violation }>((resolve) => {
      let settled = false;
      const finish = (x: { at?: number; v?: Violation }) => {
        if (settled) return;
        settled = true;
        clearInterval(timer);
        resolve(x);
      };
      const stop = (kind: 'crash' | 'hang', message: string) => {
        const at = Atomics.load(hb, 2);
        const name = remaining[at]?.name ?? remaining[0].name;
        finish({ at, v: { target: name, seed: plan.seed, index: Atomics.load(hb, 0), kind, message } });
      };
      worker.on('message', (m: { type: string; report?: TargetReport; message?: string }) => {
        if (m.type === 'progress' && m.report) {
          progress = m.report;
        } else if (m.type === 'report' && m.report) {
          progress = undefined;
          done.add(m.report.target);
          add(m.report);
          plan.onReport?.(reports.get(m.report.target)!);
        } else if (m.type === 'done') {
          finish({});
        } else if (m.type === 'fatal') {
          stop('crash', `worker failed: ${m.message}`);
        }
      });
      worker.on('error', (e) => stop('crash', `uncaught in worker: ${e?.stack ?? e}`));
      worker.on('exit', (code) => stop('crash', `worker exited with code ${code} before finishing`));
      const timer = setInterval(() => {
        const index = Atomics.load(hb, 0);
        const since = Date.now() - clockBase - Atomics.load(hb, 1);
        const limit = index < 0 ? SETUP_HANG_MS : Math.max(hangMs, Atomics.load(hb, 3));
        if (since > limit) stop('hang', `no progress for ${since} ms (limit ${limit} ms); worker terminated`);
      }, 250);
    });
    await worker.terminate();
    if (!stopped.v) break;
    // Record the dead case, then resume the same target after it (setup failures skip the target).
    const cur = remaining[stopped.at!] ?? remaining[0];
    const v = stopped.v;
    const from = cur.from ?? 0;
    const part = partialReport(cur.name, plan.seed, cur.cases, from, Math.max(from, v.index), v);
    add(progress && progress.target === cur.name ? { ...progress, cases: part.cases, violations: [...progress.violations, v] } : part);
    const next = v.index >= 0 && v.index + 1 < cur.cases ? [{ ...cur, from: v.index + 1 }] : [];
    if (!next.length) plan.onReport?.(reports.get(cur.name)!);
    remaining = [...next, ...remaining.filter((x) => !done.has(x.name) && x.name !== cur.name)];
  }
  return plan.targets.map((x) => reports.get(x.name)!).filter(Boolean);
}
