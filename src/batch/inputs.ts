/**
 * What a batch job reads: images named by folders (walked recursively), list files (one path a line) or
 * globs, in a deterministic order (the shard split depends on it); captions from a text file (one a line).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../errors';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.gif', '.bmp', '.tif', '.tiff', '.webp'];
const LIST_EXTENSIONS = ['.txt', '.lst', '.list'];

const isImageName = (f: string) => IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase());

function walk(dir: string, out: string[]): void {
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && isImageName(e.name)) out.push(p);
  }
}

/** `*` and `?` within a path segment, `**` across segments. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
      if (pattern[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function glob(pattern: string): string[] {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  for (const p of parts) {
    if (/[*?]/.test(p)) break;
    fixed.push(p);
  }
  const base = fixed.join('/') || '.';
  if (!fs.existsSync(base) || !fs.statSync(base).isDirectory()) return [];
  const all: string[] = [];
  walk(base, all);
  const re = globToRegExp(pattern.startsWith('./') ? pattern.slice(2) : pattern);
  return all.filter((p) => re.test(base === '.' ? p : p));
}

/**
 * Resolve image specs (folders, list files, globs, single files) to paths, in order: each spec's paths in
 * sorted order (folders, globs) or file order (lists), specs in the order given, duplicates dropped.
 */
export function listImages(specs: readonly string[], flag = '--images'): string[] {
  const out: string[] = [];
  for (const spec of specs) {
    if (/[*?]/.test(spec)) {
      const hits = glob(spec);
      if (!hits.length) throw new InputError(`${flag} ${spec}`, 'the pattern matches no image file');
      out.push(...hits);
      continue;
    }
    if (!fs.existsSync(spec)) throw new InputError(`${flag} ${spec}`, 'no such file or folder');
    const st = fs.statSync(spec);
    if (st.isDirectory()) {
      const before = out.length;
      walk(spec, out);
      if (out.length === before) throw new InputError(`${flag} ${spec}`, `the folder holds no image file (${IMAGE_EXTENSIONS.join(', ')})`);
    } else if (LIST_EXTENSIONS.includes(path.extname(spec).toLowerCase())) {
      const dir = path.dirname(spec);
      for (const line of fs.readFileSync(spec, 'utf8').split(/\r?\n/)) {
        const t = line.trim();
        if (t && !t.startsWith('#')) out.push(path.isAbsolute(t) ? t : path.join(dir, t));
      }
    } else {
      out.push(spec);
    }
  }
  const seen = new Set<string>();
  return out.filter((p) => (seen.has(p) ? false : (seen.add(p), true)));
}

/** Captions, one a line (blank lines skipped). */
export function readTexts(file: string, flag = '--texts'): string[] {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new InputError(`${flag} ${file}`, 'no such file');
  const texts = fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (!texts.length) throw new InputError(`${flag} ${file}`, 'holds no caption (one caption a line)');
  return texts;
}

export function hashStrings(items: readonly string[]): string {
  const h = crypto.createHash('sha256');
  for (const s of items) h.update(s + '\n');
  return h.digest('hex');
}
