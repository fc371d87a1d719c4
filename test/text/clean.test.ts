import { expect } from 'chai';
import { cleanText, pyLower } from '../../src/text/clean';
import { mapped } from '../../src/text/mappedText';

const clean = (s: string, fixText = false): string => cleanText(s, { fixText }).text;
const lower = (s: string): string => pyLower(mapped(s, false)).text;

// Expected strings are CPython 3.11's str.lower() / str.strip() / regex results for the same inputs.
describe('text/clean: CLIP cleanup with Python semantics', function () {
  it('lowers like Python str.lower(): final sigma in context, İ → i̇, titlecase digraphs, Kelvin sign', function () {
    expect(lower('ΟΔΟΣ ΟΔΟΣ. Σ ΣΑ AΣ ἈΣ Σ\u0308 ΣΣ')).to.equal('οδος οδος. σ σα aς ἀς σ\u0308 σς');
    expect(lower('İSTANBUL')).to.equal('i\u0307stanbul');
    expect(lower('ǅemal \u212a\u212b')).to.equal('ǆemal k\u00e5');
  });

  it('keeps offsets through lower-casing that changes length', function () {
    const m = pyLower(mapped('İx', true));
    expect(m.text).to.equal('i\u0307x');
    expect(Array.from(m.start!)).to.deep.equal([0, 0, 1]);
    expect(Array.from(m.end!)).to.deep.equal([1, 1, 2]);
  });

  it('strips Python str.isspace characters (incl. U+001C–U+001F, U+0085) but not U+FEFF', function () {
    expect(clean(' \x1c a \x85')).to.equal('a');
    expect(clean('\ufeff a')).to.equal('\ufeff a');
  });

  it('collapses runs of regex \\s (White_Space: tabs, CR/LF, NBSP, thin space, U+0085, U+3000) to one space', function () {
    expect(clean('a \t\r\n\u00a0\u2009\u0085\u3000b')).to.equal('a b');
    expect(clean('a\u200bb\ufeffc')).to.equal('a\u200bb\ufeffc'); // not White_Space
    expect(clean('a\x1cb')).to.equal('a\x1cb');
  });

  it('unescapes HTML twice, then collapses the whitespace it produced', function () {
    expect(clean('A&amp;amp;B')).to.equal('a&b');
    expect(clean('A&amp;amp;amp;B')).to.equal('a&amp;b');
    expect(clean('a&nbsp;&nbsp;b&#32;')).to.equal('a b');
  });

  it('gives "" for empty and whitespace-only text', function () {
    expect(clean('')).to.equal('');
    expect(clean(' \t\n ')).to.equal('');
    expect(clean('&nbsp;', true)).to.equal('');
  });
});
