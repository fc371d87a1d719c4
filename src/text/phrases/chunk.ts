import { ADJECTIVES, COLOURS, CONTAINERS, ING_NOUNS, MATERIALS, PAINT_VERBS, PLURAL_COPULAS } from './lexicon';
import type { Word } from './words';

/** A group as word indices into the tagged words. */
export interface WordGroup {
  attributes: number[];
  /** First and last word of the object (a noun run such as "dining table"). */
  objectFirst: number;
  objectLast: number;
  /** First word of the whole noun phrase, determiners and numbers included (to find subjects). */
  npStart: number;
}

/** A noun used as a modifier that is an attribute rather than part of a compound ("metal pole", "sitting dog"). */
function attributeNoun(w: Word): boolean {
  return COLOURS.has(w.lower) || MATERIALS.has(w.lower) || ADJECTIVES.has(w.lower) || (/ing$/.test(w.lower) && !ING_NOUNS.has(w.lower));
}

/**
 * Adjectives and adjectival participles before a head noun, walking left: "a small red wooden chair",
 * "a red and white bus", "a big, fluffy dog", "a very tall man", "the parked car".
 */
function modifiersBefore(words: Word[], first: number, taken: boolean[], attrs: number[]): number {
  let j = first - 1;
  while (j >= 0) {
    const w = words[j];
    if (taken[j] || w.after === '.') break;
    if (w.after === ',' && !(w.pos === 'adj' && attrs.length > 0)) break;
    const left = words[j - 1];
    if (w.pos === 'adj') {
      attrs.unshift(j);
      j--;
      continue;
    }
    if (w.pos === 'verb' && w.participle && (!left || left.after !== '' || ['det', 'num', 'adj', 'prep', 'conj'].includes(left.pos))) {
      attrs.unshift(j);
      j--;
      continue;
    }
    if (w.pos === 'adv' && attrs.length > 0 && (words[j + 1].pos === 'adj' || words[j + 1].pos === 'adv')) {
      j--;
      continue;
    }
    if (
      w.pos === 'conj' &&
      (w.lower === 'and' || w.lower === 'or' || w.lower === '&') &&
      attrs.length > 0 &&
      left?.pos === 'adj' &&
      left.after === '' &&
      !taken[j - 1]
    ) {
      j--;
      continue;
    }
    break;
  }
  let npStart = j + 1;
  while (j >= 0 && !taken[j] && words[j].after === '' && (words[j].pos === 'det' || words[j].pos === 'num')) npStart = j--;
  return npStart;
}

/** Groups of a tagged caption, in the order of their objects. */
export function chunk(words: Word[]): WordGroup[] {
  const n = words.length;
  const taken = new Array<boolean>(n).fill(false);
  const groups: WordGroup[] = [];
  let i = 0;
  while (i < n) {
    if (words[i].pos !== 'noun') {
      i++;
      continue;
    }
    let last = i;
    while (last + 1 < n && words[last].after === '' && !words[last].possessive && words[last + 1].pos === 'noun') last++;
    for (let k = i; k <= last; k++) taken[k] = true;
    const head = words[last];
    if (CONTAINERS.has(head.lower) && words[last + 1]?.lower === 'of' && head.after === '') {
      i = last + 1;
      continue;
    }
    const attrs: number[] = [];
    let first = i;
    while (first < last && attributeNoun(words[first])) attrs.push(first++);
    const npStart = modifiersBefore(words, i, taken, attrs);
    for (const a of attrs) taken[a] = true;
    groups.push({ attributes: attrs, objectFirst: first, objectLast: last, npStart });
    i = last + 1;
  }
  attachPredicates(words, groups, taken);
  return groups;
}

/** The group whose object ends at word `idx`, if any. */
const endingAt = (groups: WordGroup[], idx: number): WordGroup | undefined => groups.find((g) => g.objectLast === idx);

/**
 * Subjects of a copula at word `c`: "a dog that is brown" (the noun before the relative), "the cat on the
 * table is black" (past the prepositional phrase to "cat"), "the plate and the dog are white" (both).
 */
function subjectsOf(words: Word[], groups: WordGroup[], c: number): WordGroup[] {
  let j = c - 1;
  // "the wall is painted white", "the car is also red"
  while (j >= 0 && (words[j].pos === 'adv' || words[j].pos === 'cop') && words[j].after === '') j--;
  if (j >= 0 && words[j].pos === 'rel') j--;
  let g = endingAt(groups, j);
  if (!g) return [];
  for (;;) {
    const p = g.npStart - 1;
    const prev = words[p];
    if (!prev || prev.pos !== 'prep' || (prev.lower === 'of' && CONTAINERS.has(words[p - 1]?.lower ?? ''))) break;
    const outer = endingAt(groups, p - 1);
    if (!outer || words[p - 1].after !== '') break;
    g = outer;
  }
  const subjects = [g];
  if (PLURAL_COPULAS.has(words[c].lower)) {
    let s = g;
    for (;;) {
      const p = s.npStart - 1;
      if (words[p]?.lower !== 'and' && words[p]?.lower !== '&') break;
      const other = endingAt(groups, p - 1);
      if (!other || words[p - 1].after === '.') break;
      subjects.unshift(other);
      s = other;
    }
  }
  return subjects;
}

/**
 * Predicate adjectives: "the car is green", "a dog that is brown and white", "a wall painted white".
 * A negated predicate ("the car is not red") binds nothing: the caption says the attribute does NOT hold.
 */
function attachPredicates(words: Word[], groups: WordGroup[], taken: boolean[]): void {
  const n = words.length;
  for (let c = 0; c < n; c++) {
    if (words[c].pos !== 'cop' || words[c].after === '.') continue;
    let k = c + 1;
    let negated = false;
    while (k < n && (words[k].pos === 'adv' || words[k].pos === 'neg' || PAINT_VERBS.has(words[k].lower)) && words[k - 1].after === '') {
      if (words[k].pos === 'neg') negated = true;
      k++;
    }
    const chain: number[] = [];
    // "-ing" after a copula is the progressive ("is smiling"), not a state, unless listed as an adjective.
    const predicative = (w: Word): boolean => w.pos === 'adj' && (!/ing$/.test(w.lower) || ADJECTIVES.has(w.lower));
    while (k < n && predicative(words[k]) && !taken[k] && words[k - 1].after !== '.') {
      chain.push(k);
      if (words[k].after === '.') break;
      // "red and white", "red, white and blue", "red or green"
      let m = k + 1;
      const joined = words[k].after === ',' || ['and', 'or', '&'].includes(words[m]?.lower ?? '');
      if (words[k].after === '' && joined) m++;
      else if (words[k].after === ',' && ['and', 'or'].includes(words[m]?.lower ?? '') && words[m].after === '') m++;
      if (!joined || words[m - 1].after === '.' || !words[m] || !predicative(words[m])) break;
      k = m;
    }
    if (chain.length === 0 || negated) continue;
    for (const s of subjectsOf(words, groups, c)) {
      s.attributes = [...s.attributes, ...chain].sort((a, b) => a - b);
    }
    for (const a of chain) taken[a] = true;
  }
}
