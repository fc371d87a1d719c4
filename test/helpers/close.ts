import { expect } from 'chai';

type Num = ArrayLike<number>;

export function maxAbsDiff(a: Num, b: Num): number {
  expect(a.length, 'length').to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN propagates as a failure
  }
  return m;
}

export function maxAbs(a: Num): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Assert max |a − b| ≤ tol · max(1, max|b|) (the project's parity rule); returns the error. */
export function expectClose(actual: Num, expected: Num, tol: number, label: string, relative = true): number {
  const err = maxAbsDiff(actual, expected);
  const bound = relative ? tol * Math.max(1, maxAbs(expected)) : tol;
  expect(err, `${label}: max abs error ${err} > ${bound}`).to.be.at.most(bound);
  return err;
}
