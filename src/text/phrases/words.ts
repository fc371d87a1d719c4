import nlp from 'compromise/two';
import {
  ADJECTIVES,
  AMBIGUOUS_HEADS,
  COLOURS,
  COMPOUND_NOUNS,
  CONJUNCTIONS,
  COPULAS,
  DETERMINERS,
  ING_NOUNS,
  MATERIALS,
  NEGATIONS,
  NON_OBJECTS,
  PREPOSITIONS,
  RELATIVES,
} from './lexicon';

/** Coarse part of speech the chunker works with. */
export type Pos = 'det' | 'num' | 'adj' | 'noun' | 'verb' | 'cop' | 'conj' | 'prep' | 'pron' | 'rel' | 'adv' | 'neg' | 'other';

export interface Word {
  /** Character span [start, end) in the original caption (UTF-16 code units). */
  start: number;
  end: number;
  lower: string;
  pos: Pos;
  /** compromise's tags (of the last part, for merged words). */
  tags: ReadonlySet<string>;
  /** A participle or gerund that may act as an adjective before a noun ("a parked car"). */
  participle: boolean;
  /** Possessive noun ("the cat's collar"): ends its noun phrase. */
  possessive: boolean;
  /** Punctuation between this word and the next: '' none, ',' soft, '.' hard (also ; : ! ? brackets, quotes). */
  after: '' | ',' | '.';
}

interface Term {
  text: string;
  tags: string[];
  offset: { start: number; length: number };
  pre: string;
  post: string;
}

// compromise's `two` build tags without the phrase chunker of `three`, about 1.5× faster, which matters
// for 100k captions.
function compromiseTerms(caption: string): Term[] {
  const sentences = nlp(caption).json({ offset: true }) as { terms: Term[] }[];
  const out: Term[] = [];
  for (const s of sentences) for (const t of s.terms) out.push(t);
  return out;
}

// Quotes and slashes are not boundaries: 'a "red" car', "a red/white bus".
const HARD = /[.;:!?()[\]{}…|]/;
const LATIN = /\p{Script=Latin}/u;

function punctuation(s: string): '' | ',' | '.' {
  if (HARD.test(s)) return '.';
  if (s.includes(',')) return ',';
  return '';
}

/**
 * Locates each compromise term in the original caption. compromise reports offsets in UTF-16 units, but
 * it normalises some text (contractions, unicode), so every span is checked against the caption and, when
 * it does not match, searched for from the previous word's end; terms that cannot be found are skipped.
 */
function spans(caption: string, terms: Term[]): { term: Term; start: number; end: number }[] {
  const out: { term: Term; start: number; end: number }[] = [];
  let cursor = 0;
  const lowerCaption = caption.toLowerCase();
  for (const t of terms) {
    const text = t.text;
    if (!text) continue;
    let start = t.offset?.start ?? -1;
    if (!(start >= cursor && caption.startsWith(text, start))) {
      start = lowerCaption.indexOf(text.toLowerCase(), cursor);
      if (start < 0) continue;
    }
    const end = start + text.length;
    out.push({ term: t, start, end });
    cursor = end;
  }
  return out;
}

function basePos(lower: string, tags: ReadonlySet<string>): Pos {
  if (!LATIN.test(lower) && !/\d/.test(lower)) return 'other';
  if (NEGATIONS.has(lower)) return 'neg';
  if (COPULAS.has(lower) && (tags.has('Verb') || tags.has('Copula'))) return 'cop';
  if (CONJUNCTIONS.has(lower)) return 'conj';
  if (DETERMINERS.has(lower) || tags.has('Determiner')) return 'det';
  if (tags.has('Possessive') && tags.has('Pronoun')) return 'det';
  if (tags.has('Value') || tags.has('Cardinal') || /^\d+([.,]\d+)?$/.test(lower)) return 'num';
  if (COLOURS.has(lower) || MATERIALS.has(lower) || ADJECTIVES.has(lower)) return 'adj';
  if (PREPOSITIONS.has(lower) || tags.has('Preposition')) return 'prep';
  if (tags.has('Pronoun') || NON_OBJECTS.has(lower)) return 'pron';
  if (tags.has('Adjective')) return 'adj';
  if (tags.has('Noun')) return 'noun';
  if (tags.has('Copula')) return 'cop';
  if (tags.has('Verb')) return 'verb';
  if (tags.has('Adverb')) return 'adv';
  return 'other';
}

