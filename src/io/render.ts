/**
 * Bounded rendering of untrusted values for error messages. `JSON.stringify` / `String()` of a value read
 * from a file can recurse 10k levels deep (stack overflow) or walk a DAG of shared references exponentially
 * (a pickle); this renders at most `maxDepth` levels, `maxItems` entries per level and `maxChars` characters,
 * so the cost is bounded whatever the value is. Used by every error message that shows a value.
 */
export interface RenderOptions {
  maxDepth?: number;
  maxItems?: number;
  maxChars?: number;
}

const DEFAULTS = { maxDepth: 3, maxItems: 8, maxChars: 120 };

/** A short, bounded, JSON-like rendering of `v` (strings quoted, long ones cut with `…`). */
export function renderValue(v: unknown, opts: RenderOptions = {}): string {
  const { maxDepth, maxItems, maxChars } = { ...DEFAULTS, ...opts };
  let budget = maxChars * 2; // stop building once well past the cut; the result is cut below anyway
  const out: string[] = [];
  const emit = (s: string): boolean => {
    if (budget <= 0) return false;
    if (s.length > budget) s = s.slice(0, budget);
    out.push(s);
    budget -= s.length;
    return budget > 0;
  };
  const walk = (x: unknown, depth: number): void => {
    if (budget <= 0) return;
    if (x === null) {
      emit('null');
      return;
    }
    switch (typeof x) {
      case 'string':
        emit(JSON.stringify(x.length > maxChars ? `${x.slice(0, maxChars)}…` : x));
        return;
      case 'number':
      case 'boolean':
        emit(String(x));
        return;
      case 'bigint':
        emit(`${x}`);
        return;
      case 'undefined':
        emit('undefined');
        return;
      case 'symbol':
      case 'function':
        emit(`<${typeof x}>`);
        return;
    }
    if (x instanceof Uint8Array) {
      emit(`<${x.length} bytes>`);
      return;
    }
    const isArr = Array.isArray(x);
    const isMap = x instanceof Map;
    const ctor = (x as object).constructor;
    const tag = !isArr && !isMap && ctor && ctor !== Object && typeof ctor.name === 'string' ? ctor.name : '';
    const [open, close] = isArr ? ['[', ']'] : ['{', '}'];
    if (depth >= maxDepth) {
      emit(isArr ? '[…]' : `${tag}{…}`);
      return;
    }
    let entries: [unknown, unknown][];
    let total: number;
    if (isArr) {
      const a = x as unknown[];
      total = a.length;
      entries = a.slice(0, maxItems).map((e) => [undefined, e]);
    } else if (isMap) {
      const m = x as Map<unknown, unknown>;
      total = m.size;
      entries = [];
      for (const e of m) {
        if (entries.length >= maxItems) break;
        entries.push(e);
      }
    } else {
      const keys: string[] = [];
      // for…in stops early; Object.keys would list every key of a huge object first
      for (const k in x as object) {
        if (keys.length >= maxItems + 1) break;
        if (Object.prototype.hasOwnProperty.call(x, k)) keys.push(k);
      }
      total = keys.length;
      entries = keys.slice(0, maxItems).map((k) => [k, (x as Record<string, unknown>)[k]]);
    }
    emit(tag + open);
    entries.forEach(([k, e], i) => {
      if (i) emit(', ');
      if (!isArr) {
        if (typeof k === 'string') emit(`${JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k)}: `);
        else {
          walk(k, depth + 1);
          emit(': ');
        }
      }
      walk(e, depth + 1);
    });
    if (total > entries.length) emit(entries.length ? ', …' : '…');
    emit(close);
  };
  walk(v, 0);
  const s = out.join('');
  return s.length > maxChars ? `${s.slice(0, maxChars - 1)}…` : s;
}
