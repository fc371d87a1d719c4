/**
 * A target that violates the property on purpose, once per kind, so the quick run proves the harness and
 * driver catch each (a tight endless loop included). Not part of the long run.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../../../src/errors';
import type { Target } from '../harness';

/** Case index → the violation kind it must produce (cases not listed must pass). */
export const SELFTEST_EXPECTED: Record<number, string> = { 1: 'untyped', 2: 'invalid', 3: 'leak', 4: 'hang', 6: 'slow' };

export const selftest: Target<number, null> = {
  name: '_selftest',
  fixedCases: 8,
  perCaseMs: 300,
  setup: () => null,
  generate: (_r, _c, i) => i,
  run(i) {
    switch (i) {
      case 1:
        throw new TypeError('untyped on purpose');
      case 2:
        return 'bad';
      case 3:
        tf.scalar(1);
        return 'ok'; // a tensor nobody frees, on every call
      case 4:
        for (;;) {
          /* endless on purpose */
        }
      case 5:
        throw new InputError('selftest', 'a typed error is fine');
      case 6: {
        const t0 = Date.now();
        while (Date.now() - t0 < 400) {
          /* slow on purpose */
        }
        return 'ok';
      }
      default:
        return 'ok';
    }
  },
  check: (res) => (res === 'ok' ? null : `result ${String(res)}`),
  describe: (i) => `selftest case ${i}`,
};
