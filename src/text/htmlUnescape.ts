/**
 * HTML character-reference decoding with the exact semantics of the two Python functions CLIP's cleanup uses:
 * Python's `html.unescape` (run twice by `basic_clean`) and ftfy's `unescape_html` (part of `fix_text`).
 */
import { HTML5_NAMED_ENTITIES } from './htmlEntities';
import { MappedText, replaceMapped } from './mappedText';

// Python html._charref. Named references may lack ';' (then only the legacy names decode, by longest prefix).
const PY_CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

// Python html._invalid_charrefs: what the HTML5 spec maps these numeric references to (mostly Windows-1252).
const INVALID_CHARREFS: ReadonlyMap<number, string> = new Map([
  [0x00, '\ufffd'],
  [0x0d, '\r'],
  [0x80, '\u20ac'],
  [0x81, '\x81'],
  [0x82, '\u201a'],
  [0x83, '\u0192'],
  [0x84, '\u201e'],
  [0x85, '\u2026'],
  [0x86, '\u2020'],
  [0x87, '\u2021'],
  [0x88, '\u02c6'],
  [0x89, '\u2030'],
  [0x8a, '\u0160'],
  [0x8b, '\u2039'],
  [0x8c, '\u0152'],
  [0x8d, '\x8d'],
  [0x8e, '\u017d'],
  [0x8f, '\x8f'],
  [0x90, '\x90'],
  [0x91, '\u2018'],
  [0x92, '\u2019'],
  [0x93, '\u201c'],
  [0x94, '\u201d'],
  [0x95, '\u2022'],
  [0x96, '\u2013'],
  [0x97, '\u2014'],
  [0x98, '\u02dc'],
  [0x99, '\u2122'],
  [0x9a, '\u0161'],
  [0x9b, '\u203a'],
  [0x9c, '\u0153'],
  [0x9d, '\x9d'],
  [0x9e, '\u017e'],
  [0x9f, '\u0178'],
]);

/** Python html._invalid_codepoints: numeric references to these decode to nothing. */
function isInvalidCodepoint(n: number): boolean {
  return (
    (n >= 0x1 && n <= 0x8) ||
    n === 0xb ||
    (n >= 0xe && n <= 0x1f) ||
    (n >= 0x7f && n <= 0x9f) ||
    (n >= 0xfdd0 && n <= 0xfdef) ||
    (n & 0xfffe) === 0xfffe
  );
}

/** Parse digits without overflow: anything beyond U+10FFFF only needs to be known as "too big". */
function parseCodepoint(digits: string, radix: 10 | 16): number {
  const trimmed = digits.replace(/^0+/, '');
  if (trimmed.length > 8) return 0x110000;
  return trimmed.length === 0 ? 0 : parseInt(trimmed, radix);
}

function decodeNumeric(num: number): string {
  const fixed = INVALID_CHARREFS.get(num);
  if (fixed !== undefined) return fixed;
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
  if (isInvalidCodepoint(num)) return '';
  return String.fromCodePoint(num);
}

function hasOwn(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(HTML5_NAMED_ENTITIES, name);
}

/** Python html._replace_charref for the captured group `s` (without the leading '&'). */
function replaceCharref(s: string): string {
  if (s[0] === '#') {
    const body = s.endsWith(';') ? s.slice(0, -1) : s;
    if (body[1] === 'x' || body[1] === 'X') return decodeNumeric(parseCodepoint(body.slice(2), 16));
    return decodeNumeric(parseCodepoint(body.slice(1), 10));
  }
  if (hasOwn(s)) return HTML5_NAMED_ENTITIES[s];
  // Longest legacy name that prefixes s, as the HTML5 standard defines for references without ';'.
  // Python iterates over code points of s; names are ASCII so slicing code points or units agrees on hits.
  const cps = Array.from(s);
  for (let x = cps.length - 1; x > 1; x--) {
    const prefix = cps.slice(0, x).join('');
    if (hasOwn(prefix)) return HTML5_NAMED_ENTITIES[prefix] + cps.slice(x).join('');
  }
  return '&' + s;
}

/** Python's `html.unescape(s)`, on a mapped string (each decoded character maps to its whole reference). */
export function pyHtmlUnescape(m: MappedText): MappedText {
  if (!m.text.includes('&')) return m;
  return replaceMapped(m, PY_CHARREF, (match) => replaceCharref(match[1]));
}

// ftfy.chardata.HTML_ENTITY_RE: only references with ';' and ASCII names of at most 24 characters.
const FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;

let ftfyEntities: Map<string, string> | null = null;

/** ftfy.chardata.HTML_ENTITIES: every name with ';', plus all-caps spellings of lower-case names. */
function getFtfyEntities(): Map<string, string> {
  if (ftfyEntities) return ftfyEntities;
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(HTML5_NAMED_ENTITIES)) {
    if (!name.endsWith(';')) continue;
    out.set('&' + name, value);
    if (name === name.toLowerCase()) {
      const upper = '&' + name.toUpperCase();
      // Only where Python's html.unescape leaves the all-caps spelling alone (otherwise it is ambiguous).
      if (pyUnescapeString(upper) === upper) out.set(upper, value.toUpperCase());
    }
  }
  ftfyEntities = out;
  return out;
}

function pyUnescapeString(s: string): string {
  return pyHtmlUnescape({ text: s, start: null, end: null }).text;
}

/** ftfy.fixes.unescape_html: decode complete references only (numeric ones must consume their ';'). */
export function ftfyUnescapeHtml(m: MappedText): MappedText {
  if (!m.text.includes('&')) return m;
  const table = getFtfyEntities();
  return replaceMapped(m, FTFY_ENTITY, (match) => {
    const t = match[0];
    const named = table.get(t);
    if (named !== undefined) return named;
    if (t.startsWith('&#')) {
      const u = pyUnescapeString(t);
      return u.includes(';') ? t : u;
    }
    return t;
  });
}
