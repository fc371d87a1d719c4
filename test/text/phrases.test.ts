import { expect } from 'chai';
import * as fs from 'fs';
import { InputError, LimitError } from '../../src/errors';
import { setLimits } from '../../src/limits';
import { ClipTokenizer } from '../../src/text/tokenizer';
import { PhraseGroup, SimpleGroup, clearPhraseCache, groupTokenPositions, parsePhrases, resolveGroups } from '../../src/text/phrases';
import { fixturePath } from '../helpers/paths';

/** `heldout`: labelled after the parser rules were written and not used to tune them. */
interface Labelled {
  category: string;
  caption: string;
  groups: SimpleGroup[];
  heldout?: boolean;
}

const LABELLED: Labelled[] = fs
  .readFileSync(fixturePath('phrases', 'captions.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as Labelled);

const key = (g: PhraseGroup): string => `${g.attributes.map((a) => `${a.start}:${a.end}`).join(',')}|${g.object.start}:${g.object.end}`;
const show = (gs: readonly PhraseGroup[]): string =>
  gs.map((g) => `(${g.attributes.map((a) => a.text).join(', ')} | ${g.object.text})`).join(' ');

interface Score {
  captions: number;
  exactCaptions: number;
  gold: number;
  predicted: number;
  matched: number;
  misses: string[];
}

/** Group-level scores: a predicted group counts when its object span and attribute spans equal a gold group's. */
function score(items: Labelled[]): Score {
  const s: Score = { captions: 0, exactCaptions: 0, gold: 0, predicted: 0, matched: 0, misses: [] };
  for (const it of items) {
    const gold = resolveGroups(it.caption, it.groups);
    const pred = parsePhrases(it.caption);
    const goldKeys = new Set(gold.map(key));
    const matched = pred.filter((g) => goldKeys.has(key(g))).length;
    s.captions++;
    s.gold += gold.length;
    s.predicted += pred.length;
    s.matched += matched;
    if (matched === gold.length && pred.length === gold.length) s.exactCaptions++;
    else s.misses.push(`${JSON.stringify(it.caption)}: got ${show(pred)}; want ${show(gold)}`);
  }
  return s;
}

const pct = (a: number, b: number): string => (b === 0 ? 'n/a' : `${((100 * a) / b).toFixed(1)}%`);
const ratio = (a: number, b: number): number => (b === 0 ? 1 : a / b);

const COLORS = ['red', 'green', 'blue', 'yellow', 'purple', 'white', 'orange', 'cyan'];
const SHAPES = ['square', 'circle', 'triangle', 'cross', 'star', 'diamond'];

describe('text/phrases: parsePhrases on the hand-labelled set (test/fixtures/phrases/captions.jsonl)', () => {
  const categories = [...new Set(LABELLED.map((l) => l.category))];
  const rest = LABELLED.filter((l) => l.category !== 'aro' && l.category !== 'toy');

  it('the set holds ≥ 80 captions: ≥ 20 ARO-template, ≥ 20 COCO-style, toy captions', () => {
    expect(LABELLED.length).to.be.at.least(80);
    expect(LABELLED.filter((l) => l.category === 'aro').length).to.be.at.least(20);
    expect(LABELLED.filter((l) => l.category === 'coco').length).to.be.at.least(20);
    expect(LABELLED.filter((l) => l.category === 'toy').length).to.be.at.least(1);
  });

  it('prints group-level precision / recall / exact captions per category; ARO ≥ 95%, the rest ≥ 85%, toy 100%', () => {
    clearPhraseCache();
    const lines: string[] = [];
    const row = (name: string, s: Score): void => {
      lines.push(
        `    ${name.padEnd(13)} captions ${String(s.captions).padStart(3)}  groups ${String(s.gold).padStart(3)}  ` +
          `precision ${pct(s.matched, s.predicted).padStart(6)}  recall ${pct(s.matched, s.gold).padStart(6)}  ` +
          `exact captions ${pct(s.exactCaptions, s.captions).padStart(6)}`,
      );
    };
    for (const c of categories) row(c, score(LABELLED.filter((l) => l.category === c)));
    const aro = score(LABELLED.filter((l) => l.category === 'aro'));
    const others = score(rest);
    const toy = score(LABELLED.filter((l) => l.category === 'toy'));
    row('all but aro/toy', others);
    row('all', score(LABELLED));
    row('held-out only', score(LABELLED.filter((l) => l.heldout)));
    const misses = [...aro.misses, ...others.misses, ...toy.misses];
    console.log(`\n  phrase parser, hand-labelled set:\n${lines.join('\n')}`);
    if (misses.length) console.log(`  misses:\n${misses.map((m) => `    ${m}`).join('\n')}`);
    expect(ratio(aro.matched, aro.gold), 'ARO recall').to.be.at.least(0.95);
    expect(ratio(aro.matched, aro.predicted), 'ARO precision').to.be.at.least(0.95);
    expect(ratio(others.matched, others.gold), 'other recall').to.be.at.least(0.85);
    expect(ratio(others.matched, others.predicted), 'other precision').to.be.at.least(0.85);
    expect(toy.misses, 'toy captions').to.deep.equal([]);
  });

  it('toy-shapes templates: all 8×6 × 8×6 "a {c} {s} and a {c} {s}" captions exactly right; "a {c} {s}", "next to", "a photo of a" for every pair', () => {
    const bad: string[] = [];
    const check = (caption: string, pairs: [string, string][]): void => {
      const got = parsePhrases(caption);
      const want = resolveGroups(
        caption,
        pairs.map(([c, s]) => ({ attributes: [c], object: s })),
      );
      if (got.map(key).join(' ') !== want.map(key).join(' ')) bad.push(`${caption}: ${show(got)}`);
    };
    COLORS.forEach((c1, i) =>
      SHAPES.forEach((s1, j) => {
        check(`a ${c1} ${s1}`, [[c1, s1]]);
        check(`a photo of a ${c1} ${s1}`, [[c1, s1]]);
        // the training templates' other two forms, with a partner that differs in colour and shape
        const c2 = COLORS[(i + 1 + j) % COLORS.length];
        const s2 = SHAPES[(j + 1 + i) % SHAPES.length];
        check(`a ${c1} ${s1} next to a ${c2} ${s2}`, [
          [c1, s1],
          [c2, s2],
        ]);
        check(`a photo of a ${c1} ${s1} and a ${c2} ${s2}`, [
          [c1, s1],
          [c2, s2],
        ]);
        for (const c of COLORS)
          for (const s of SHAPES)
            check(`a ${c1} ${s1} and a ${c} ${s}`, [
              [c1, s1],
              [c, s],
            ]);
      }),
    );
    expect(bad.slice(0, 10)).to.deep.equal([]);
  });

  it('is fast: prints captions/s, uncached (after warm-up) and cached', () => {
    const caps = LABELLED.map((l) => l.caption);
    for (const c of caps) parsePhrases(`${c} warm`);
    clearPhraseCache();
    const t0 = process.hrtime.bigint();
    let n = 0;
    for (let r = 0; r < 3; r++)
      for (const c of caps) {
        parsePhrases(`${c} ${r}`);
        n++;
      }
    const uncached = n / (Number(process.hrtime.bigint() - t0) / 1e9);
    const t1 = process.hrtime.bigint();
    for (let r = 0; r < 100; r++) for (const c of caps) parsePhrases(c);
    const cached = (100 * caps.length) / (Number(process.hrtime.bigint() - t1) / 1e9);
    console.log(`  phrase parser: ${uncached.toFixed(0)} captions/s uncached, ${cached.toFixed(0)} captions/s cached`);
    expect(uncached).to.be.above(50);
  });
});

describe('text/phrases: parsePhrases rules', () => {
  const parse = (c: string): string => show(parsePhrases(c));

  it('spans index the original caption, attributes in caption order, group span covers its parts', () => {
    const c = '  The  CAR on the left is Green, and a dog that is brown.';
    for (const g of parsePhrases(c)) {
      for (const s of [...g.attributes, g.object]) expect(c.slice(s.start, s.end)).to.equal(s.text);
      const starts = g.attributes.map((a) => a.start);
      expect(starts).to.deep.equal([...starts].sort((a, b) => a - b));
      expect(g.start).to.equal(Math.min(...[...g.attributes, g.object].map((s) => s.start)));
      expect(g.end).to.equal(Math.max(...[...g.attributes, g.object].map((s) => s.end)));
    }
    expect(parse(c)).to.equal('(Green | CAR) ( | left) (brown | dog)');
  });

  it('numbers are not attributes; container nouns before "of" are not objects', () => {
    expect(parse('two black cats')).to.equal('(black | cats)');
    expect(parse('two dogs playing in the snow')).to.equal('( | dogs) ( | snow)');
    expect(parse('a photo of a small wooden chair next to a dog')).to.equal('(small, wooden | chair) ( | dog)');
    expect(parse('a man on top of a car')).to.equal('( | man) ( | car)');
  });

  it('colour words compromise calls nouns still bind as attributes; "an orange" alone is an object', () => {
    expect(parse('a orange star')).to.equal('(orange | star)');
    expect(parse('the white square')).to.equal('(white | square)');
    expect(parse('an orange on a table')).to.equal('( | orange) ( | table)');
    expect(parse('the star is orange')).to.equal('(orange | star)');
    expect(parse('an orange and white cat')).to.equal('(orange, white | cat)');
    expect(parse('a light blue shirt and a square table')).to.equal('(light, blue | shirt) (square | table)');
  });

  it('possessives end a noun phrase and drop the "\'s" from the object span', () => {
    expect(parse("the cat's orange collar")).to.equal('( | cat) (orange | collar)');
  });

  it('predicates: negated ones bind nothing; progressives are no attributes; plural copulas reach every coordinated subject', () => {
    expect(parse('the car is not red')).to.equal('( | car)');
    expect(parse('A man that is wearing a hat is smiling.')).to.equal('( | man) ( | hat)');
    expect(parse('the wall is painted white')).to.equal('(white | wall)');
    expect(parse('the plate and the cup are white')).to.equal('(white | plate) (white | cup)');
  });

  it('results are cached and frozen (callers cannot corrupt the cache)', () => {
    const a = parsePhrases('a red cube and a blue sphere');
    expect(parsePhrases('a red cube and a blue sphere')).to.equal(a);
    expect(Object.isFrozen(a) && Object.isFrozen(a[0]) && Object.isFrozen(a[0].attributes)).to.equal(true);
  });
});

describe('text/phrases: bad input', () => {
  it('empty, whitespace, punctuation-only, emoji-only, no nouns, non-English → [] or defined groups, never a throw', () => {
    for (const c of [
      '',
      '   ',
      '!!! ... ???',
      '🐶🐱🎉',
      '日本語のテキスト',
      'very quickly and slowly',
      'is are was',
      'Ein roter Hund und eine blaue Katze',
      '🐶 a red dog 🐶',
      'a\u0000b',
      '\ud800 a lone surrogate',
      'red',
      "'s",
    ]) {
      const g = parsePhrases(c);
      expect(Array.isArray(g)).to.equal(true);
      for (const x of g) for (const s of [...x.attributes, x.object]) expect(c.slice(s.start, s.end)).to.equal(s.text);
    }
    expect(parsePhrases('')).to.deep.equal([]);
    expect(parsePhrases('!!! ... ???')).to.deep.equal([]);
    expect(parsePhrases('🐶🐱🎉')).to.deep.equal([]);
    expect(parsePhrases('日本語のテキスト')).to.deep.equal([]);
    expect(show(parsePhrases('🐶 a red dog 🐶'))).to.equal('(red | dog)');
  });

  it('a 500-word caption parses within a second', () => {
    const words = 'a small red wooden chair next to the white dog on a green field and'.split(' ');
    const c = Array.from({ length: 500 }, (_, i) => words[i % words.length]).join(' ');
    const t0 = Date.now();
    const g = parsePhrases(c);
    expect(Date.now() - t0).to.be.below(1000);
    expect(g.length).to.be.greaterThan(50);
  });

  it('non-string captions → InputError; over maxCaptionChars → LimitError', () => {
    for (const bad of [undefined, null, 3, ['a dog'], { caption: 'a dog' }]) {
      expect(() => parsePhrases(bad as unknown as string)).to.throw(InputError);
      expect(() => groupTokenPositions(bad as unknown as string, [], 77)).to.throw(InputError);
    }
    const prev = setLimits({ maxCaptionChars: 10 });
    try {
      expect(() => parsePhrases('a red dog on a mat')).to.throw(LimitError);
    } finally {
      setLimits(prev);
    }
  });
});

describe('text/phrases: resolveGroups (explicit groups, first free occurrence left to right)', () => {
  it('places repeated words on successive occurrences, at word boundaries, case-insensitively', () => {
    const c = 'A red cube and a red sphere near redwood';
    const g = resolveGroups(c, [
      { attributes: ['red'], object: 'cube' },
      { attributes: ['red'], object: 'sphere' },
      { attributes: [], object: 'redwood' },
    ]);
    expect(g.map((x) => [x.attributes.map((a) => a.start), x.object.start])).to.deep.equal([
      [[2], 6],
      [[17], 21],
      [[], 33],
    ]);
    expect(resolveGroups('A Traffic Light', [{ attributes: [], object: 'traffic light' }])[0].object.text).to.equal('Traffic Light');
  });

  it('a word missing from the caption, or a malformed group → InputError', () => {
    expect(() => resolveGroups('a red cube', [{ attributes: ['blue'], object: 'cube' }])).to.throw(InputError, /blue/);
    expect(() =>
      resolveGroups('a red cube', [
        { attributes: [], object: 'cube' },
        { attributes: [], object: 'cube' },
      ]),
    ).to.throw(InputError);
    expect(() => resolveGroups('a red cube', [{ attributes: 'red', object: 'cube' } as unknown as SimpleGroup])).to.throw(InputError);
    expect(() => resolveGroups('a red cube', [{ attributes: [], object: '' }])).to.throw(InputError);
  });
});

describe('text/phrases: groupTokenPositions', () => {
  // Token positions of the reference goldens (shared/reference/abe/README.md, groups table): every word is
  // one BPE token there, SOT at 0.
  const GOLDEN: [string, SimpleGroup[], number[][], number[]][] = [
    [
      'a red cube and a blue sphere',
      [
        { attributes: ['red'], object: 'cube' },
        { attributes: ['blue'], object: 'sphere' },
      ],
      [
        [2, 3],
        [6, 7],
      ],
      [3, 7],
    ],
    [
      'a small wooden chair next to a dog',
      [
        { attributes: ['small', 'wooden'], object: 'chair' },
        { attributes: [], object: 'dog' },
      ],
      [[2, 3, 4], [8]],
      [4, 8],
    ],
    [
      'two dogs playing in the snow',
      [
        { attributes: [], object: 'dogs' },
        { attributes: [], object: 'snow' },
      ],
      [[2], [6]],
      [2, 6],
    ],
    [
      'the white plate and the black dog',
      [
        { attributes: ['white'], object: 'plate' },
        { attributes: ['black'], object: 'dog' },
      ],
      [
        [2, 3],
        [6, 7],
      ],
      [3, 7],
    ],
  ];

  it("explicit groups give the reference goldens' positions and object-last positions", () => {
    for (const [caption, groups, positions, last] of GOLDEN) {
      const r = groupTokenPositions(caption, groups, 77);
      expect(
        r.map((x) => x.positions),
        caption,
      ).to.deep.equal(positions);
      expect(
        r.map((x) => x.objectLast),
        caption,
      ).to.deep.equal(last);
      expect(r.every((x) => !x.truncated)).to.equal(true);
    }
  });

  it('parsed groups give the same positions as the explicit goldens', () => {
    for (const [caption, , positions, last] of GOLDEN) {
      const r = groupTokenPositions(caption, parsePhrases(caption), 77);
      expect(
        r.map((x) => x.positions),
        caption,
      ).to.deep.equal(positions);
      expect(
        r.map((x) => x.objectLast),
        caption,
      ).to.deep.equal(last);
    }
  });

  it('multi-token words: "cyan" is two BPE tokens, the object-last position is the last token of the object', () => {
    const tok = ClipTokenizer.default();
    const c = 'a cyan diamond and a orange traffic light';
    const r = groupTokenPositions(c, parsePhrases(c), 32);
    const ids = tok.encodeWithOffsets(c).ids;
    const text = (ps: number[]): string => tok.decode(ps.map((p) => ids[p - 1])).trim();
    expect(text(r[0].attributePositions)).to.equal('cyan');
    expect(r[0].attributePositions.length).to.equal(2);
    expect(text(r[0].objectPositions)).to.equal('diamond');
    expect(text(r[1].objectPositions)).to.equal('traffic light');
    expect(r[1].objectLast).to.equal(r[1].objectPositions[r[1].objectPositions.length - 1]);
    expect(text([r[1].objectLast!])).to.equal('light');
  });

  it('truncation: tokens at or past contextLength − 1 are dropped and flagged; a cut object has objectLast null', () => {
    // positions: a=1 red=2 cube=3 and=4 a=5 blue=6 sphere=7
    const c = 'a red cube and a blue sphere';
    const groups = parsePhrases(c);
    const r7 = groupTokenPositions(c, groups, 7); // keeps positions 1..5
    expect(r7[0]).to.deep.include({ positions: [2, 3], objectLast: 3, truncated: false });
    expect(r7[1]).to.deep.include({ attributePositions: [], objectPositions: [], positions: [], objectLast: null, truncated: true });
    const r8 = groupTokenPositions(c, groups, 8); // keeps 1..6: "blue" survives, "sphere" does not
    expect(r8[1]).to.deep.include({ attributePositions: [6], objectPositions: [], objectLast: null, truncated: true });
    expect(groupTokenPositions(c, groups, 9)[1]).to.deep.include({ positions: [6, 7], objectLast: 7, truncated: false });
  });

  it('spans outside the caption, or from another caption → InputError; bad contextLength → InputError; [] → []', () => {
    const c = 'a red cube';
    const g = parsePhrases(c)[0];
    const out = { ...g, object: { text: 'cube', start: 20, end: 24 } };
    expect(() => groupTokenPositions(c, [out], 77)).to.throw(InputError);
    const other = parsePhrases('a big blue sphere')[0];
    expect(() => groupTokenPositions(c, [other], 77)).to.throw(InputError);
    expect(() => groupTokenPositions(c, [{ ...g, object: { text: '', start: 3, end: 3 } }], 77)).to.throw(InputError);
    expect(() => groupTokenPositions(c, [g], 2)).to.throw(InputError);
    expect(() => groupTokenPositions(c, [g], 7.5)).to.throw(InputError);
    expect(groupTokenPositions(c, [], 77)).to.deep.equal([]);
    expect(groupTokenPositions('', parsePhrases(''), 77)).to.deep.equal([]);
  });
});
