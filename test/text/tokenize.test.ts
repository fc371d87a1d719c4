import { expect } from 'chai';
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_CONTEXT_LENGTH, EOT_TOKEN, SOT_TOKEN, tokenize, tokenizeToArrays } from '../../src/text';
import { OptionsError, TokenizerError } from '../../src/errors';
import { fixturePath } from '../helpers/paths';

interface RefCase {
  text: string;
  ids: number[];
  ids77: number[];
}
const REF: RefCase[] = JSON.parse(fs.readFileSync(fixturePath('tokenizer', 'tokenizer_cases.json'), 'utf8'));

function padded(ids: number[], L: number): number[] {
  return [...ids, ...new Array(L - ids.length).fill(0)];
}

describe('text/tokenize: clip.tokenize', function () {
  it(`matches ids77 (truncate: true) on all ${REF.length} reference cases exactly, zero-padded to 77`, function () {
    const rows = tokenizeToArrays(
      REF.map((c) => c.text),
      { truncate: true },
    );
    const bad = REF.filter((c, i) => Array.from(rows[i]).join() !== padded(c.ids77, 77).join());
    expect(bad.map((c) => c.text)).to.deep.equal([]);
    expect(REF.filter((c) => c.ids.length > 77).length, 'cases longer than 77').to.be.at.least(7);
  });

  it('without truncate: accepts the cases that fit (exactly 77 included) and matches ids', function () {
    const fit = REF.filter((c) => c.ids.length <= 77);
    expect(fit.some((c) => c.ids.length === 77)).to.equal(true);
    const rows = tokenizeToArrays(fit.map((c) => c.text));
    fit.forEach((c, i) => expect(Array.from(rows[i])).to.deep.equal(padded(c.ids, 77)));
  });

  it('without truncate: throws TokenizerError naming the (abbreviated) caption that is too long', function () {
    const long = REF.find((c) => c.ids.length > 77)!;
    expect(() => tokenizeToArrays(['ok', long.text])).to.throw(TokenizerError, /texts\[1\].*needs \d+ tokens.*truncate/s);
    try {
      tokenizeToArrays([long.text]);
    } catch (e) {
      expect((e as TokenizerError).source).to.contain(long.text.slice(0, 20));
      expect((e as TokenizerError).source.length).to.be.below(100);
    }
  });

  it('with a short context and truncate, the last kept token is EOT', function () {
    const [row] = tokenizeToArrays('a photo of a red cube on a table', { contextLength: 5, truncate: true });
    expect(row.length).to.equal(5);
    expect(row[0]).to.equal(SOT_TOKEN);
    expect(row[4]).to.equal(EOT_TOKEN);
    expect(Array.from(row.slice(1, 4))).to.deep.equal(REF[0].ids.slice(1, 4)); // 'a photo of'
  });

  it('returns an int32 [m, 77] tensor equal to the host rows; the empty string is [SOT, EOT, 0…]', function () {
    const before = tf.memory().numTensors;
    const t = tokenize(['', 'a photo of a cat']);
    try {
      expect(t.dtype).to.equal('int32');
      expect(t.shape).to.deep.equal([2, DEFAULT_CONTEXT_LENGTH]);
      const data = Array.from(t.dataSync());
      expect(data.slice(0, 77)).to.deep.equal(padded([SOT_TOKEN, EOT_TOKEN], 77));
      expect(data.slice(77)).to.deep.equal(padded(REF[0].ids, 77));
      expect(tf.memory().numTensors).to.equal(before + 1);
    } finally {
      t.dispose();
    }
    expect(tf.memory().numTensors, 'no tensor leaked').to.equal(before);
  });

  it('leaks no tensor when it throws, and handles an empty batch as [0, L]', function () {
    const before = tf.memory().numTensors;
    expect(() => tokenize(['x'.repeat(500)])).to.throw(TokenizerError);
    expect(tf.memory().numTensors).to.equal(before);
    const empty = tokenize([], { contextLength: 16 });
    expect(empty.shape).to.deep.equal([0, 16]);
    empty.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('accepts a single string like clip.tokenize', function () {
    expect(tokenizeToArrays('a photo of a cat').length).to.equal(1);
  });

  it('rejects non-string captions (TokenizerError) and bad options (OptionsError)', function () {
    expect(() => tokenizeToArrays([1 as unknown as string])).to.throw(TokenizerError, /texts\[0\]/);
    expect(() => tokenizeToArrays(null as unknown as string[])).to.throw(TokenizerError);
    expect(() => tokenizeToArrays(['a'], { contextLength: 1 })).to.throw(OptionsError);
    expect(() => tokenizeToArrays(['a'], { contextLength: 7.5 })).to.throw(OptionsError);
    expect(() => tokenizeToArrays(['a'], { contextLenght: 7 } as never)).to.throw(OptionsError, /contextLenght/);
  });
});
