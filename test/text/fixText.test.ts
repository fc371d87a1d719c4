import { expect } from 'chai';
import { fixText } from '../../src/text/fixText';
import { mapped } from '../../src/text/mappedText';

const fix = (s: string): string => fixText(mapped(s, false)).text;

// Expected strings follow ftfy 6.x fix_text (default config) for the covered fixes.
describe('text/fixText: the ftfy fixes that change ordinary text', function () {
  it('straightens curly quotes (and U+02BC)', function () {
    expect(fix('\u2018hi\u2019 \u201cthere\u201d it\u02bcs \u201b\u201f')).to.equal("'hi' \"there\" it's '\"");
  });

  it('breaks Latin ligatures and digraphs', function () {
    expect(fix('\ufb01sh \ufb02our \u0133s \u01c6 \ufb06')).to.equal('fish flour ijs d\u017e st');
    expect(fix('\u0149')).to.equal("'n"); // ŉ → ʼn → 'n (quotes are uncurled in the same pass)
  });

  it('maps full-width and half-width forms and U+3000 to their standard forms', function () {
    expect(fix('\uff21\uff22\uff23\uff11\uff12\uff13\uff01\u3000x')).to.equal('ABC123! x');
    expect(fix('\uff76\uff9e')).to.equal('\u30ac'); // ｶﾞ → カ + combining mark → ガ after NFC
  });

  it('reads C1 controls as Windows-1252', function () {
    expect(fix('\x93hi\x94 \x85')).to.equal('"hi" \u2026');
  });

  it('removes control characters and terminal escapes, normalises line breaks', function () {
    expect(fix('a\x00b\x07c\x7fd\ufeffe\u206af')).to.equal('abcdef');
    expect(fix('\x1b[31mred\x1b[0m')).to.equal('red');
    expect(fix('a\r\nb\rc\u2028d\u2029e')).to.equal('a\nb\nc\nd\ne');
  });

  it('normalises to NFC and replaces lone surrogates', function () {
    expect(fix('e\u0301 \u1100\u1161\u11a8')).to.equal('\u00e9 \uac01');
    expect(fix('a\ud800b\udfff')).to.equal('a\ufffdb\ufffd');
  });

  it('unescapes HTML until stable, but not from the first line containing "<" on', function () {
    expect(fix('&amp;amp;amp; &EACUTE;')).to.equal('& \u00c9');
    expect(fix('&amp;amp;\n<b>&amp;amp;</b>')).to.equal('&\n<b>&amp;amp;</b>');
    expect(fix('<b>&amp;</b>\n&amp;')).to.equal('<b>&amp;</b>\n&amp;');
  });

  it('leaves ordinary text unchanged', function () {
    const s = 'A photo of a café, 3 dogs & 2 cats — isn\'t it "nice"? 日本 😀';
    expect(fix(s)).to.equal(s);
  });

  it('tracks offsets through the fixes', function () {
    const m = fixText(mapped('\ufb01 e\u0301', true));
    expect(m.text).to.equal('fi \u00e9');
    expect(Array.from(m.start!)).to.deep.equal([0, 0, 1, 2]);
    expect(Array.from(m.end!)).to.deep.equal([1, 1, 2, 4]);
  });
});
