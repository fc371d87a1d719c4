/**
 * Text under adversarial input: the tokenizer (ids, offsets, fixed-length rows with random options), the
 * phrase parser and explicit-group resolution, and the scorer's caption preparation — with lone surrogates,
 * combining marks, RTL and ZWJ sequences, HTML entities, control characters and long runs.
 */
import { prepareCaptions } from '../../../src/abe/captions';
import { groupTokenPositions, parsePhrases, resolveGroups } from '../../../src/text/phrases';
import { tokenizeToArrays } from '../../../src/text/tokenize';
import { ClipTokenizer } from '../../../src/text/tokenizer';
import { EOT_TOKEN, SOT_TOKEN, VOCAB_SIZE } from '../../../src/text/constants';
import type { Target } from '../harness';
import { INTERESTING_VALUES, randomCaption, Rng, showValue } from '../mutate';

const show = (x: unknown): string => showValue(x);

function caption(r: Rng): string {
  // Mostly captions of realistic size; sometimes long ones (a few thousand code units).
  return randomCaption(r, r.chance(0.05) ? 6000 : 300);
}

function badIds(ids: ArrayLike<number>): string | null {
  for (let i = 0; i < ids.length; i++) {
    if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] >= VOCAB_SIZE) return `id ${ids[i]} at ${i}`;
  }
  return null;
}

type TokCase = { op: 'encode' | 'offsets' | 'rows'; text: unknown; opts?: Record<string, unknown> };

export const tokenizer: Target<TokCase, ClipTokenizer> = {
  name: 'tokenizer',
  setup: () => ClipTokenizer.default(),
  generate(r) {
    const op = r.pick(['encode', 'offsets', 'rows'] as const);
    const text = r.chance(0.03) ? r.pick(INTERESTING_VALUES) : caption(r);
    if (op !== 'rows') return { op, text };
    const opts: Record<string, unknown> = {};
    if (r.chance(0.6)) opts.contextLength = r.chance(0.8) ? 2 + r.int(100) : r.pick(INTERESTING_VALUES);
    if (r.chance(0.6)) opts.truncate = r.chance(0.8) ? r.chance(0.5) : r.pick(INTERESTING_VALUES);
    if (r.chance(0.03)) opts[r.pick(['context_length', 'x'])] = 1;
    const many = r.chance(0.3) ? Array.from({ length: r.int(5) }, () => (r.chance(0.1) ? r.pick(INTERESTING_VALUES) : caption(r))) : text;
    return { op, text: many, opts };
  },
  run(c, tok) {
    if (c.op === 'encode') return tok.encode(c.text as string);
    if (c.op === 'offsets') return tok.encodeWithOffsets(c.text as string);
    return tokenizeToArrays(c.text as string[], c.opts);
  },
  check(res, c) {
    if (c.op === 'encode') return badIds(res as number[]);
    if (c.op === 'offsets') {
      const { ids, offsets } = res as { ids: number[]; offsets: [number, number][] };
      if (ids.length !== offsets.length) return `${ids.length} ids, ${offsets.length} offsets`;
      const n = (c.text as string).length;
      for (const [a, b] of offsets)
        if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && a <= b && b <= n)) return `offset [${a}, ${b}) outside [0, ${n}]`;
      return badIds(ids);
    }
    const rows = res as Int32Array[];
    const L = (c.opts?.contextLength as number | undefined) ?? 77;
    const m = typeof c.text === 'string' ? 1 : (c.text as unknown[]).length;
    if (rows.length !== m) return `${rows.length} rows for ${m} captions`;
    for (const row of rows) {
      if (row.length !== L || row[0] !== SOT_TOKEN) return `row of length ${row.length} starting ${row[0]}`;
      if (!row.includes(EOT_TOKEN)) return 'row without EOT';
      const bad = badIds(row);
      if (bad) return bad;
    }
    return null;
  },
  describe: show,
};

type PhraseCase = { op: 'parse' | 'resolve' | 'positions'; text: unknown; groups?: unknown; L?: unknown };

function randomGroups(r: Rng, text: string): unknown {
  if (r.chance(0.05)) return r.pick(INTERESTING_VALUES);
  const words = text.split(/\s+/).filter(Boolean);
  const word = () => (words.length && r.chance(0.8) ? r.pick(words) : r.pick(['', ' ', 'zzz', 'RED', '\ud800']));
  return Array.from({ length: r.int(4) }, () =>
    r.chance(0.05)
      ? r.pick(INTERESTING_VALUES)
      : {
          attributes: r.chance(0.1) ? r.pick(INTERESTING_VALUES) : Array.from({ length: r.int(3) }, word),
          object: r.chance(0.05) ? r.pick(INTERESTING_VALUES) : word(),
        },
  );
}

