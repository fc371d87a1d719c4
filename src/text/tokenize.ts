/**
 * `clip.tokenize`: captions → fixed-length rows `[SOT, ids…, EOT, 0…]`.
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError, TokenizerError } from '../errors';
import { DEFAULT_CONTEXT_LENGTH, EOT_TOKEN, PAD_TOKEN, SOT_TOKEN } from './constants';
import { ClipTokenizer, abbreviate } from './tokenizer';

export interface TokenizeOptions {
  /** Row length, SOT and EOT included (default 77). */
  contextLength?: number;
  /** Cut captions that do not fit, keeping EOT as the last token (default false: throw TokenizerError). */
  truncate?: boolean;
  /** Tokenizer to use (default `ClipTokenizer.default()`). */
  tokenizer?: ClipTokenizer;
}

const KNOWN_OPTIONS = new Set(['contextLength', 'truncate', 'tokenizer']);

function normaliseInput(texts: unknown): string[] {
  if (typeof texts === 'string') return [texts];
  if (!Array.isArray(texts)) {
    throw new TokenizerError('texts', `expected a string or an array of strings, got ${texts === null ? 'null' : typeof texts}`);
  }
  texts.forEach((t, i) => {
    if (typeof t !== 'string') throw new TokenizerError(`texts[${i}]`, `expected a string, got ${t === null ? 'null' : typeof t}`);
  });
  return texts as string[];
}

function resolveOptions(opts: TokenizeOptions): { L: number; truncate: boolean; tok: ClipTokenizer } {
  for (const k of Object.keys(opts)) {
    if (!KNOWN_OPTIONS.has(k)) throw new OptionsError('tokenize', `unknown option '${k}'`);
  }
  const L = opts.contextLength ?? DEFAULT_CONTEXT_LENGTH;
  if (!Number.isInteger(L) || L < 2 || L > 65536) {
    throw new OptionsError('tokenize', `contextLength must be an integer in 2..65536 (room for SOT and EOT), got ${String(L)}`);
  }
  return { L, truncate: opts.truncate === true, tok: opts.tokenizer ?? ClipTokenizer.default() };
}

/**
 * Host-side `clip.tokenize`: one Int32Array row of length `contextLength` per caption, zero-padded.
 * Throws TokenizerError naming the caption when it needs more than `contextLength` tokens and `truncate`
 * is false; with `truncate`, keeps the first `contextLength` tokens and sets the last to EOT.
 */
export function tokenizeToArrays(texts: string | string[], opts: TokenizeOptions = {}): Int32Array[] {
  const list = normaliseInput(texts);
  const { L, truncate, tok } = resolveOptions(opts);
  return list.map((text, i) => {
    const ids = tok.encode(text);
    const row = new Int32Array(L).fill(PAD_TOKEN);
    const total = ids.length + 2;
    if (total > L && !truncate) {
      throw new TokenizerError(
        `texts[${i}] ${abbreviate(text)}`,
        `needs ${total} tokens with SOT/EOT, more than contextLength ${L}; pass truncate: true to cut it`,
      );
    }
    row[0] = SOT_TOKEN;
    const n = Math.min(ids.length, L - 2);
    for (let k = 0; k < n; k++) row[k + 1] = ids[k];
    row[Math.min(total, L) - 1] = EOT_TOKEN;
    return row;
  });
}

/** `clip.tokenize` as a tensor: int32 `[m, contextLength]` (the caller owns and disposes it). */
export function tokenize(texts: string | string[], opts: TokenizeOptions = {}): tf.Tensor2D {
  const rows = tokenizeToArrays(texts, opts);
  const L = opts.contextLength ?? DEFAULT_CONTEXT_LENGTH;
  const flat = new Int32Array(rows.length * L);
  rows.forEach((r, i) => flat.set(r, i * L));
  return tf.tensor2d(flat, [rows.length, L], 'int32');
}
