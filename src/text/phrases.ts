/**
 * Caption → attribute/object phrase groups (METHOD.md §1) and their BPE token positions.
 *
 * The parser tags words with compromise and then applies caption-specific rules (`phrases/chunk.ts`):
 * every noun phrase gives one group — its head noun (multi-word nouns kept whole) and the adjectives,
 * colour/material modifiers and adjectival participles before it — and predicate adjectives join their
 * subject's group. Decisions worth knowing:
 * - Numbers and determiners are NOT attributes ("two black cats" → (black, cats)), as in the reference
 *   goldens ("two dogs" → (–, dogs)): counts are not what attribute binding is about, and "a photo of a
 *   two black cats" would be a poor phrase to encode.
 * - Noun-noun compounds are one object ("a wooden dining table" → (wooden, dining table)); a leading
 *   colour, material or adjective-like noun is an attribute instead ("a metal pole" → (metal, pole)).
 * - "photo", "group", "top", … followed by "of" are not objects ("a photo of a dog" → (–, dog)).
 * - A negated predicate ("the car is not red") binds nothing.
 * - Words without a Latin letter (CJK, emoji, digits alone) never form a group.
 * - A predicate adjective after coordinated subjects with a plural copula ("the plate and the cup are
 *   white") joins every subject's group; those groups then share the attribute span.
 */
import { InputError, LimitError } from '../errors';
import { getLimits } from '../limits';
import { chunk } from './phrases/chunk';
import { LruCache } from './phrases/lru';
import { tagWords } from './phrases/words';
import { ClipTokenizer } from './tokenizer';

/** A piece of the caption: `caption.slice(start, end) === text` (UTF-16 code units). */
export interface Span {
  text: string;
  start: number;
  end: number;
}

/** One attribute/object group. `start`/`end` cover all its parts (predicate adjectives included). */
export interface PhraseGroup {
  /** In caption order; may be empty. */
  attributes: Span[];
  object: Span;
  start: number;
  end: number;
}

/** Groups as callers write them: words, matched in the caption (see `resolveGroups`). */
export interface SimpleGroup {
  attributes: string[];
  object: string;
}

/** Results are cached by caption string; this many distinct captions are kept (least recently used out). */
export const PHRASE_CACHE_SIZE = 20_000;
const cache = new LruCache<string, readonly PhraseGroup[]>(PHRASE_CACHE_SIZE);

export function clearPhraseCache(): void {
  cache.clear();
}

function checkCaption(caption: unknown, label: string): string {
  if (typeof caption !== 'string') {
    const what = caption === null ? 'null' : Array.isArray(caption) ? 'an array' : typeof caption;
    throw new InputError(label, `expected a caption string, got ${what}`);
  }
  const max = getLimits().maxCaptionChars;
  if (caption.length > max) {
    throw new LimitError(label, `caption has ${caption.length} UTF-16 code units, more than maxCaptionChars = ${max}`);
  }
  return caption;
}

function span(caption: string, start: number, end: number): Span {
  return Object.freeze({ text: caption.slice(start, end), start, end });
}

function freezeGroup(attributes: Span[], object: Span): PhraseGroup {
  const parts = [...attributes, object];
  return Object.freeze({
    attributes: Object.freeze(attributes) as Span[],
    object,
    start: Math.min(...parts.map((p) => p.start)),
    end: Math.max(...parts.map((p) => p.end)),
  });
}

