/** Where the package's bundled files (weights/, data/, assets/) are, from src/ (ts-node) or dist/src/ (compiled). */
import * as fs from 'fs';
import * as path from 'path';

let cached: string | undefined;

/** The nearest folder above this module holding abe-clip's package.json. */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if (JSON.parse(fs.readFileSync(pj, 'utf8')).name === 'abe-clip') return (cached = dir);
      } catch {
        /* keep looking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the abe-clip package root (package.json) above ${__dirname}`);
    dir = up;
  }
}
