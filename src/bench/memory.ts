/** Process memory for the benchmark: a forced GC (so freed host weights leave RSS) and an RSS high-water sampler. */
import * as v8 from 'v8';
import * as vm from 'vm';

let gcFn: (() => void) | undefined;

/** Run a full garbage collection, enabling `gc` at runtime when node was started without --expose-gc. */
export function forceGc(): void {
  if (!gcFn) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) gcFn = g;
    else {
      v8.setFlagsFromString('--expose-gc');
      gcFn = vm.runInNewContext('gc') as () => void;
    }
  }
  gcFn();
}

/** Samples the resident set size every `everyMs` while running; `stop()` returns the highest value seen. */
export function rssSampler(everyMs = 10): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, everyMs);
  return {
    stop(): number {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}
