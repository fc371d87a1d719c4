/**
 * The text cleanup of openai/CLIP `simple_tokenizer.py`:
 *   whitespace_clean(basic_clean(text)).lower()
 * = ftfy.fix_text → html.unescape twice → strip → collapse `\s+` to ' ' → strip → str.lower().
 * Python semantics are reproduced where JavaScript differs (whitespace sets, lower-casing); see below.
 */
import { MappedText, mapped, replaceMapped } from './mappedText';
import { pyHtmlUnescape } from './htmlUnescape';
import { fixText, replaceLoneSurrogates } from './fixText';

/**
 * `\s` of the `regex` module that CLIP uses: exactly the Unicode White_Space property. JS `\s` differs
 * (it adds U+FEFF and lacks U+0085), so it is spelled out.
 */
export const PY_REGEX_WS = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** What Python's `str.strip()` removes (`str.isspace`): White_Space plus U+001C–U+001F. */
const PY_STRIP_CLASS = `[${PY_REGEX_WS}\\x1c-\\x1f]`;
const STRIP_RE = new RegExp(`^${PY_STRIP_CLASS}+|${PY_STRIP_CLASS}+$`, 'g');
const WS_RUN_RE = new RegExp(`[${PY_REGEX_WS}]+`, 'g');

export interface CleanOptions {
  /** Run the ftfy-like fixes first (default true), as OpenAI's tokenizer does. */
  fixText?: boolean;
}

function strip(m: MappedText): MappedText {
  return replaceMapped(m, STRIP_RE, () => '');
}

const UPPER_OR_NON_ASCII_RE = /[A-Z\u0080-\uffff]/;
const NON_ASCII_RE = /[^\x00-\x7f]/;
const ASCII_UPPER_RE = /[A-Z]/g;
// Exactly the code points whose lower-case form differs from themselves.
const CHANGES_WHEN_LOWERED_RE = /\p{Changes_When_Lowercased}/gu;

/**
 * Python's `str.lower()`: full Unicode lowering (`İ` → `i̇`, two code points) with the final-sigma rule
 * (Σ → ς at the end of a word). JS `toLowerCase()` implements the same SpecialCasing rules; we lower each
 * changing code point on its own (for the offsets) and take Σ's form from the whole-string result, which
 * carries the context.
 */
export function pyLower(m: MappedText): MappedText {
  const t = m.text;
  if (!UPPER_OR_NON_ASCII_RE.test(t)) return m;
  if (!NON_ASCII_RE.test(t)) return replaceMapped(m, ASCII_UPPER_RE, (x) => x[0].toLowerCase());
  const whole = t.toLowerCase();
  let delta = 0; // length change so far: position in `whole` = position in `t` + delta
  let consistent = true;
  const out = replaceMapped(m, CHANGES_WHEN_LOWERED_RE, (x) => {
    const at = x.index + delta;
    let low = x[0].toLowerCase();
    if (x[0] === '\u03a3') low = whole[at];
    else if (!whole.startsWith(low, at)) consistent = false;
    delta += low.length - x[0].length;
    return low;
  });
  if (consistent && out.text === whole) return out;
  // Cannot happen with a conforming engine; keep ids right at the price of coarse offsets.
  return replaceMapped(m, /[\s\S]+/g, () => whole);
}

/**
 * Cleaned, lower-cased text exactly as the reference feeds it to the pre-tokenizer. With `track`, every code
 * unit of the result knows its span in `text`.
 */
export function cleanText(text: string, opts: CleanOptions = {}, track = false): MappedText {
  let m = mapped(text, track);
  m = opts.fixText === false ? replaceLoneSurrogates(m) : fixText(m);
  m = pyHtmlUnescape(pyHtmlUnescape(m));
  m = strip(m);
  m = replaceMapped(m, WS_RUN_RE, () => ' ');
  m = strip(m);
  return pyLower(m);
}
