/**
 * toy-shapes benchmark (`items.jsonl`: {id, image, positive, negative, kind, split}) and the generic pairs
 * JSONL ({image, positive, negative, subset?, split?, id?}). Images are relative to the images folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DatasetError } from '../../errors';
import type { PairDataset, PairItem } from '../types';
import { imagePath, readJsonl, str } from './read';
import { renderValue } from '../../io/render';

/** `data` is the benchmark folder (holding items.jsonl) or the items file itself. */
export function loadToy(data: string, imagesDir?: string): PairDataset {
  const file = fs.existsSync(data) && fs.statSync(data).isDirectory() ? path.join(data, 'items.jsonl') : data;
  const dir = imagesDir ?? path.dirname(file);
  const items: PairItem[] = readJsonl(file).map(({ line, value }) => {
    const where = `${file}:${line}`;
    return {
      id: str(value, 'id', where),
      image: imagePath(dir, str(value, 'image', where)),
      positive: str(value, 'positive', where),
      negative: str(value, 'negative', where),
      kind: str(value, 'kind', where),
      split: str(value, 'split', where),
    };
  });
  checkIds(items, file);
  return { name: 'toy', source: file, items };
}

export function loadPairs(file: string, imagesDir: string): PairDataset {
  const items: PairItem[] = readJsonl(file).map(({ line, value }) => {
    const where = `${file}:${line}`;
    const subset = value.subset === undefined ? 'all' : str(value, 'subset', where);
    const split = value.split === undefined ? 'all' : str(value, 'split', where);
    const id = value.id === undefined ? `line-${line}` : typeof value.id === 'string' ? value.id : renderValue(value.id);
    return {
      id,
      image: imagePath(imagesDir, str(value, 'image', where)),
      positive: str(value, 'positive', where),
      negative: str(value, 'negative', where),
      kind: subset,
      split,
    };
  });
  checkIds(items, file);
  return { name: 'pairs', source: file, items };
}

export function checkIds(items: PairItem[], source: string): void {
  const seen = new Set<string>();
  for (const it of items) {
    if (seen.has(it.id)) throw new DatasetError(source, `duplicate item id '${it.id}'`);
    seen.add(it.id);
  }
  if (!items.length) throw new DatasetError(source, 'holds no items');
}
