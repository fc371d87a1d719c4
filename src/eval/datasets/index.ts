/** One entry point for every pairwise benchmark format the `eval` command reads. */
import * as fs from 'fs';
import * as path from 'path';
import { UsageError } from '../../errors';
import { confineImages } from './read';
import type { PairDataset } from '../types';
import { loadAbc6k } from './abc6k';
import { loadAroAttribution } from './aro';
import { loadSugarCrepe } from './sugarcrepe';
import { loadPairs, loadToy } from './toy';
import { loadWinoground } from './winoground';

export const DATASET_KINDS = ['toy', 'sugarcrepe', 'aro-attribution', 'abc6k', 'winoground', 'pairs'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

export interface LoadDatasetOptions {
  /** The annotation file or folder. */
  data: string;
  /** Folder the image references are relative to (toy: defaults to the folder of items.jsonl). */
  images?: string;
  /** ABC-6K: caption → image file map. */
  captionMap?: string;
  /** Keep the first N items (after the loader's own filtering). */
  limit?: number;
  /**
   * Accept image references that leave the images folder (absolute paths, `../`). Off by default: a
   * downloaded annotation file could otherwise make `eval` read any file on the machine.
   */
  allowOutsideImages?: boolean;
}

export function loadDataset(kind: DatasetKind, o: LoadDatasetOptions): PairDataset {
  const needImages = (): string => {
    if (!o.images) throw new UsageError('--images', `is required for --dataset ${kind}`);
    return o.images;
  };
  let ds: PairDataset;
  switch (kind) {
    case 'toy':
      ds = loadToy(o.data, o.images);
      break;
    case 'sugarcrepe':
      ds = loadSugarCrepe(o.data, needImages());
      break;
    case 'aro-attribution':
      ds = loadAroAttribution(o.data, needImages());
      break;
    case 'abc6k':
      ds = loadAbc6k(o.data, needImages(), o.captionMap);
      break;
    case 'winoground':
      ds = loadWinoground(o.data, needImages());
      break;
    case 'pairs':
      ds = loadPairs(o.data, o.images ?? path.dirname(o.data));
      break;
    default:
      throw new UsageError('--dataset', `unknown dataset '${kind as string}'; use one of ${DATASET_KINDS.join(', ')}`);
  }
  if (!o.allowOutsideImages) {
    const root = o.images ?? (fs.existsSync(o.data) && fs.statSync(o.data).isDirectory() ? o.data : path.dirname(o.data));
    confineImages(ds.items, root, ds.source);
  }
  if (o.limit !== undefined) ds = { ...ds, items: limitItems(ds.items, o.limit) };
  return ds;
}

/**
 * The first `limit` items, taken round-robin over (kind, split) cells so that a small limit still shows every
 * cell of the table (the toy file is sorted by cell).
 */
export function limitItems<T extends { kind: string; split: string }>(items: T[], limit: number): T[] {
  if (limit >= items.length) return items;
  const cells = new Map<string, T[]>();
  for (const it of items) {
    const key = `${it.kind}\u0000${it.split}`;
    if (!cells.has(key)) cells.set(key, []);
    cells.get(key)!.push(it);
  }
  const lists = [...cells.values()];
  const picked = new Set<T>();
  for (let r = 0; picked.size < limit; r++) {
    for (const l of lists) if (r < l.length && picked.size < limit) picked.add(l[r]);
  }
  return items.filter((it) => picked.has(it));
}
