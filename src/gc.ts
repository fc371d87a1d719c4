/** A forced full garbage collection: freed host arrays (e.g. a disposed model's weights) only leave RSS after one. */
import * as v8 from 'v8';
import * as vm from 'vm';

let gcFn: (() => void) | undefined;

/** Run a full GC, enabling `gc` at runtime when node was started without --expose-gc. */
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
