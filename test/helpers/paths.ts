import * as fs from 'fs';
import * as path from 'path';

export const REPO = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(REPO, 'test', 'fixtures');

/** ../shared beside the repo (override with ABE_SHARED). Reference-tier tests FAIL when it is missing. */
export function sharedPath(...parts: string[]): string {
  const root = process.env.ABE_SHARED ?? path.resolve(REPO, '..', 'shared');
  const p = path.join(root, ...parts);
  if (!fs.existsSync(p)) throw new Error(`reference data missing: ${p} (set ABE_SHARED to the shared/ folder)`);
  return p;
}

export function fixturePath(...parts: string[]): string {
  return path.join(FIXTURES, ...parts);
}
