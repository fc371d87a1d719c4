/** Timing with warm-up and repeats; figures are medians with their spread, never single runs. */

export interface Timing {
  /** Median wall time of one call, ms. */
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** (max − min) / median: how noisy the repeats were. */
  spread: number;
  repeats: number;
  /** Median CPU time (user + system) of this process per call, ms: robust to other processes sharing the
   *  cores for single-threaded work (for multi-threaded work it sums the threads). */
  cpuMedianMs: number;
}

export interface MeasureOptions {
  /** Untimed calls first (compilation, weight packing, allocator growth). Default 1. */
  warmup?: number;
  /** Timed calls (default 5). */
  repeats?: number;
  /** Stop repeating once this much time was spent timing, after at least `minRepeats` (default: no budget). */
  budgetMs?: number;
  minRepeats?: number;
}

export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(samples: readonly number[], cpuSamples: readonly number[] = []): Timing {
  const med = median(samples);
  const min = Math.min(...samples),
    max = Math.max(...samples);
  return {
    medianMs: med,
    minMs: min,
    maxMs: max,
    spread: med > 0 ? (max - min) / med : 0,
    repeats: samples.length,
    cpuMedianMs: median(cpuSamples),
  };
}

/** Time an async call: warm-up, then repeats; returns the median and spread. */
export async function measure(fn: () => Promise<unknown> | unknown, opts: MeasureOptions = {}): Promise<Timing> {
  const warmup = opts.warmup ?? 1,
    repeats = opts.repeats ?? 5,
    minRepeats = Math.min(opts.minRepeats ?? 2, repeats);
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [],
    cpu: number[] = [];
  let spent = 0;
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    const dt = performance.now() - t0;
    const c = process.cpuUsage(c0);
    samples.push(dt);
    cpu.push((c.user + c.system) / 1000);
    spent += dt;
    if (opts.budgetMs !== undefined && spent >= opts.budgetMs && samples.length >= minRepeats) break;
  }
  return summarize(samples, cpu);
}