export const phrases: Target<PhraseCase, null> = {
  name: 'phrases',
  setup: () => null,
  generate(r) {
    const op = r.pick(['parse', 'parse', 'resolve', 'positions'] as const);
    const text = r.chance(0.03)
      ? r.pick(INTERESTING_VALUES)
      : r.chance(0.5)
        ? caption(r)
        : r.pick([
            'a red cube and a blue sphere',
            'the small wooden chair next to a black dog',
            'two dogs playing in the snow',
            "the dog's ball is green",
            'a very tall man wearing a red hat',
            'A RED CUBE',
            'cube',
            '',
          ]) + (r.chance(0.5) ? caption(r).slice(0, 40) : '');
    if (op === 'parse') return { op, text };
    const groups = r.chance(0.7) || typeof text !== 'string' ? randomGroups(r, String(text)) : parsePhrasesSafe(text);
    return { op, text, groups, L: r.chance(0.8) ? 3 + r.int(80) : r.pick(INTERESTING_VALUES) };
  },
  run(c) {
    if (c.op === 'parse') return parsePhrases(c.text as string);
    if (c.op === 'resolve') return resolveGroups(c.text as string, c.groups as never);
    return groupTokenPositions(c.text as string, c.groups as never, c.L as number);
  },
  check(res, c) {
    const text = c.text as string;
    if (c.op === 'positions') {
      for (const g of res as { positions: number[]; objectLast: number | null }[]) {
        if (g.positions.some((p) => !Number.isInteger(p) || p < 1 || p > (c.L as number) - 2))
          return `positions ${g.positions} outside 1..L−2`;
      }
      return null;
    }
    for (const g of res as {
      attributes: { text: string; start: number; end: number }[];
      object: { text: string; start: number; end: number };
    }[]) {
      for (const s of [...g.attributes, g.object]) {
        if (!(s.start >= 0 && s.end <= text.length && s.start < s.end))
          return `span [${s.start}, ${s.end}) outside the caption (${text.length})`;
        if (text.slice(s.start, s.end) !== s.text) return `span text ${JSON.stringify(s.text)} ≠ caption slice`;
      }
    }
    return null;
  },
  describe: show,
};

function parsePhrasesSafe(text: string): unknown {
  try {
    return parsePhrases(text);
  } catch {
    return [];
  }
}

export const captions: Target<{ caps: unknown; L: unknown }, null> = {
  name: 'abe-captions',
  setup: () => null,
  generate(r) {
    const caps = r.chance(0.03)
      ? r.pick(INTERESTING_VALUES)
      : Array.from({ length: r.int(4) }, () => {
          const text = caption(r);
          switch (r.int(6)) {
            case 0:
              return r.pick(INTERESTING_VALUES);
            case 1:
              return { text, groups: randomGroups(r, text) };
            case 2:
              return {
                text,
                ids: Array.from({ length: r.int(20) }, () => (r.chance(0.9) ? r.int(VOCAB_SIZE) : r.pick(INTERESTING_VALUES))),
              };
            case 3:
              return {
                text,
                groups: [
                  {
                    attributes: [],
                    object: 'x',
                    positions: Array.from({ length: r.int(4) }, () => r.int(90) - 5),
                    objectLast: r.pick([1, 5, 0, -1, 80, 1.5]),
                  },
                ],
              };
            case 4:
              return { text, [r.pick(['group', 'x', 'ids'])]: r.pick(INTERESTING_VALUES) };
            default:
              return text;
          }
        });
    return { caps, L: r.chance(0.9) ? r.pick([77, 16, 8, 3]) : r.pick(INTERESTING_VALUES) };
  },
  run: (c) => prepareCaptions(c.caps as never, c.L as number),
  check(res, c) {
    for (const p of res as { ids: Int32Array; groups: { positions: number[] }[] }[]) {
      if (p.ids.length !== c.L) return `ids of length ${p.ids.length}, L = ${c.L}`;
      for (const g of p.groups)
        if (g.positions.some((q) => !(q >= 1 && q < (c.L as number)))) return `group positions ${g.positions} outside 1..L−1`;
    }
    return null;
  },
  describe: show,
};