function isParticiple(lower: string, tags: ReadonlySet<string>): boolean {
  return tags.has('Gerund') || tags.has('Participle') || tags.has('PastTense') || tags.has('Passive') || /(ed|ing)$/.test(lower);
}

/** Joins hyphenated parts ("black-and-white", "double-decker") into one word. */
function mergeHyphens(parts: { term: Term; start: number; end: number }[], caption: string): Word[] {
  const words: Word[] = [];
  for (let i = 0; i < parts.length; i++) {
    let j = i;
    while (
      j + 1 < parts.length &&
      parts[j].term.post === '-' &&
      caption.charAt(parts[j].end) === '-' &&
      parts[j + 1].start === parts[j].end + 1
    )
      j++;
    const first = parts[i];
    const last = parts[j];
    const lower = caption.slice(first.start, last.end).toLowerCase();
    const lastTags = new Set(last.term.tags);
    let pos: Pos;
    if (j === i && first.term.pre.endsWith('&') && first.term.post.startsWith(';')) {
      pos = lower === 'amp' ? 'conj' : 'other'; // an HTML entity left in the text: "fish &amp; chips"
    } else if (j === i) pos = basePos(lower, lastTags);
    else {
      // "black-and-white", "red-haired", "well-dressed" modify; "double-decker", "x-ray" name a thing.
      const partPos = parts.slice(i, j + 1).map((p) => basePos(p.term.text.toLowerCase(), new Set(p.term.tags)));
      const lastPos = partPos[partPos.length - 1];
      // "2-story", "six-year-old" are attributes too.
      pos = partPos[0] === 'num' ? (lastPos === 'num' ? 'num' : 'adj') : lastPos === 'noun' && !partPos.includes('conj') ? 'noun' : 'adj';
    }
    words.push({
      start: first.start,
      end: last.end,
      lower,
      pos,
      tags: lastTags,
      participle: isParticiple(lower, lastTags),
      possessive:
        pos === 'noun' && (lastTags.has('Possessive') || /['’]s$/.test(lower) || (/s$/.test(lower) && /^['’]/.test(last.term.post))),
      after: punctuation(last.term.post.replace(/^;/, first.term.pre.endsWith('&') ? '' : ';') + (parts[j + 1]?.term.pre ?? '')),
    });
    i = j;
  }
  return words;
}

interface Trie {
  next: Map<string, Trie>;
  end: boolean;
}
const COMPOUND_TRIE: Trie = (() => {
  const root: Trie = { next: new Map(), end: false };
  for (const c of COMPOUND_NOUNS) {
    let node = root;
    for (const w of c.split(' ')) {
      let n = node.next.get(w);
      if (!n) {
        n = { next: new Map(), end: false };
        node.next.set(w, n);
      }
      node = n;
    }
    node.end = true;
  }
  return root;
})();

function singular(w: string): string[] {
  const out = [w];
  if (w.endsWith('ies')) out.push(w.slice(0, -3) + 'y');
  if (w.endsWith('es')) out.push(w.slice(0, -2));
  if (w.endsWith('s')) out.push(w.slice(0, -1));
  if (w.endsWith("'s")) out.push(w.slice(0, -2));
  return out;
}

