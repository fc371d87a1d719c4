/** Where the package's bundled files are, whether we run from src/ (ts-node) or dist/src/ (compiled). */
import * as fs from 'fs';
import * as path from 'path';

let root: string | undefined;

/** The package root: the nearest folder above this file holding our package.json. */
export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try { if (JSON.parse(fs.readFileSync(pj, 'utf8')).name === 'abe-clip') return (root = dir); } catch { /* keep looking */ }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the abe-clip package root above ${__dirname}`);
    dir = up;
  }
}

/** The bundled toy-shapes benchmark (images/, items.jsonl, reference_scores.jsonl). */
export function bundledBenchmark(): string {
  return path.join(packageRoot(), 'data', 'toy-shapes');
}

export function packageVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version;
}
