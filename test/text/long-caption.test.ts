/**
 * Issue 15: phrase parsing is bounded. A caption inside maxCaptionChars but far beyond any text context
 * (900k characters) parses within seconds: only its first PHRASE_PARSE_CHARS characters, cut at a word
 * boundary, are parsed, and the groups equal those of that prefix parsed on its own.
 */
import { expect } from 'chai';
import { clearPhraseCache, parsedPrefix, parsePhrases, PHRASE_PARSE_CHARS } from '../../src/text/phrases';

describe('text/phrases: long captions are parsed in bounded time', function () {
  this.timeout(10_000);

  it('a 900,000-character caption parses in < 5 s; groups equal the parse of its first ≤ 4096 characters', () => {
    const unit = 'a red cube left of a blue sphere and a small green cylinder near the big yellow cone. ';
    const caption = unit.repeat(Math.ceil(900_000 / unit.length)).slice(0, 900_000);
    clearPhraseCache();
    const t = Date.now();
    const groups = parsePhrases(caption);
    expect(Date.now() - t).to.be.below(5000);
    const prefix = parsedPrefix(caption);
    expect(prefix.length).to.be.at.most(PHRASE_PARSE_CHARS);
    expect(prefix.length).to.be.greaterThan(PHRASE_PARSE_CHARS - 20);
    expect(caption.startsWith(prefix)).to.equal(true);
    clearPhraseCache();
    expect(groups).to.deep.equal(parsePhrases(prefix));
    expect(groups.length).to.be.greaterThan(100);
    expect(groups[0].object.text).to.equal('cube');
  });

  it('the cut never splits a word: a caption of one 5,000-letter word after a short phrase keeps only the phrase', () => {
    const caption = `a red cube ${'x'.repeat(5000)}`;
    expect(parsedPrefix(caption)).to.equal('a red cube');
    expect(parsePhrases(caption).map((g) => g.object.text)).to.deep.equal(['cube']);
  });

  it('captions up to the limit are parsed whole (the cut is a no-op)', () => {
    const caption = 'the cat is black and the dog is white. '.repeat(100).slice(0, PHRASE_PARSE_CHARS);
    expect(parsedPrefix(caption)).to.equal(caption);
  });
});
