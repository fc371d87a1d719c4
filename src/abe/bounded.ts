/**
 * The one bound on the scorer's in-memory text caches: a Map that keeps at most `max` entries and drops the
 * least recently used first (a read counts as a use).
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly max: number) {
    super();
  }

  override get(key: K): V | undefined {
    const v = super.get(key);
    if (v !== undefined) {
      super.delete(key);
      super.set(key, v);
    }
    return v;
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    while (this.size > this.max) this.delete(this.keys().next().value as K);
    return this;
  }
}

/** A view of a string-keyed map under a prefix (several kinds of entries share one bounded cache). */
export interface KeyValueCache<V> {
  has(key: string): boolean;
  get(key: string): V | undefined;
  set(key: string, value: V): unknown;
}

export function namespaced<V>(map: Map<string, unknown>, prefix: string): KeyValueCache<V> {
  return {
    has: (k) => map.has(prefix + k),
    get: (k) => map.get(prefix + k) as V | undefined,
    set: (k, v) => map.set(prefix + k, v),
  };
}
