/**
 * Deterministic random generation and mutation for the fuzz targets. Every case draws from its own PRNG,
 * seeded from (run seed, target name, case index), so any single case can be replayed on its own.
 */

export type Rng = {
  /** Uniform in [0, 1). */
  (): number;
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
};

/** mulberry32: small, fast, and enough for choosing mutations. */
export function makeRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (() => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }) as Rng;
  next.int = (n) => Math.floor(next() * n);
  next.pick = (xs) => xs[Math.floor(next() * xs.length)];
  next.chance = (p) => next() < p;
  return next;
}

/** FNV-1a of a string, for deriving per-target seeds. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The seed of case `index` of `target` in a run seeded `seed`. */
export function caseSeed(seed: number, target: string, index: number): number {
  return (hashString(target) ^ Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
}

/** Numbers that break length and offset arithmetic. */
export const INTERESTING_U32 = [
  0,
  1,
  2,
  3,
  7,
  8,
  15,
  16,
  31,
  32,
  63,
  64,
  127,
  128,
  255,
  256,
  0x7fff,
  0x8000,
  0xffff,
  0x10000,
  0x7fffffff,
  0x80000000,
  0xfffffffe,
  0xffffffff,
  1000,
  4096,
  65535 * 2,
];
export const INTERESTING_NUMBERS: unknown[] = [
  0,
  -0,
  1,
  -1,
  2,
  3,
  0.5,
  -0.5,
  1e-300,
  1e300,
  Infinity,
  -Infinity,
  NaN,
  2 ** 31,
  -(2 ** 31),
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  1e9,
  123456789,
  7,
  16,
  1024,
  65536,
];
export const INTERESTING_VALUES: unknown[] = [
  ...INTERESTING_NUMBERS,
  null,
  undefined,
  true,
  false,
  '',
  '0',
  '1',
  'abc',
  '-1',
  '1e400',
  [],
  [1],
  [-1],
  [1, 2, 3],
  {},
  { a: 1 },
  '\u0000',
  '__proto__',
  'constructor',
  Symbol.for('x'),
  10n,
];

function writeU32(b: Uint8Array, at: number, v: number, le: boolean): void {
  for (let k = 0; k < 4 && at + k < b.length; k++) b[at + k] = le ? (v >>> (8 * k)) & 0xff : (v >>> (8 * (3 - k))) & 0xff;
}

function writeU16(b: Uint8Array, at: number, v: number, le: boolean): void {
  for (let k = 0; k < 2 && at + k < b.length; k++) b[at + k] = le ? (v >>> (8 * k)) & 0xff : (v >>> (8 * (1 - k))) & 0xff;
}

/**
 * One to `maxOps` generic byte mutations: bit flips, byte sets, interesting 16/32-bit values (both byte
 * orders), truncation, extension, duplication and deletion of ranges, and splicing with `other`.
 * `hot` lists offsets (length fields, dimensions) that structure-aware callers want hit more often.
 */
export function mutateBytes(r: Rng, input: Uint8Array, other?: Uint8Array, hot: number[] = [], maxOps = 4): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  const ops = 1 + r.int(maxOps);
  const at = (): number => (hot.length && r.chance(0.4) ? r.pick(hot) : r.int(Math.max(1, b.length)));
  for (let k = 0; k < ops; k++) {
    switch (r.int(11)) {
      case 0:
        if (b.length) {
          const i = at();
          if (i < b.length) b[i] ^= 1 << r.int(8);
        }
        break;
      case 1:
        if (b.length) {
          const i = at();
          if (i < b.length) b[i] = r.pick([0, 1, 0x7f, 0x80, 0xff, r.int(256)]);
        }
        break;
      case 2:
        writeU32(b, at(), r.pick(INTERESTING_U32), r.chance(0.5));
        break;
      case 3:
        writeU16(b, at(), r.pick(INTERESTING_U32) & 0xffff, r.chance(0.5));
        break;
      case 4:
        b = b.slice(0, r.int(b.length + 1));
        break; // truncate
      case 5: {
        // delete a range
        const i = r.int(b.length + 1),
          n = r.int(Math.min(64, b.length - i) + 1);
        b = concat(b.subarray(0, i), b.subarray(i + n));
        break;
      }
      case 6: {
        // duplicate a range in place
        const i = r.int(b.length + 1),
          n = r.int(Math.min(256, b.length - i) + 1);
        b = concat(b.subarray(0, i + n), b.subarray(i, i + n), b.subarray(i + n));
        break;
      }
      case 7: {
        // insert random bytes
        const i = r.int(b.length + 1),
          n = 1 + r.int(16);
        b = concat(
          b.subarray(0, i),
          Uint8Array.from({ length: n }, () => r.int(256)),
          b.subarray(i),
        );
        break;
      }
      case 8: {
        // splice with another seed
        if (other && other.length) {
          const i = r.int(b.length + 1),
            j = r.int(other.length + 1);
          b = concat(b.subarray(0, i), other.subarray(j));
        }
        break;
      }
      case 9:
        b = concat(
          b,
          Uint8Array.from({ length: r.int(64) }, () => r.int(256)),
        );
        break; // trailing junk
      case 10: {
        // overwrite a run with one byte
        const i = r.int(b.length + 1),
          n = r.int(Math.min(32, b.length - i) + 1);
        b.fill(r.pick([0, 0xff, r.int(256)]), i, i + n);
        break;
      }
    }
  }
  return b;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A random edit of a JSON value at a random path: replace, delete, add keys, grow arrays, swap types. */
export function mutateJson(r: Rng, value: unknown, edits = 1 + r.int(3)): unknown {
  let v = structuredClone(value);
  for (let k = 0; k < edits; k++) v = editAt(r, v, 0);
  return v;
}

function randomJsonValue(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 2 ? 4 : 6)) {
    case 0:
      return r.pick(INTERESTING_NUMBERS.filter((x) => typeof x === 'number'));
    case 1:
      return r.pick([
        '',
        'F32',
        'F16',
        'BF16',
        'I64',
        'I32',
        'F64',
        'U8',
        'float32',
        'float16',
        'x'.repeat(r.int(300)),
        '../../etc/passwd',
        'a\u0000b',
        '\ud800',
      ]);
    case 2:
      return r.pick([null, true, false]);
    case 3:
      return r.int(1000) - 10;
    case 4:
      return Array.from({ length: r.int(5) }, () => randomJsonValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(4); i > 0; i--)
        o[r.pick(['a', 'dtype', 'shape', 'data_offsets', 'name', 'paths', 'weights', '__proto__', 'constructor'])] = randomJsonValue(
          r,
          depth + 1,
        );
      return o;
    }
  }
}

