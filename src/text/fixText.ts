/**
 * The parts of `ftfy.fix_text` (ftfy 6.x, default config) that change ordinary text, which OpenAI's tokenizer
 * runs before anything else. Each step follows the ftfy function of the same name, and the whole set is
 * repeated until the text stops changing, as `ftfy.fix_and_explain` does.
 *
 * Covered: `unescape_html` ("auto": not on lines from the first one containing '<' onwards), `fix_c1_controls`
 * (U+0080–U+009F read as Windows-1252), `fix_latin_ligatures`, `fix_character_width` (full-/half-width forms
 * and U+3000), `uncurl_quotes`, `fix_line_breaks`, `fix_surrogates` (lone surrogates → U+FFFD),
 * `remove_terminal_escapes`, `remove_control_chars`, NFC.
 *
 * NOT covered: `fix_encoding` (mojibake repair such as "cafÃ©" → "café", `restore_byte_a0`,
 * `replace_lossy_sequences`, `decode_inconsistent_utf8`) — it is a statistical heuristic over many legacy
 * encodings; ftfy's 1,000,000-character segment limit; Unicode data comes from the JS engine rather than
 * Python's (they differ only on characters assigned after Unicode 14).
 */
import { MappedText, replaceMapped } from './mappedText';
import { ftfyUnescapeHtml } from './htmlUnescape';

// ftfy.chardata.LIGATURES
const LIGATURES: Readonly<Record<string, string>> = {
  '\u0132': 'IJ',
  '\u0133': 'ij',
  '\u0149': '\u02bcn',
  '\u01f1': 'DZ',
  '\u01f2': 'Dz',
  '\u01f3': 'dz',
  '\u01c4': 'D\u017d',
  '\u01c5': 'D\u017e',
  '\u01c6': 'd\u017e',
  '\u01c7': 'LJ',
  '\u01c8': 'Lj',
  '\u01c9': 'lj',
  '\u01ca': 'NJ',
  '\u01cb': 'Nj',
  '\u01cc': 'nj',
  '\ufb00': 'ff',
  '\ufb01': 'fi',
  '\ufb02': 'fl',
  '\ufb03': 'ffi',
  '\ufb04': 'ffl',
  '\ufb05': '\u017ft',
  '\ufb06': 'st',
};
const LIGATURE_RE = /[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;

// ftfy.chardata.WIDTH_MAP: U+3000 → space, U+FF01–U+FFEF → their NFKC form where that differs.
const WIDTH_RE = /[\u3000\uff01-\uffef]/g;
function widthFix(ch: string): string {
  return ch === '\u3000' ? ' ' : ch.normalize('NFKC');
}

// Windows-1252 for 0x80–0x9F, "sloppy" (undefined bytes keep their C1 code point), as ftfy decodes C1 controls.
const CP1252_C1 =
  '\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f' +
  '\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178';
const C1_RE = /[\x80-\x9f]/g;

const SINGLE_QUOTE_RE = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTE_RE = /[\u201c-\u201f]/g;
const LINE_BREAK_RE = /\r\n|[\r\u2028\u2029\x85]/g;
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const ANSI_RE = /\x1b\[((?:\d|;)*)([a-zA-Z])/g;
// ftfy.chardata.CONTROL_CHARS
const CONTROL_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

/**
 * Replace every lone surrogate by U+FFFD. Run unconditionally (also with fixText off): the reference would
 * fail to UTF-8-encode one, and U+FFFD is what ftfy and TextEncoder both produce.
 */
export function replaceLoneSurrogates(m: MappedText): MappedText {
  return replaceMapped(m, LONE_SURROGATE_RE, () => '\ufffd');
}

/**
 * NFC with offsets: normalise each run "character + following marks / Hangul jamo" on its own; canonical
 * composition never crosses such a boundary in practice. If the concatenation ever disagrees with whole-string
 * NFC, fall back to one replacement of the whole text (ids stay exact, offsets get coarse).
 */
const NFC_SEGMENT_RE = /[^\p{M}\u1160-\u11ff][\p{M}\u1160-\u11ff]*|[\p{M}\u1160-\u11ff]+/gsu;
const NFC_SUSPECT_RE = /[^\x00-\x7f]/;
function nfc(m: MappedText): MappedText {
  if (!NFC_SUSPECT_RE.test(m.text)) return m;
  const whole = m.text.normalize('NFC');
  if (whole === m.text) return m;
  if (m.start === null) return { text: whole, start: null, end: null };
  const out = replaceMapped(m, NFC_SEGMENT_RE, (match) => match[0].normalize('NFC'));
  if (out.text === whole) return out;
  return replaceMapped(m, /[\s\S]+/g, () => whole);
}

function fixSegmentOnce(m: MappedText, unescape: boolean): MappedText {
  if (unescape) m = ftfyUnescapeHtml(m);
  m = replaceMapped(m, C1_RE, (x) => CP1252_C1[x[0].charCodeAt(0) - 0x80]);
  m = replaceMapped(m, LIGATURE_RE, (x) => LIGATURES[x[0]]);
  m = replaceMapped(m, WIDTH_RE, (x) => widthFix(x[0]));
  m = replaceMapped(m, DOUBLE_QUOTE_RE, () => '"');
  m = replaceMapped(m, SINGLE_QUOTE_RE, () => "'");
  m = replaceMapped(m, LINE_BREAK_RE, () => '\n');
  m = replaceLoneSurrogates(m);
  m = replaceMapped(m, ANSI_RE, () => '');
  m = replaceMapped(m, CONTROL_RE, () => '');
  return nfc(m);
}

/** Bound on fix-until-stable rounds; every step is idempotent except entity decoding, which shrinks text. */
const MAX_ROUNDS = 64;

function fixSegment(m: MappedText, unescape: boolean): MappedText {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const next = fixSegmentOnce(m, unescape);
    if (next.text === m.text) return next;
    m = next;
  }
  return m;
}

/** `ftfy.fix_text` (the covered parts), on a mapped string. */
export function fixText(m: MappedText): MappedText {
  // ftfy fixes line by line and stops decoding entities from the first line that contains '<' (HTML).
  const lt = m.text.indexOf('<');
  if (lt < 0) return fixSegment(m, true);
  const cut = m.text.lastIndexOf('\n', lt) + 1;
  if (cut === 0) return fixSegment(m, false);
  const head = fixSegment(slice(m, 0, cut), true);
  const tail = fixSegment(slice(m, cut, m.text.length), false);
  return concat(head, tail);
}

function slice(m: MappedText, from: number, to: number): MappedText {
  return {
    text: m.text.slice(from, to),
    start: m.start ? m.start.slice(from, to) : null,
    end: m.end ? m.end.slice(from, to) : null,
  };
}

function concat(a: MappedText, b: MappedText): MappedText {
  if (!a.start || !a.end || !b.start || !b.end) return { text: a.text + b.text, start: null, end: null };
  const start = new Int32Array(a.text.length + b.text.length);
  const end = new Int32Array(start.length);
  start.set(a.start);
  start.set(b.start, a.text.length);
  end.set(a.end);
  end.set(b.end, a.text.length);
  return { text: a.text + b.text, start, end };
}
