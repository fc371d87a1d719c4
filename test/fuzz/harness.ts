/**
 * The fuzz property, checked case by case in the current thread: every call returns a valid result or throws
 * one of our typed errors (`isTypedError`). Anything else is a violation, reported with the run seed and the
 * case index so that `test/fuzz/repro.ts <target> <seed> <index>` replays exactly that input:
 *   - untyped:  an exception that is not an AbeClipError (TypeError, RangeError, a string, …)
 *   - invalid:  a result that fails the target's own validity check
 *   - slow:     a case that took longer than the per-case limit (measured; see driver.ts for real hangs)
 *   - leak:     tf.memory().numTensors differs after the case (tensor-making targets)
 *   - rss:      process RSS grew by more than the stated bound between the end of warm-up and the end
 * Hangs and crashes that stop the thread are caught by driver.ts, which runs this in a worker.
 */
import * as tf from '@tensorflow/tfjs';
import * as v8 from 'v8';
import * as vm from 'vm';
import { isTypedError } from '../../src/errors';
import { caseSeed, makeRng, Rng } from './mutate';

export interface Target<I = any, C = any> {
  // eslint-disable-line @typescript-eslint/no-explicit-any
  name: string;
  /** Seeds and shared state (a model, temp folder); once per run, not timed per case. */
  setup(): C | Promise<C>;
  /** The input of case `index`, from its own PRNG. */
  generate(r: Rng, ctx: C, index: number): I | Promise<I>;
  /** Call the code under test. */
  run(input: I, ctx: C): unknown;
  /** null when `result` is valid, else what is wrong with it. */
  check?(result: unknown, input: I, ctx: C): string | null;
  /** A short description of an input for violation reports. */
  describe?(input: I): string;
  teardown?(ctx: C): void | Promise<void>;
  /** Relative cost of a case (case counts of a plan are multiplied by it). Default 1. */
  weight?: number;
  /** A fixed number of cases (a list of known inputs), whatever the plan's size. */
  fixedCases?: number;
  /** Per-case time limit for this target, when it differs from the run's (model forward passes). */
  perCaseMs?: number;
}

export type ViolationKind = 'untyped' | 'invalid' | 'slow' | 'leak' | 'rss' | 'hang' | 'crash' | 'setup';

export interface Violation {
  target: string;
  seed: number;
  index: number;
  kind: ViolationKind;
  message: string;
  input?: string;
}

export interface TargetReport {
  target: string;
  seed: number;
  /** Cases run (= asked, unless the time budget ran out). */
  cases: number;
  asked: number;
  /** How many calls returned normally / threw a typed error, by error class name. */
  ok: number;
  errors: Record<string, number>;
  ms: number;
  maxCaseMs: number;
  rssStartMB: number;
  rssEndMB: number;
  tensorsStart: number;
  tensorsEnd: number;
  /** Tensors a case created and kept, where replaying the case kept none (lazy model state). */
  lazyTensors: number;
  violations: Violation[];
}

export interface RunOptions {
  seed: number;
  cases: number;
  /** A case slower than this is a violation. */
  perCaseMs: number;
  /** Stop early (and say so via `cases < asked`) past this much time. */
  budgetMs: number;
  /** Allowed RSS growth from the end of warm-up to the end, after GC. */
  rssBoundMB: number;
  /** Where the driver watches progress: [case index, Date.now() − clockBase when the case started]. */
  heartbeat?: Int32Array;
  clockBase?: number;
  /** Only this case (replay). */
  only?: number;
  /** First case to run (the driver resumes after a case that hung or crashed the worker). */
  from?: number;
  /** Called with the report so far every few cases (the driver keeps it in case the worker dies). */
  progress?: (r: TargetReport) => void;
}

export const DEFAULT_RSS_BOUND_MB = 128;
const WARMUP = 20;
/** Lazily created, kept model tensors allowed over a whole target run (per-block views, masks: a few per block). */
export const LAZY_TENSOR_BOUND = 64;

