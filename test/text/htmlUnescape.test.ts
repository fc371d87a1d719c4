import { expect } from 'chai';
import { ftfyUnescapeHtml, pyHtmlUnescape } from '../../src/text/htmlUnescape';
import { mapped } from '../../src/text/mappedText';

const py = (s: string): string => pyHtmlUnescape(mapped(s, false)).text;
const ftfy = (s: string): string => ftfyUnescapeHtml(mapped(s, false)).text;

// Expected strings are CPython 3.11's html.unescape output for the same inputs.
describe('text/htmlUnescape: Python html.unescape semantics', function () {
  it('decodes legacy names without ";" by longest prefix, others only with ";"', function () {
    expect(py('&amp &ampx &AMP &notit;')).to.equal('& &x & \u00acit;');
    expect(py('&eacutex &copy2024 &lt;&lt')).to.equal('\u00e9x \u00a92024 <<');
    expect(py('&Eacute; &EACUTE; &bogus; &; &# &#x; &&amp;')).to.equal('\u00c9 &EACUTE; &bogus; &; &# &#x; &&');
  });

  it('decodes numeric references like Python: Windows-1252 fixes, U+FFFD for surrogates/overflow, drops invalid', function () {
    expect(py('&#65 &#X41 &#0;|&#13;|&#x80;|&#x9F;|&#xD800;|&#99999999999;|&#1;|&#xFFFE;')).to.equal(
      'A A \ufffd|\r|\u20ac|\u0178|\ufffd|\ufffd||',
    );
    expect(py('&#x1F600;&#128512;')).to.equal('\u{1F600}\u{1F600}');
    expect(py('&#' + '9'.repeat(5000) + ';')).to.equal('\ufffd');
  });

  it('decodes one level per call (CLIP calls it twice)', function () {
    expect(py('&amp;amp;amp;')).to.equal('&amp;amp;');
    expect(py(py('&amp;amp;amp;'))).to.equal('&amp;');
    expect(py('&Afr;')).to.equal('\u{1D504}');
  });

  it('maps each decoded character to the whole reference in the original', function () {
    const m = pyHtmlUnescape(mapped('a&amp;b', true));
    expect(m.text).to.equal('a&b');
    expect(Array.from(m.start!)).to.deep.equal([0, 1, 6]);
    expect(Array.from(m.end!)).to.deep.equal([1, 6, 7]);
  });
});

describe('text/htmlUnescape: ftfy unescape_html semantics', function () {
  it('decodes only complete references with ";" (and all-caps spellings of lower-case names)', function () {
    expect(ftfy('&amp; &amp &lt;3 &EACUTE; &AMP; &Eacute;')).to.equal('& &amp <3 \u00c9 & \u00c9');
    expect(ftfy('&#x41; &#65; &#65 &#xZZ;')).to.equal('A A &#65 &#xZZ;');
  });
});
