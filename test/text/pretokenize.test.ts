import { expect } from 'chai';
import { pretokenize } from '../../src/text/pretokenize';

const texts = (s: string, max?: number): string[] => pretokenize(s, max).map((p) => p.text);

// Expected splits are regex.findall(SimpleTokenizer.pat, s) under CPython 3.11 + regex.
describe('text/pretokenize: SimpleTokenizer.pat', function () {
  it('splits letters, single digits, punctuation runs, contractions and special tokens', function () {
    expect(texts("it's 2024!! a<|endoftext|>b 'll'd")).to.deep.equal([
      'it',
      "'s",
      '2',
      '0',
      '2',
      '4',
      '!!',
      'a',
      '<|endoftext|>',
      'b',
      "'ll",
      "'d",
    ]);
    expect(texts("it'\u017f")).to.deep.equal(['it', "'\u017f"]); // IGNORECASE: ſ folds to s
  });

  it('drops U+0345 and splits at it, as the regex module does', function () {
    expect(texts('f\u0345x 2\u0345 \x1b\u0345y')).to.deep.equal(['f', 'x', '2', '\x1b', 'y']);
  });

  it('treats U+0085 as space and U+FEFF as a symbol (Python regex \\s, not JS \\s)', function () {
    expect(texts('a\x85b\ufeffc')).to.deep.equal(['a', 'b', '\ufeff', 'c']);
  });

  it('reports indices into the cleaned text and cuts long pre-tokens without splitting surrogate pairs', function () {
    const p = pretokenize('ab abcdefg', 3);
    expect(p.map((x) => [x.text, x.index])).to.deep.equal([
      ['ab', 0],
      ['abc', 3],
      ['def', 6],
      ['g', 9],
    ]);
    expect(texts('<|endoftext|>', 3)).to.deep.equal(['<|endoftext|>']); // special tokens are never cut
    expect(texts('\u{1F600}\u{1F600}\u{1F600}', 3)).to.deep.equal(['\u{1F600}', '\u{1F600}', '\u{1F600}']);
  });
});