async function callOnce(t: Target, input: unknown, ctx: unknown): Promise<{ threw: boolean; error?: unknown; result?: unknown }> {
  try {
    return { threw: false, result: await t.run(input, ctx) };
  } catch (e) {
    return { threw: true, error: e };
  }
}

let gcFn: (() => void) | undefined;
/** A full GC when possible, so RSS/heap figures compare like with like. */
export function collectGarbage(): void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
}

export function rssMB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

function errorName(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message.slice(0, 300)}`;
  return `${typeof e}: ${String(e).slice(0, 300)}`;
}

/** A report with nothing run yet. */
export function emptyReport(target: string, seed: number, asked: number): TargetReport {
  return {
    target,
    seed,
    cases: 0,
    asked,
    ok: 0,
    errors: {},
    ms: 0,
    maxCaseMs: 0,
    rssStartMB: 0,
    rssEndMB: 0,
    tensorsStart: 0,
    tensorsEnd: 0,
    lazyTensors: 0,
    violations: [],
  };
}

export async function runTarget(t: Target, o: RunOptions): Promise<TargetReport> {
  const rep = emptyReport(t.name, o.seed, o.cases);
  const start = performance.now();
  let ctx: unknown;
  try {
    ctx = await t.setup();
  } catch (e) {
    rep.violations.push({ target: t.name, seed: o.seed, index: -1, kind: 'setup', message: errorName(e) });
    return rep;
  }
  const first = o.only ?? o.from ?? 0;
  const last = o.only !== undefined ? o.only + 1 : o.cases;
  const add = (index: number, kind: ViolationKind, message: string, input: unknown) => {
    let desc: string | undefined;
    try {
      desc = t.describe ? t.describe(input) : undefined;
    } catch {
      desc = undefined;
    }
    rep.violations.push({ target: t.name, seed: o.seed, index, kind, message, input: desc });
    o.progress?.(rep); // so a violation survives the worker being killed later
  };
  for (let i = first; i < last; i++) {
    if (i === first + Math.min(WARMUP, last - first - 1)) {
      collectGarbage();
      rep.rssStartMB = rssMB();
      rep.tensorsStart = tf.memory().numTensors;
    }
    if (performance.now() - start > o.budgetMs) break;
    const r = makeRng(caseSeed(o.seed, t.name, i));
    let input: unknown;
    try {
      input = await t.generate(r, ctx, i);
    } catch (e) {
      add(i, 'setup', `generator failed: ${errorName(e)}`, undefined);
      rep.cases++;
      continue;
    }
    if (o.heartbeat) {
      Atomics.store(o.heartbeat, 0, i);
      Atomics.store(o.heartbeat, 1, Date.now() - (o.clockBase ?? 0));
    }
    const before = tf.memory().numTensors;
    const c0 = performance.now();
    const out = await callOnce(t, input, ctx);
    const dt = performance.now() - c0;
    rep.cases++;
    rep.maxCaseMs = Math.max(rep.maxCaseMs, dt);
    const limit = t.perCaseMs ?? o.perCaseMs;
    if (dt > limit) add(i, 'slow', `case took ${dt.toFixed(0)} ms > ${limit} ms`, input);
    if (out.threw) {
      if (isTypedError(out.error)) {
        const n = (out.error as Error).constructor.name;
        rep.errors[n] = (rep.errors[n] ?? 0) + 1;
      } else {
        const e = out.error;
        add(i, 'untyped', errorName(e) + (e instanceof Error && e.stack ? `\n${e.stack.split('\n').slice(1, 6).join('\n')}` : ''), input);
      }
    } else {
      let bad: string | null = null;
      try {
        bad = t.check ? t.check(out.result, input, ctx) : null;
      } catch (e) {
        bad = `check threw ${errorName(e)}`;
      }
      if (bad) add(i, 'invalid', bad, input);
      else rep.ok++;
    }
    if (o.progress && rep.cases % 25 === 0) o.progress(rep);
    const after = tf.memory().numTensors;
    if (after !== before) {
      // Models create some tensors lazily on first use (per-block weight views, masks) and keep them: that is
      // a one-off. Replaying the same input must then leave the count unchanged; if not, the call leaks.
      const again = await t.generate(makeRng(caseSeed(o.seed, t.name, i)), ctx, i);
      const b2 = tf.memory().numTensors;
      await callOnce(t, again, ctx);
      const a2 = tf.memory().numTensors;
      if (a2 !== b2) add(i, 'leak', `numTensors ${before} → ${after}, and ${b2} → ${a2} on replay`, input);
      else rep.lazyTensors += after - before;
    }
  }
  collectGarbage();
  rep.rssEndMB = rssMB();
  rep.tensorsEnd = tf.memory().numTensors;
  if (o.only === undefined && rep.cases > WARMUP && rep.tensorsEnd - rep.tensorsStart > LAZY_TENSOR_BOUND) {
    add(
      rep.cases,
      'leak',
      `numTensors grew ${rep.tensorsStart} → ${rep.tensorsEnd} after warm-up (bound ${LAZY_TENSOR_BOUND} lazily created tensors)`,
      undefined,
    );
  }
  if (o.only === undefined && rep.cases > WARMUP && rep.rssEndMB - rep.rssStartMB > o.rssBoundMB) {
    add(
      rep.cases,
      'rss',
      `RSS grew ${(rep.rssEndMB - rep.rssStartMB).toFixed(1)} MiB after warm-up (bound ${o.rssBoundMB} MiB)`,
      undefined,
    );
  }
  try {
    await t.teardown?.(ctx);
  } catch (e) {
    add(-1, 'setup', `teardown failed: ${errorName(e)}`, undefined);
  }
  rep.ms = performance.now() - start;
  return rep;
}

/** One line per violation, enough to replay it. */
export function formatViolation(v: Violation): string {
  return (
    `[${v.kind}] ${v.target} seed=${v.seed} case=${v.index}: ${v.message}${v.input ? `\n    input: ${v.input}` : ''}` +
    `\n    replay: npx ts-node --transpile-only test/fuzz/repro.ts ${v.target} ${v.seed} ${v.index}`
  );
}

export function formatReport(r: TargetReport): string {
  const errs =
    Object.entries(r.errors)
      .map(([k, n]) => `${k}×${n}`)
      .join(' ') || '-';
  return (
    `${r.target.padEnd(22)} ${String(r.cases).padStart(6)}/${r.asked} cases  ${(r.ms / 1000).toFixed(1).padStart(6)} s` +
    `  max ${r.maxCaseMs.toFixed(0).padStart(5)} ms/case  ok ${r.ok}  typed: ${errs}` +
    `  rss ${r.rssStartMB.toFixed(0)}→${r.rssEndMB.toFixed(0)} MiB  tensors ${r.tensorsStart}→${r.tensorsEnd} (lazy ${r.lazyTensors})  violations ${r.violations.length}`
  );
}

/** Combine the reports of one target run in several parts (after a hang the driver resumes in a new worker). */
export function mergeReports(a: TargetReport, b: TargetReport): TargetReport {
  const errors = { ...a.errors };
  for (const [k, n] of Object.entries(b.errors)) errors[k] = (errors[k] ?? 0) + n;
  return {
    ...b,
    cases: a.cases + b.cases,
    ok: a.ok + b.ok,
    errors,
    ms: a.ms + b.ms,
    maxCaseMs: Math.max(a.maxCaseMs, b.maxCaseMs),
    rssStartMB: a.rssStartMB || b.rssStartMB,
    tensorsStart: a.tensorsStart || b.tensorsStart,
    lazyTensors: a.lazyTensors + b.lazyTensors,
    violations: [...a.violations, ...b.violations],
  };
}
