/** File readers shared by the dataset loaders: every failure is a DatasetError naming the file, line or field. */
import * as fs from 'fs';
import * as path from 'path';
import { DatasetError } from '../../errors';
import { readRegularText, NO_SUCH_FILE } from '../../io/regular-file';
import { renderValue } from '../../io/render';

export function readText(file: string): string {
  // Regular files only: a FIFO or device named as a dataset (or inside a SugarCrepe folder) must not hang.
  return readRegularText(
    file,
    (p) =>
      new DatasetError(
        file,
        p === NO_SUCH_FILE ? 'file not found' : p.replace('not a regular file (a folder)', 'is a folder, expected a file'),
      ),
  );
}

export function readJson(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const where = m ? ` at line ${text.slice(0, Number(m[1])).split('\n').length}` : '';
    throw new DatasetError(file, `not valid JSON${where}: ${(e as Error).message}`);
  }
}

/** Non-empty lines of a JSON-lines file, each parsed, with its 1-based line number. */
export function readJsonl(file: string): { line: number; value: Record<string, unknown> }[] {
  const out: { line: number; value: Record<string, unknown> }[] = [];
  readText(file)
    .split(/\r?\n/)
    .forEach((raw, k) => {
      if (!raw.trim()) return;
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch (e) {
        throw new DatasetError(`${file}:${k + 1}`, `not valid JSON: ${(e as Error).message}`);
      }
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new DatasetError(`${file}:${k + 1}`, 'expected a JSON object');
      out.push({ line: k + 1, value: v as Record<string, unknown> });
    });
  return out;
}

/** A required string field of a record; `where` names the file and line or key. */
export function str(rec: Record<string, unknown>, field: string, where: string): string {
  const v = rec[field];
  if (typeof v !== 'string') {
    throw new DatasetError(
      where,
      v === undefined ? `missing field '${field}'` : `field '${field}' must be a string, got ${renderValue(v)}`,
    );
  }
  return v;
}

export function num(rec: Record<string, unknown>, field: string, where: string): number {
  const v = rec[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new DatasetError(
      where,
      v === undefined ? `missing field '${field}'` : `field '${field}' must be a number, got ${renderValue(v)}`,
    );
  }
  return v;
}

/**
 * Refuse images that resolve outside `root` (lexically, and through symlinks when they exist): a downloaded
 * annotation file must not make `eval` read any file on the machine. `allowOutsideImages` lifts it.
 */
export function confineImages(items: readonly { id: string; image: string }[], root: string, source: string): void {
  const real = (p: string): string => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const inside = (p: string, r: string): boolean => {
    const rel = path.relative(r, p);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  };
  const rootAbs = path.resolve(root),
    rootReal = real(root);
  for (const it of items) {
    if (!inside(path.resolve(it.image), rootAbs) || !inside(real(it.image), rootReal)) {
      throw new DatasetError(
        `${source} (item ${it.id})`,
        `image ${renderValue(it.image)} is outside the images folder ${root} (allow it with --allow-outside-images / allowOutsideImages)`,
      );
    }
  }
}

/** Join an image reference onto the images folder unless it is absolute. */
export function imagePath(imagesDir: string, ref: string): string {
  return path.isAbsolute(ref) ? ref : path.join(imagesDir, ref);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}
