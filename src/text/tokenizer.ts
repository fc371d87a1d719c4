/**
 * `ClipTokenizer`: the openai/CLIP `SimpleTokenizer` in TypeScript, plus offsets into the original caption.
 * Ids match the reference exactly (see test/text/tokenizer.test.ts against the vendored reference cases);
 * the only intended deviations are documented at `pretokenize` (very long words) and `fixText` (mojibake).
 */
import { LimitError, TokenizerError } from '../errors';
import { getLimits } from '../limits';
import { bpeBytes } from './bpe';
import { cleanText } from './clean';
import { EOT_TOKEN, SOT_TOKEN, VOCAB_SIZE } from './constants';
import { pretokenize } from './pretokenize';
import { Vocab, defaultBpePath, loadVocab } from './vocab';

export interface ClipTokenizerOptions {
  /** Run the ftfy-like text fixes first, as OpenAI does (default true). See `fixText.ts` for the coverage. */
  fixText?: boolean;
  /** Merges file (`.txt` or `.txt.gz`); default: the one shipped in the package's `assets/`. */
  bpePath?: string;
}

/** Token ids with, for each, the span `[start, end)` of the ORIGINAL text (UTF-16 code units) it came from. */
export interface EncodingWithOffsets {
  ids: number[];
  offsets: [number, number][];
}

/** Pre-tokens longer than this are not cached (they are rare and would make the cache large). */
const CACHE_MAX_KEY = 64;
const CACHE_MAX_ENTRIES = 50_000;

const vocabs = new Map<string, Vocab>();
function vocabFor(p: string): Vocab {
  let v = vocabs.get(p);
  if (!v) {
    v = loadVocab(p);
    vocabs.set(p, v);
  }
  return v;
}

/** Shorten a caption for an error message. */
export function abbreviate(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, ' ');
  return JSON.stringify(flat.length > max ? flat.slice(0, max - 1) + '…' : flat);
}

export function checkText(text: unknown, label = 'text'): string {
  if (typeof text !== 'string') {
    const what = text === null ? 'null' : Array.isArray(text) ? 'an array' : typeof text;
    throw new TokenizerError(label, `expected a string, got ${what}`);
  }
  const max = getLimits().maxCaptionChars;
  if (text.length > max) {
    throw new LimitError(
      abbreviate(text),
      `caption has ${text.length} UTF-16 code units, more than ` + `maxCaptionChars = ${max} (raise it with setLimits)`,
    );
  }
  return text;
}

const encoder = new TextEncoder();
const ASCII_RE = /^[\x00-\x7f]*$/;

function utf8(s: string): Uint8Array {
  if (ASCII_RE.test(s)) {
    const b = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
    return b;
  }
  return encoder.encode(s);
}

export class ClipTokenizer {
  private static shared: ClipTokenizer | null = null;
  readonly fixText: boolean;
  private readonly vocab: Vocab;
  private readonly cache = new Map<string, number[]>();

  /** The tokenizer with default options, loaded once and shared (the model and ABE code use it). */
  static default(): ClipTokenizer {
    if (!ClipTokenizer.shared) ClipTokenizer.shared = new ClipTokenizer();
    return ClipTokenizer.shared;
  }

  constructor(opts: ClipTokenizerOptions = {}) {
    this.fixText = opts.fixText !== false;
    this.vocab = vocabFor(opts.bpePath ?? defaultBpePath());
  }

  /** The cleaned, lower-cased text the reference splits into words (what the ids spell, minus spaces). */
  clean(text: string): string {
    return cleanText(checkText(text), { fixText: this.fixText }).text;
  }

  /** Token ids of `text` without SOT/EOT (`SimpleTokenizer.encode`). */
  encode(text: string): number[] {
    const cleaned = this.clean(text);
    const ids: number[] = [];
    for (const p of pretokenize(cleaned)) for (const id of this.word(p.text)) ids.push(id);
    return ids;
  }

  /**
   * Ids (as `encode`) and, per token, the span of the original `text` it comes from. A token made from a
   * character that cleanup produced (an HTML entity, a ligature, a lower-cased `İ`) maps to the span of what
   * produced it; tokens that split one character's UTF-8 bytes all map to that character.
   */
  encodeWithOffsets(text: string): EncodingWithOffsets {
    const m = cleanText(checkText(text), { fixText: this.fixText }, true);
    const start = m.start!;
    const end = m.end!;
    const ids: number[] = [];
    const offsets: [number, number][] = [];
    for (const p of pretokenize(m.text)) {
      const word = p.text;
      const wordIds = this.word(word);
      // Walk the word's characters alongside the tokens' bytes: `cu` is the code unit (in the word) of the
      // character holding byte `b`, which starts at byte `cb` and is `clen` bytes / `cun` units long.
      let cu = 0;
      let cb = 0;
      let clen = 0;
      let cun = 0;
      const measure = (): void => {
        const cp = word.codePointAt(cu)!;
        cun = cp > 0xffff ? 2 : 1;
        clen = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      };
      measure();
      let b = 0;
      for (const id of wordIds) {
        const nb = id === SOT_TOKEN || id === EOT_TOKEN ? word.length : this.vocab.tokenBytes[id].length;
        while (b >= cb + clen) {
          cb += clen;
          cu += cun;
          measure();
        }
        const u0 = p.index + cu;
        const last = b + nb - 1;
        while (last >= cb + clen) {
          cb += clen;
          cu += cun;
          measure();
        }
        const u1 = p.index + cu + cun;
        let lo = start[u0];
        let hi = end[u0];
        for (let u = u0 + 1; u < u1; u++) {
          if (start[u] < lo) lo = start[u];
          if (end[u] > hi) hi = end[u];
        }
        ids.push(id);
        offsets.push([lo, hi]);
        b += nb;
      }
    }
    return { ids, offsets };
  }

  /** Text of token ids, as the reference's `decode` (end-of-word → space); for debugging. */
  decode(ids: ArrayLike<number>): string {
    const parts: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= VOCAB_SIZE) {
        throw new TokenizerError(`ids[${i}]`, `${id} is not a token id (0 ≤ id < ${VOCAB_SIZE})`);
      }
      for (const byte of this.vocab.tokenBytes[id]) parts.push(byte);
      if (this.vocab.endsWord[id]) parts.push(0x20);
    }
    return new TextDecoder('utf-8').decode(Uint8Array.from(parts));
  }

  /** UTF-8 bytes a token id stands for (without the end-of-word marker). */
  tokenBytes(id: number): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= VOCAB_SIZE) throw new TokenizerError('id', `${id} is not a token id`);
    return this.vocab.tokenBytes[id].slice();
  }

  /** BPE of one pre-token (`SimpleTokenizer.bpe` + encoder lookup), cached. */
  private word(token: string): number[] {
    if (token === '<|startoftext|>') return [SOT_TOKEN];
    if (token === '<|endoftext|>') return [EOT_TOKEN];
    const hit = this.cache.get(token);
    if (hit) return hit;
    const ids = bpeBytes(utf8(token), this.vocab);
    if (token.length <= CACHE_MAX_KEY) {
      // A full reset is enough here: captions reuse a small working set of words.
      if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
      this.cache.set(token, ids);
    }
    return ids;
  }
}