/** Merges listed multi-word nouns ("traffic light", "hot dogs") into one noun word, longest match first. */
function mergeCompounds(words: Word[]): Word[] {
  const out: Word[] = [];
  for (let i = 0; i < words.length; i++) {
    let node: Trie = COMPOUND_TRIE;
    let best = -1;
    for (let j = i; j < words.length; j++) {
      const exact = node.next.get(words[j].lower);
      if (exact) {
        if (exact.end) best = j;
        if (words[j].after !== '') break;
        node = exact;
        continue;
      }
      // Only the last word may be inflected ("traffic lights"), so an inflected match ends the walk.
      if (
        singular(words[j].lower)
          .slice(1)
          .some((f) => node.next.get(f)?.end)
      )
        best = j;
      break;
    }
    if (best > i) {
      const last = words[best];
      out.push({
        start: words[i].start,
        end: last.end,
        lower: words
          .slice(i, best + 1)
          .map((w) => w.lower)
          .join(' '),
        pos: 'noun',
        tags: last.tags,
        participle: false,
        possessive: last.possessive,
        after: last.after,
      });
      i = best;
    } else out.push(words[i]);
  }
  return out;
}

/** Context rules compromise cannot know about captions. */
function fixPos(words: Word[]): void {
  const n = words.length;
  for (let i = 0; i < n; i++) {
    const w = words[i];
    const prev = words[i - 1];
    if (w.lower === 'next' && words[i + 1]?.lower === 'to') w.pos = 'prep';
    if (RELATIVES.has(w.lower)) {
      const nx = words[i + 1];
      if (nx && (nx.pos === 'cop' || nx.pos === 'verb' || nx.pos === 'adv' || nx.pos === 'neg')) w.pos = 'rel';
    }
    // "a man riding a wave": compromise often calls the -ing verb after a noun a noun.
    if (
      w.pos === 'noun' &&
      /ing$/.test(w.lower) &&
      !ING_NOUNS.has(w.lower) &&
      prev?.pos === 'noun' &&
      prev.after === '' &&
      !prev.possessive
    )
      w.pos = 'verb';
  }
  // A noun phrase that compromise left without a noun ("the white surf and ...", "the silver fork"): its
  // last word is the head. Before the ambiguous words, so that "silver" then sees a noun after it.
  for (let i = 0; i < n; i++) {
    const w = words[i];
    if (
      !(w.pos === 'adj' || w.pos === 'verb' || w.pos === 'adv') ||
      COLOURS.has(w.lower) ||
      ADJECTIVES.has(w.lower) ||
      MATERIALS.has(w.lower) ||
      AMBIGUOUS_HEADS.has(w.lower)
    )
      continue;
    const next = w.after === '' ? words[i + 1] : undefined;
    if (next && (next.pos === 'noun' || next.pos === 'adj' || next.pos === 'adv' || next.pos === 'other')) continue;
    let j = i - 1;
    while (
      j >= 0 &&
      words[j].after !== '.' &&
      (words[j].pos === 'adj' || words[j].pos === 'adv' || (words[j].pos === 'conj' && words[j - 1]?.pos === 'adj'))
    )
      j--;
    if (j >= 0 && j < i && words[j].after === '' && words[j].pos === 'det' && (j === i - 1 || words[i - 1].pos === 'adj')) {
      w.pos = 'noun';
    }
  }
  // Right to left so that "a orange square" sees "square" as a noun before deciding on "orange".
  for (let i = n - 1; i >= 0; i--) {
    const w = words[i];
    if (!AMBIGUOUS_HEADS.has(w.lower)) continue;
    const next = w.after === '' ? words[i + 1] : undefined;
    const prev = words[i - 1];
    const prevOk = prev !== undefined && prev.after === '' && (prev.pos === 'det' || prev.pos === 'adj' || prev.pos === 'num');
    // "an orange and white cat": coordinated with a following adjective, still an attribute
    const coordinated = next?.pos === 'conj' && next.after === '' && words[i + 2]?.pos === 'adj';
    if (next && (next.pos === 'noun' || coordinated || (next.pos === 'adj' && COLOURS.has(w.lower)))) w.pos = 'adj';
    else if (prevOk) w.pos = 'noun';
  }
}

/** Caption → words with spans and coarse parts of speech. */
export function tagWords(caption: string): Word[] {
  const words = mergeCompounds(mergeHyphens(spans(caption, compromiseTerms(caption)), caption));
  fixPos(words);
  return words;
}