const POSSESSIVE = /['’]s?$/;

/**
 * Only a caption's first PHRASE_PARSE_CHARS characters are parsed into groups (cut at the last space or
 * punctuation before the limit, never inside a word). compromise's tagging runs at roughly 10k characters
 * a second and grows faster than linearly, so a 900k-character caption (inside maxCaptionChars) would take
 * minutes; text this far in is beyond any CLIP text context (77 tokens ≈ 400 characters) anyway.
 */
export const PHRASE_PARSE_CHARS = 4096;

/** The prefix of `text` that is parsed: all of it when short, else cut at a word boundary. */
export function parsedPrefix(text: string): string {
  if (text.length <= PHRASE_PARSE_CHARS) return text;
  const head = text.slice(0, PHRASE_PARSE_CHARS + 1);
  let cut = PHRASE_PARSE_CHARS;
  while (cut > 0 && /[\p{L}\p{N}\p{M}'’_-]/u.test(head[cut])) cut--;
  return text.slice(0, cut > 0 ? cut : PHRASE_PARSE_CHARS);
}

/**
 * Parse a caption into attribute/object groups, in the order of their objects. Never throws on a string
 * within the caption-length limit: a caption without nouns (or empty, or punctuation only) gives `[]`.
 * The result is frozen and shared through the cache; copy it before changing it.
 */
export function parsePhrases(caption: string): PhraseGroup[] {
  const text = checkCaption(caption, 'parsePhrases(caption)');
  const hit = cache.get(text);
  if (hit) return hit as PhraseGroup[];
  const parsed = parsedPrefix(text);
  const words = /[\p{L}]/u.test(parsed) ? tagWords(parsed) : [];
  const groups = chunk(words).map((g) => {
    const first = words[g.objectFirst];
    const last = words[g.objectLast];
    let end = last.end;
    if (last.possessive) {
      const m = POSSESSIVE.exec(text.slice(last.start, last.end));
      if (m && m.index > 0) end = last.start + m.index;
    }
    return freezeGroup(
      g.attributes.map((a) => span(text, words[a].start, words[a].end)),
      span(text, first.start, end),
    );
  });
  groups.sort((a, b) => a.object.start - b.object.start);
  const frozen = Object.freeze(groups);
  cache.set(text, frozen);
  return frozen as PhraseGroup[];
}

const WORD_CHAR = /[\p{L}\p{N}]/u;

/** Index of `word` in `caption` at word boundaries, case-insensitive, avoiding taken ranges; -1 if none. */
function findWord(lower: string, word: string, taken: [number, number][]): number {
  const w = word.toLowerCase();
  for (let from = 0; ;) {
    const at = lower.indexOf(w, from);
    if (at < 0) return -1;
    const end = at + w.length;
    const bounded = !WORD_CHAR.test(lower.charAt(at - 1) || ' ') && !WORD_CHAR.test(lower.charAt(end) || ' ');
    const free = taken.every(([s, e]) => end <= s || at >= e);
    if (bounded && free) return at;
    from = at + 1;
  }
}

function checkSimpleGroup(g: unknown, label: string): SimpleGroup {
  const o = g as SimpleGroup;
  const nonEmpty = (s: unknown): boolean => typeof s === 'string' && s.trim().length > 0;
  if (typeof g !== 'object' || g === null || !nonEmpty(o.object) || !Array.isArray(o.attributes) || !o.attributes.every(nonEmpty)) {
    throw new InputError(label, 'expected {attributes: string[], object: string} with non-empty words');
  }
  return o;
}

/**
 * Explicit groups → spans. Each word (a group's attributes, then its object) is matched, case-insensitively
 * and at word boundaries, to its first occurrence in the caption not yet taken by an earlier word — groups
 * left to right, as the reference goldens place their groups. A word that is not in the caption → InputError.
 */
export function resolveGroups(caption: string, groups: readonly SimpleGroup[]): PhraseGroup[] {
  const text = checkCaption(caption, 'resolveGroups(caption)');
  if (!Array.isArray(groups)) throw new InputError('resolveGroups(groups)', 'expected an array of groups');
  const lower = text.toLowerCase();
  const taken: [number, number][] = [];
  return groups.map((raw, k) => {
    const g = checkSimpleGroup(raw, `groups[${k}]`);
    const place = (word: string, what: string): Span => {
      const at = findWord(lower, word, taken);
      if (at < 0) {
        throw new InputError(
          `groups[${k}].${what}`,
          `${JSON.stringify(word)} does not occur (again) in caption ${JSON.stringify(text.slice(0, 80))}`,
        );
      }
      taken.push([at, at + word.length]);
      return span(text, at, at + word.length);
    };
    const attributes = g.attributes.map((a, i) => place(a, `attributes[${i}]`));
    const object = place(g.object, 'object');
    attributes.sort((a, b) => a.start - b.start);
    return freezeGroup(attributes, object);
  });
}

/** A group's token positions in the caption's ids (SOT at 0). All lists ascending. */
export interface GroupTokenPositions {
  attributePositions: number[];
  objectPositions: number[];
  /** Position of the object's last BPE token; null when the object was cut off by truncation. */
  objectLast: number | null;
  /** Attribute and object positions together (a position counted once). */
  positions: number[];
  /**
   * Some of the group's tokens lie at or past `contextLength − 1` and were dropped: a caption longer than
   * the context is cut to SOT + (contextLength − 2) tokens + EOT (openai `clip.tokenize(truncate=True)`,
   * open_clip), so position contextLength − 1 holds EOT, never a caption token.
   */
  truncated: boolean;
}

function isPhraseGroup(g: unknown): g is PhraseGroup {
  const o = g as PhraseGroup;
  return (
    typeof g === 'object' &&
    g !== null &&
    typeof o.object === 'object' &&
    o.object !== null &&
    typeof o.object.start === 'number' &&
    Array.isArray(o.attributes)
  );
}

function checkSpan(s: Span, caption: string, label: string): void {
  if (!Number.isInteger(s.start) || !Number.isInteger(s.end) || s.start < 0 || s.end > caption.length || s.start >= s.end) {
    throw new InputError(label, `span [${s.start}, ${s.end}) is not a non-empty range inside the caption (length ${caption.length})`);
  }
  if (typeof s.text === 'string' && caption.slice(s.start, s.end) !== s.text) {
    throw new InputError(
      label,
      `span text ${JSON.stringify(s.text)} is not the caption's ${JSON.stringify(caption.slice(s.start, s.end))} there`,
    );
  }
}

/**
 * Map groups (parsed, or explicit `SimpleGroup`s resolved by `resolveGroups`) to token positions of the
 * caption's tokenisation (`ClipTokenizer.encodeWithOffsets`, SOT at 0): a span takes every BPE token whose
 * source characters overlap it. A span outside the caption, whose `text` differs from the caption there
 * (groups of another caption), or that covers no token (whitespace) → InputError.
 */
export function groupTokenPositions(
  caption: string,
  groups: readonly (PhraseGroup | SimpleGroup)[],
  contextLength: number,
  tokenizer?: ClipTokenizer,
): GroupTokenPositions[] {
  const text = checkCaption(caption, 'groupTokenPositions(caption)');
  if (!Number.isInteger(contextLength) || contextLength < 3) {
    throw new InputError('groupTokenPositions(contextLength)', `expected an integer ≥ 3, got ${String(contextLength)}`);
  }
  if (!Array.isArray(groups)) throw new InputError('groupTokenPositions(groups)', 'expected an array of groups');
  const explicit = groups.every((g) => !isPhraseGroup(g));
  const resolved: readonly PhraseGroup[] =
    groups.length > 0 && explicit
      ? resolveGroups(text, groups as SimpleGroup[])
      : groups.map((g, k) => {
          if (!isPhraseGroup(g)) throw new InputError(`groups[${k}]`, 'mixes explicit {attributes, object} groups with span groups');
          return g;
        });
  const { offsets } = (tokenizer ?? ClipTokenizer.default()).encodeWithOffsets(text);
  const lastKept = contextLength - 2; // highest position a caption token keeps
  const positionsOf = (s: Span, label: string): { kept: number[]; dropped: boolean } => {
    checkSpan(s, text, label);
    const kept: number[] = [];
    let any = false;
    let dropped = false;
    for (let t = 0; t < offsets.length; t++) {
      const [a, b] = offsets[t];
      if (b <= s.start || a >= s.end) continue;
      any = true;
      if (t + 1 <= lastKept) kept.push(t + 1);
      else dropped = true;
    }
    if (!any) throw new InputError(label, `span [${s.start}, ${s.end}) ${JSON.stringify(text.slice(s.start, s.end))} covers no token`);
    return { kept, dropped };
  };
  return resolved.map((g, k) => {
    let truncated = false;
    const attributePositions = new Set<number>();
    g.attributes.forEach((a, i) => {
      const r = positionsOf(a, `groups[${k}].attributes[${i}]`);
      r.kept.forEach((p) => attributePositions.add(p));
      truncated ||= r.dropped;
    });
    const o = positionsOf(g.object, `groups[${k}].object`);
    truncated ||= o.dropped;
    const attrs = [...attributePositions].sort((a, b) => a - b);
    const objectPositions = o.kept;
    return {
      attributePositions: attrs,
      objectPositions,
      objectLast: o.dropped || objectPositions.length === 0 ? null : objectPositions[objectPositions.length - 1],
      positions: [...new Set([...attrs, ...objectPositions])].sort((a, b) => a - b),
      truncated,
    };
  });
}
