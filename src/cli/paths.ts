/** Where the package's bundled files are, whether we run from src/ (ts-node) or dist/src/ (compiled). */
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../package-root';

/** The bundled toy-shapes benchmark (images/, items.jsonl, reference_scores.jsonl). */
export function bundledBenchmark(): string {
  return path.join(packageRoot(), 'data', 'toy-shapes');
}

export function packageVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version;
}
