import { expect } from 'chai';
import * as fs from 'fs';
import { ClipTokenizer, EOT_TOKEN, SOT_TOKEN } from '../../src/text';
import { LimitError, TokenizerError } from '../../src/errors';
import { DEFAULT_LIMITS, getLimits, setLimits } from '../../src/limits';
import { fixturePath } from '../helpers/paths';

interface RefCase {
  text: string;
  ids: number[];
  ids77?: number[];
}

// Vendored from ../shared/reference/tokenizer_cases.json (61 KB, openai/CLIP goldens).
const REF: RefCase[] = JSON.parse(fs.readFileSync(fixturePath('tokenizer', 'tokenizer_cases.json'), 'utf8'));
// CPython + regex running openai/CLIP's SimpleTokenizer without ftfy (see make_extra_cases.py; 89 KB).
const EXTRA: RefCase[] = JSON.parse(fs.readFileSync(fixturePath('tokenizer', 'extra_cases.json'), 'utf8'));

const utf8 = (s: string): number[] => Array.from(Buffer.from(s, 'utf8'));

function tokenBytes(tok: ClipTokenizer, ids: number[]): number[] {
  const out: number[] = [];
  for (const id of ids) out.push(...tok.tokenBytes(id));
  return out;
}

describe('text/tokenizer: ClipTokenizer', function () {
  const tok = ClipTokenizer.default();
  const raw = new ClipTokenizer({ fixText: false });

  describe('reference ids (exact)', function () {
    it(`matches [SOT] + encode + [EOT] on all ${REF.length} reference cases exactly`, function () {
      expect(REF.length).to.equal(379);
      const bad = REF.filter((c) => JSON.stringify([SOT_TOKEN, ...tok.encode(c.text), EOT_TOKEN]) !== JSON.stringify(c.ids));
      expect(bad.map((c) => c.text)).to.deep.equal([]);
    });

    it('gives the same ids with fixText off on every reference case (the cases are ftfy-neutral)', function () {
      const bad = REF.filter((c) => JSON.stringify([SOT_TOKEN, ...raw.encode(c.text), EOT_TOKEN]) !== JSON.stringify(c.ids));
      expect(bad.map((c) => c.text)).to.deep.equal([]);
    });

    it(`matches the CPython reference (no ftfy) on ${EXTRA.length} extra cases: entity corners, Unicode corners, long words`, function () {
      const bad = EXTRA.filter((c) => JSON.stringify(raw.encode(c.text)) !== JSON.stringify(c.ids));
      expect(bad.map((c) => JSON.stringify(c.text).slice(0, 80))).to.deep.equal([]);
    });

    it('applies the ftfy-like fixes with fixText (default) and not without', function () {
      expect(tok.encode('\u2018hello\u2019 \ufb01sh \uff21\uff22 e\u0301')).to.deep.equal(raw.encode("'hello' fish ab \u00e9"));
      expect(raw.encode('\u2018hello\u2019')).to.not.deep.equal(raw.encode("'hello'"));
      expect(tok.fixText).to.equal(true);
      expect(raw.fixText).to.equal(false);
    });

    it('maps the literal special-token strings to 49406/49407 and only their exact spelling', function () {
      expect(tok.encode('<|startoftext|><|endoftext|>')).to.deep.equal([SOT_TOKEN, EOT_TOKEN]);
      // lower-casing runs first, so capitals spell the special token too (as in the reference)
      expect(tok.encode('<|ENDOFTEXT|>')).to.deep.equal([EOT_TOKEN]);
    });

    it('decodes ids back to the cleaned text with end-of-word spaces, like the reference decode', function () {
      expect(tok.decode(tok.encode('A Photo of a CAT!'))).to.equal('a photo of a cat ! ');
      expect(tok.decode(tok.encode('crème brûlée'))).to.equal('crème brûlée ');
      expect(() => tok.decode([49408])).to.throw(TokenizerError);
      expect(() => tok.decode([1.5])).to.throw(TokenizerError);
    });
  });

  describe('offsets into the original string', function () {
    // U+0345 is the one character the reference's pre-tokenizer drops (see pretokenize.ts).
    const spelled = (t: ClipTokenizer, text: string): number[] => utf8(t.clean(text).replace(/[ \u0345]/g, ''));

    it('the token bytes of every reference case spell the cleaned lower-cased text without spaces', function () {
      const bad: string[] = [];
      for (const c of [...REF, ...EXTRA]) {
        for (const t of [tok, raw]) {
          const { ids, offsets } = t.encodeWithOffsets(c.text);
          const why = (problem: string): number => bad.push(`${JSON.stringify(c.text).slice(0, 60)}: ${problem}`);
          if (ids.join() !== t.encode(c.text).join()) why('ids differ from encode');
          if (offsets.length !== ids.length) why('one offset per id');
          if (tokenBytes(t, ids).join() !== spelled(t, c.text).join()) why('bytes do not spell the cleaned text');
          let prevStart = 0;
          for (const [s, e] of offsets) {
            if (!(s >= prevStart && e > s && e <= c.text.length)) why(`bad span [${s}, ${e})`);
            prevStart = s;
          }
        }
      }
      expect(bad).to.deep.equal([]);
    });

    const CAPTIONS = [
      'A red cube, and a BLUE sphere!!',
      'a   photo \t of\n\n a  cat ',
      'fish &amp; chips &quot;to go&quot; &lt;3',
      'Crème brûlée at the Café Noël, São Paulo',
      "the dog's ball isn't red",
      'ΟΔΟΣ İstanbul ﬁsh ＡＢＣ',
      'emoji 👨‍👩‍👧 and flags 🇫🇷🇩🇪 ok',
      '2024-01-15 at 10:30, 3.14…',
    ];
    for (const caption of CAPTIONS) {
      it(`each word of ${JSON.stringify(caption)} maps to exactly the tokens whose offsets lie in it`, function () {
        const { ids, offsets } = tok.encodeWithOffsets(caption);
        const words = [...caption.matchAll(/\S+/g)].map((m) => ({ s: m.index!, e: m.index! + m[0].length, w: m[0] }));
        const covered = new Array(ids.length).fill(0);
        for (const w of words) {
          const inWord = ids.filter((_, k) => offsets[k][0] >= w.s && offsets[k][1] <= w.e);
          offsets.forEach(([s, e], k) => {
            if (s >= w.s && e <= w.e) covered[k]++;
          });
          expect(tokenBytes(tok, inWord), w.w).to.deep.equal(utf8(tok.clean(w.w).replace(/ /g, '')));
        }
        expect(
          covered.every((c) => c === 1),
          'every token inside exactly one word',
        ).to.equal(true);
      });
    }

    it("maps a token from a transformed character to that character's span", function () {
      const text = 'x &amp; İ ﬁ';
      const { ids, offsets } = tok.encodeWithOffsets(text);
      const spans = offsets.map(([s, e]) => text.slice(s, e));
      expect(spans[0]).to.equal('x');
      expect(spans[1]).to.equal('&amp;'); // '&' comes from the whole entity
      expect(spans.slice(2, -1).every((s) => s === 'İ')).to.equal(true); // 'i̇' (2 code points) from 'İ'
      expect(spans[spans.length - 1]).to.equal('ﬁ'); // 'fi' from the ligature
      expect(ids.length).to.be.at.least(4);
    });

    it("maps tokens that split one character's UTF-8 bytes to that character", function () {
      const text = 'a \u{13000}'; // EGYPTIAN HIEROGLYPH A001: 4 byte-level tokens in the reference
      const { ids, offsets } = tok.encodeWithOffsets(text);
      expect(ids).to.deep.equal([320, 172, 241, 222, 478]); // CPython reference
      for (const [s, e] of offsets.slice(1)) expect(text.slice(s, e)).to.equal('\u{13000}');
    });
  });

  describe('bad input', function () {
    for (const v of [42, null, undefined, {}, ['a'], Buffer.from('a')]) {
      it(`throws TokenizerError for ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v} input`, function () {
        expect(() => tok.encode(v as unknown as string)).to.throw(TokenizerError);
        expect(() => tok.encodeWithOffsets(v as unknown as string)).to.throw(TokenizerError);
      });
    }

    it('gives [] for the empty string and whitespace-only strings', function () {
      for (const s of ['', ' ', '\t\n\r ', '\u3000\u00a0\u2028', '\x1c\x1f']) {
        expect(tok.encode(s), JSON.stringify(s)).to.deep.equal([]);
        expect(tok.encodeWithOffsets(s)).to.deep.equal({ ids: [], offsets: [] });
      }
    });

    it('replaces lone surrogates by U+FFFD (with and without fixText)', function () {
      for (const t of [tok, raw]) {
        expect(t.encode('a\ud800b \udc00')).to.deep.equal(t.encode('a\ufffdb \ufffd'));
        expect(t.encode('\ud83d')).to.deep.equal(t.encode('\ufffd'));
        expect(t.encodeWithOffsets('x\ud800').offsets.at(-1)).to.deep.equal([1, 2]);
      }
    });

    it('drops NUL and other C0 controls with fixText; keeps them as symbols without (reference ids)', function () {
      expect(tok.encode('a\u0000b\u0007c')).to.deep.equal(tok.encode('abc'));
      // CPython reference without ftfy: 'a', '\x00', 'b'
      const ref = EXTRA.find((c) => c.text.startsWith('a\u0000b'))!;
      expect(raw.encode(ref.text)).to.deep.equal(ref.ids);
      expect(raw.encode('a\u0000b')).to.deep.equal([320, 444, 321]); // CPython reference
    });

    it('throws LimitError for a caption longer than maxCaptionChars', function () {
      const prev = setLimits({ maxCaptionChars: 100 });
      try {
        expect(() => tok.encode('x'.repeat(101))).to.throw(LimitError, /maxCaptionChars/);
        expect(tok.encode('x'.repeat(100)).length).to.be.above(0);
      } finally {
        setLimits(prev);
      }
    });
  });

  describe('bounded time on huge input (asserts completion only)', function () {
    this.timeout(60000);

    it('encodes (and offsets) a 1,000,000-character caption at the default limit', function () {
      expect(getLimits().maxCaptionChars).to.equal(DEFAULT_LIMITS.maxCaptionChars);
      let s = '';
      let seed = 1;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return (seed >>> 8) % n;
      };
      const parts: string[] = [];
      let len = 0;
      while (len < 1_000_000) {
        const w = Array.from({ length: 2 + rand(9) }, () => String.fromCharCode(97 + rand(26))).join('') + (rand(5) ? ' ' : ', ');
        parts.push(w);
        len += w.length;
      }
      s = parts.join('').slice(0, 1_000_000);
      const ids = tok.encode(s);
      expect(ids.length).to.be.above(100_000);
      expect(tok.encodeWithOffsets(s).ids.length).to.equal(ids.length);
      expect(() => tok.encode(s + 'x')).to.throw(LimitError);
    });

    it('encodes a single 100 kB "word" (chunked at maxBpeWordChars) and, unchunked, still finishes', function () {
      let seed = 7;
      const word = Array.from({ length: 100_000 }, () => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return String.fromCharCode(97 + ((seed >>> 8) % 26));
      }).join('');
      const ids = tok.encode(word);
      expect(ids.length).to.be.above(10_000);
      // Chunks are encoded as words of their own: the concatenated bytes still spell the input.
      expect(tokenBytes(tok, ids)).to.deep.equal(utf8(word));
      const prev = setLimits({ maxBpeWordChars: 1_000_000 });
      try {
        const whole = new ClipTokenizer().encode(word);
        expect(tokenBytes(tok, whole)).to.deep.equal(utf8(word));
        expect(new ClipTokenizer().encode('a'.repeat(100_000)).length).to.be.above(1000);
      } finally {
        setLimits(prev);
      }
    });

    it('splits an over-long pre-token into chunks of at most maxBpeWordChars, never inside a surrogate pair', function () {
      const prev = setLimits({ maxBpeWordChars: 5 });
      try {
        const t = new ClipTokenizer();
        const { ids, offsets } = t.encodeWithOffsets('abcdefghijkl');
        expect(t.decode(ids).replace(/ /g, '')).to.equal('abcdefghijkl');
        // every chunk ends a word: 3 chunks → 3 end-of-word tokens
        expect(t.decode(ids).trim().split(' ')).to.deep.equal(['abcde', 'fghij', 'kl']);
        expect(offsets.at(-1)![1]).to.equal(12);
        const emoji = t.encode('😀😀😀😀');
        expect(t.decode(emoji).replace(/ /g, '')).to.equal('😀😀😀😀');
      } finally {
        setLimits(prev);
      }
    });
  });
});