function editAt(r: Rng, v: unknown, depth: number): unknown {
  const container = v !== null && typeof v === 'object';
  if (!container || depth > 6 || r.chance(0.15)) {
    if (typeof v === 'number' && r.chance(0.6)) {
      return r.pick([v + 1, v - 1, -v, v * 2, v * 1000, v + 2 ** 32, 2 ** 53, 1e20, 0.5, NaN, Infinity, -1, 0]);
    }
    return randomJsonValue(r);
  }
  if (Array.isArray(v)) {
    const op = r.int(5);
    if (op === 0 || v.length === 0) {
      v.push(randomJsonValue(r));
      return v;
    }
    if (op === 1) {
      v.splice(r.int(v.length), 1);
      return v;
    }
    if (op === 2) {
      const i = r.int(v.length);
      v.splice(i, 0, v[i]);
      return v;
    }
    const i = r.int(v.length);
    v[i] = editAt(r, v[i], depth + 1);
    return v;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  const op = r.int(6);
  if (op === 0 || keys.length === 0) {
    o[r.pick(['extra', '__metadata__', 'x', 'dtype', 'shape', 'weights', 'config'])] = randomJsonValue(r);
    return o;
  }
  if (op === 1) {
    delete o[r.pick(keys)];
    return o;
  }
  if (op === 2) {
    const a = r.pick(keys),
      b = r.pick(keys);
    const t = o[a];
    o[a] = o[b];
    o[b] = t;
    return o;
  }
  const key = r.pick(keys);
  o[key] = editAt(r, o[key], depth + 1);
  return o;
}

/** Strings that break text pipelines: lone surrogates, combining marks, RTL, ZWJ, controls, huge runs. */
const PIECES = [
  'a',
  'red',
  ' ',
  'cube',
  'and',
  'the',
  'blue sphere',
  ',',
  '.',
  "'s",
  "don't",
  '&amp;',
  '&#x1F600;',
  '&#0;',
  '&#xD800;',
  '&lt;',
  '&nbsp;',
  '&notanentity;',
  '\u0301',
  '\u0308\u0308\u0308',
  'e\u0301',
  '\u202e',
  '\u202d',
  '\u200f',
  '\u200d',
  '👩‍👩‍👧',
  '👍🏽',
  '🇺🇸',
  '\ud800',
  '\udfff',
  '\udc00\ud800',
  '\u0000',
  '\u0007',
  '\t',
  '\n',
  '\r\n',
  '\u2028',
  '\ufeff',
  '\ufffd',
  '\uffff',
  'İ',
  'ß',
  'ﬁ',
  'Ⅻ',
  '０１２',
  'العربية',
  'עברית',
  '中文字符',
  '日本語',
  '한국어',
  'Ελληνικά',
  'ÃƒÂ©',
  'â€œ',
  '<|startoftext|>',
  '<|endoftext|>',
  '<|',
  '|>',
  '   ',
  '...',
  '!!!',
  '-',
  '—',
  '123',
  '3.14',
  'x'.repeat(50),
  '\u{10ffff}',
  '\u{1d400}',
  'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇',
];

/** A random caption assembled from adversarial pieces; occasionally huge or random code units. */
export function randomCaption(r: Rng, maxLen = 400): string {
  const mode = r.int(10);
  if (mode === 0) return Array.from({ length: r.int(maxLen) }, () => String.fromCharCode(r.int(0x10000))).join('');
  if (mode === 1) return r.pick(PIECES).repeat(1 + r.int(Math.max(1, Math.floor(maxLen / 2))));
  if (mode === 2)
    return String.fromCodePoint(...Array.from({ length: r.int(64) }, () => r.int(0x110000))).replace(/[\ud800-\udfff]/g, (c) =>
      r.chance(0.5) ? c : '',
    );
  const parts: string[] = [];
  const n = 1 + r.int(20);
  for (let i = 0; i < n; i++) parts.push(r.pick(PIECES), r.chance(0.6) ? ' ' : '');
  return parts.join('').slice(0, maxLen);
}

/** JSON-ish rendering of any fuzz input for reports: symbols, bigints, undefined, functions and NaN shown. */
export function showValue(x: unknown, max = 800): string {
  const seen = new WeakSet<object>();
  const out = JSON.stringify(x, (_, v) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'symbol') return v.toString();
    if (v === undefined) return '<undefined>';
    if (typeof v === 'function') return `<fn ${v.name || 'anonymous'}>`;
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    if (v instanceof Uint8Array) return `<${v.length} bytes ${Buffer.from(v.subarray(0, 24)).toString('hex')}${v.length > 24 ? '…' : ''}>`;
    if (v && typeof v === 'object') {
      if (seen.has(v)) return '<cycle>';
      seen.add(v);
    }
    return v;
  });
  return (out ?? String(x)).slice(0, max);
}
