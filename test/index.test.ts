import { expect } from 'chai';
import * as api from '../src';

describe('package entry (src/index.ts)', function () {
  it('exports the public API a user types', function () {
    for (const name of ['initBackend', 'loadClip', 'createClip', 'ClipModel', 'loadImages', 'decodeImage', 'preprocess',
      'ClipTokenizer', 'tokenize', 'parsePhrases', 'AbeScorer', 'DEFAULT_OPTIONS', 'NAMED_CONFIGS', 'convertCheckpoint',
      'canonicalize', 'SafetensorsFile', 'setLimits', 'WeightsFormatError', 'isTypedError', 'loadDataset', 'runBench',
      'EncoderPool'] as const) {
      expect((api as Record<string, unknown>)[name], name).to.not.equal(undefined);
    }
  });
});
