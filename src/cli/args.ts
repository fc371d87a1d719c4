/**
 * A small typed command-line parser: each subcommand declares its flags, and anything else is a usage error
 * (exit code 2) rather than being silently ignored — a mistyped `--limt 10` must not run the whole benchmark.
 */
import { BACKEND_NAMES } from '../backends/names';
import { UsageError } from '../errors';

export type FlagType = 'string' | 'int' | 'number' | 'boolean';

export interface FlagSpec {
  name: string;
  type: FlagType;
  /** Repeatable: the value is an array in the order given. */
  multiple?: boolean;
  required?: boolean;
  default?: string | number | boolean;
  /** Allowed values (string flags). */
  choices?: readonly string[];
  /** Shown in --help after the flag name, e.g. `FILE`. */
  placeholder?: string;
  help: string;
  /** For int/number flags: the smallest accepted value. */
  min?: number;
}

export type FlagValue = string | number | boolean | string[] | number[] | undefined;
export type ParsedFlags = Record<string, FlagValue>;

/** Flags every subcommand accepts. */
export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'help', type: 'boolean', help: 'show this help and exit' },
  { name: 'debug', type: 'boolean', help: 'print stack traces of errors' },
  {
    name: 'backend',
    type: 'string',
    placeholder: 'NAME',
    choices: BACKEND_NAMES,
    help: `force a backend: ${BACKEND_NAMES.join(', ')} (tensorflow = either tfjs-node package; default: the first that loads, or env ABE_BACKEND; see abe-clip backends)`,
  },
];

/** Damerau–Levenshtein distance (adjacent transpositions count 1: `scroe` is one edit from `score`). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidates a mistyped `word` most likely meant: the nearest by edit distance when it is within a third
 * of the word's length (at least 1), else those it is a prefix of (`--lim` → `--limit`).
 */
export function suggest(word: string, candidates: readonly string[]): string[] {
  const w = word.toLowerCase();
  if (!w) return [];
  const dist = candidates.map((c) => [c, editDistance(w, c.toLowerCase())] as const);
  const best = Math.min(...dist.map(([, d]) => d));
  if (best <= Math.max(1, Math.floor(w.length / 3))) return dist.filter(([, d]) => d === best).map(([c]) => c);
  return w.length >= 2 ? candidates.filter((c) => c.toLowerCase().startsWith(w)) : [];
}

function convert(spec: FlagSpec, raw: string, where: string): string | number {
  if (spec.type === 'int' || spec.type === 'number') {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v) || (spec.type === 'int' && !Number.isInteger(v))) {
      throw new UsageError(where, `expected ${spec.type === 'int' ? 'an integer' : 'a number'}, got '${raw}'`);
    }
    if (spec.min !== undefined && v < spec.min) throw new UsageError(where, `must be at least ${spec.min}, got ${v}`);
    return v;
  }
  if (spec.choices && !spec.choices.includes(raw)) {
    throw new UsageError(where, `expected one of ${spec.choices.join(', ')}, got '${raw}'`);
  }
  return raw;
}

/**
 * Parse `argv` (the words after the subcommand) against `specs` (+ the global flags).
 * Accepts `--name value`, `--name=value`, and bare `--name` for booleans; `--` ends the flags.
 * @returns flags by name, plus `_` = positional words.
 * @throws UsageError for unknown flags, missing values, bad numbers, missing required flags, stray words.
 */
export function parseFlags(argv: string[], specs: FlagSpec[], opts: { positionals?: boolean } = {}): ParsedFlags & { _: string[] } {
  const all = [...specs, ...GLOBAL_FLAGS];
  const byName = new Map(all.map((s) => [s.name, s]));
  const out: ParsedFlags & { _: string[] } = { _: [] };
  let i = 0;
  while (i < argv.length) {
    const word = argv[i++];
    if (word === '--') {
      out._.push(...argv.slice(i));
      break;
    }
    if (word === '-h') {
      out.help = true;
      continue;
    }
    if (!word.startsWith('--') || word === '--') {
      if (word.startsWith('-') && word.length > 1 && !/^-\d/.test(word)) {
        throw new UsageError(word, 'unknown option (options are written --name)');
      }
      out._.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const name = word.slice(2, eq < 0 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) {
      const close = suggest(
        name,
        all.map((s) => s.name),
      );
      throw new UsageError(`--${name}`, `unknown option${close.length ? ` (did you mean ${close.map((n) => '--' + n).join(', ')}?)` : ''}`);
    }
    let value: string | number | boolean;
    if (spec.type === 'boolean') {
      if (eq >= 0) {
        const raw = word.slice(eq + 1);
        if (raw !== 'true' && raw !== 'false') throw new UsageError(`--${name}`, `expected true or false, got '${raw}'`);
        value = raw === 'true';
      } else value = true;
    } else {
      let raw: string;
      if (eq >= 0) raw = word.slice(eq + 1);
      else {
        if (i >= argv.length) throw new UsageError(`--${name}`, `needs a value${spec.placeholder ? ` (${spec.placeholder})` : ''}`);
        raw = argv[i++];
      }
      value = convert(spec, raw, `--${name}`);
    }
    if (spec.multiple) {
      const prev = (out[name] as (string | number)[] | undefined) ?? [];
      out[name] = [...prev, value] as string[] | number[];
    } else {
      if (out[name] !== undefined && name !== 'help' && name !== 'debug') {
        throw new UsageError(`--${name}`, 'given more than once');
      }
      out[name] = value;
    }
  }
  if (out.help) return out;
  if (out._.length && !opts.positionals) throw new UsageError(out._[0], 'unexpected argument');
  for (const s of all) {
    if (out[s.name] === undefined) {
      if (s.required) throw new UsageError(`--${s.name}`, `is required${s.placeholder ? ` (${s.placeholder})` : ''}`);
      if (s.default !== undefined) out[s.name] = s.default;
      else if (s.multiple) out[s.name] = [];
    }
  }
  return out;
}

/** The `--help` text of one subcommand. */
export function formatHelp(command: string, summary: string, usage: string, specs: FlagSpec[], extra = ''): string {
  const rows = [...specs, ...GLOBAL_FLAGS].map((s) => {
    const left = `  --${s.name}${s.type === 'boolean' ? '' : ' ' + (s.placeholder ?? s.type.toUpperCase())}`;
    const notes: string[] = [];
    if (s.required) notes.push('required');
    if (s.multiple) notes.push('repeatable');
    if (s.default !== undefined) notes.push(`default ${s.default}`);
    return [left, s.help + (notes.length ? ` (${notes.join(', ')})` : '')];
  });
  const w = Math.min(34, Math.max(...rows.map((r) => r[0].length)) + 2);
  const lines = rows.map(([l, r]) => (l.length >= w ? `${l}\n${' '.repeat(w)}${r}` : l.padEnd(w) + r));
  return [`abe-clip ${command} — ${summary}`, '', `Usage: ${usage}`, '', 'Options:', ...lines, extra ? '\n' + extra.trimEnd() : '', '']
    .filter((x, k, arr) => !(x === '' && k === arr.length - 2 && !extra))
    .join('\n');
}
