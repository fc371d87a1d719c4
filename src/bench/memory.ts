/** Process memory for the benchmark: a forced GC (so freed host weights leave RSS) and an RSS high-water sampler. */
import * as fs from 'fs';
import { forceGc } from '../gc';

export { forceGc };

/** Samples the resident set size every `everyMs` while running; `stop()` returns the highest value seen. */
export function rssSampler(everyMs = 10): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  return {
    stop(): number {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

/** The kernel's resident-set high-water mark (VmHWM), bytes; null where /proc is unavailable. */
export function vmHwmBytes(): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Reset VmHWM to the current RSS (Linux ≥ 4.0, `clear_refs` value 5), so a later vmHwmBytes() covers only
 * what follows. Returns false where that is not possible (the caller falls back to sampling).
 */
export function resetVmHwm(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** Where a process's resident memory sits, bytes (wasm: the backend's linear memory, which never shrinks). */
export interface MemoryBreakdown {
  rss: number;
  jsHeapUsed: number;
  jsHeapTotal: number;
  /** Memory outside the JS heap held by JS objects (ArrayBuffers, wasm memory included on recent Node). */
  external: number;
  arrayBuffers: number;
  /** Size of the wasm backend's linear memory, or null on other backends. */
  wasmHeap: number | null;
  /** Bytes of live tensors (tf.memory().numBytes). */
  tensorBytes: number;
}

export function memoryBreakdown(tensorBytes: number, wasmHeap: number | null): MemoryBreakdown {
  const u = process.memoryUsage();
  return {
    rss: u.rss,
    jsHeapUsed: u.heapUsed,
    jsHeapTotal: u.heapTotal,
    external: u.external,
    arrayBuffers: u.arrayBuffers,
    wasmHeap,
    tensorBytes,
  };
}
