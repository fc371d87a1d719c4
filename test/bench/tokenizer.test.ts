import { expect } from 'chai';
import { benchTokenizer, benchCorpus } from '../../src/bench/tokenizer';

describe('bench/tokenizer: tokenizer throughput', function () {
  it('measures tokens/s cold, warm and with offsets on a small corpus', function () {
    const r = benchTokenizer({ captions: benchCorpus(50), warmPasses: 1 });
    expect(r.captions).to.equal(50);
    expect(r.tokens).to.be.above(50 * 10);
    for (const v of [r.coldTokensPerSecond, r.warmTokensPerSecond, r.offsetsTokensPerSecond]) {
      expect(v).to.be.a('number').and.to.be.above(0);
    }
  });
});
