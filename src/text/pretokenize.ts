/**
 * CLIP's pre-tokenisation: the regex of `SimpleTokenizer.pat` (the `regex` module, IGNORECASE), applied to
 * the cleaned lower-cased text. Every digit is its own pre-token; letters run together; other non-space
 * characters run together; English contractions split off; the two special-token strings are kept whole.
 */
import { getLimits } from '../limits';
import { PY_REGEX_WS } from './clean';

// JS `iu` uses simple case folding like `regex`'s IGNORECASE (so `'ſ` matches `'s`, as in the reference).
export const PRETOKEN_SOURCE = `<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^${PY_REGEX_WS}\\p{L}\\p{N}]+`;

export interface PreToken {
  /** The pre-token text (a slice of the cleaned text). */
  text: string;
  /** Start of `text` in the cleaned text, in UTF-16 code units. */
  index: number;
}

/**
 * Pre-tokens of `cleaned`, in order. A pre-token longer than `maxBpeWordChars` code units is cut into
 * consecutive chunks of at most that length (never inside a surrogate pair), each encoded as its own word:
 * this bounds the cost of BPE on pathological "words" (a 100 kB run of letters) at the price of ids that
 * differ from the reference for such words only. Ordinary text never comes near the default (1,000).
 */
export function pretokenize(cleaned: string, maxChunk: number = getLimits().maxBpeWordChars): PreToken[] {
  const re = new RegExp(PRETOKEN_SOURCE, 'giu');
  const out: PreToken[] = [];
  const limit = Math.max(2, Math.floor(maxChunk));
  // One code point is classified differently: under `regex`'s IGNORECASE, U+0345 COMBINING GREEK
  // YPOGEGRAMMENI matches no alternative (the reference drops it and it splits a letter run), while JS `iu`
  // counts it as a letter (its case folding is ι). A space has exactly the reference's effect and keeps every
  // index in place. (Checked over all code points against `regex` 2026.5: no other difference.)
  const subject = cleaned.includes('\u0345') ? cleaned.replace(/\u0345/g, ' ') : cleaned;
  for (let m = re.exec(subject); m !== null; m = re.exec(subject)) {
    const t = m[0];
    if (t.length <= limit || t === '<|startoftext|>' || t === '<|endoftext|>') {
      out.push({ text: t, index: m.index });
      continue;
    }
    for (let s = 0; s < t.length;) {
      let e = Math.min(t.length, s + limit);
      const c = t.charCodeAt(e - 1);
      if (e < t.length && c >= 0xd800 && c <= 0xdbff) e--;
      out.push({ text: t.slice(s, e), index: m.index + s });
      s = e;
    }
  }
  return out;
}
