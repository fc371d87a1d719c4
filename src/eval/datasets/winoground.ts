/**
 * Winoground-style JSON lines (facebook/winoground `data/examples.jsonl`):
 * `{id, caption_0, caption_1, image_0, image_1, tag, secondary_tag, num_main_preds, collapsed_tag}`, the image
 * fields being file names without extension under the images folder. Each example gives two pairwise items
 * (Winoground's text-score halves): image_0 prefers caption_0 over caption_1, image_1 prefers caption_1.
 * Subset = collapsed_tag (Object / Relation / Both) when present.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { PairDataset, PairItem } from '../types';
import { checkIds } from './toy';
import { imagePath, readJsonl, str } from './read';
import { renderValue } from '../../io/render';

const EXTENSIONS = ['', '.png', '.jpg', '.jpeg', '.webp', '.bmp'];

function resolveImage(dir: string, ref: string): string {
  const base = imagePath(dir, ref);
  for (const ext of EXTENSIONS) if (fs.existsSync(base + ext)) return base + ext;
  return path.extname(base) ? base : base + '.png';
}

export function loadWinoground(file: string, imagesDir: string): PairDataset {
  const items: PairItem[] = [];
  for (const { line, value } of readJsonl(file)) {
    const where = `${file}:${line}`;
    const id = value.id === undefined ? `line-${line}` : typeof value.id === 'string' ? value.id : renderValue(value.id);
    const c0 = str(value, 'caption_0', where),
      c1 = str(value, 'caption_1', where);
    const i0 = resolveImage(imagesDir, str(value, 'image_0', where));
    const i1 = resolveImage(imagesDir, str(value, 'image_1', where));
    const kind = typeof value.collapsed_tag === 'string' ? value.collapsed_tag : 'all';
    const meta = { example: id, tag: value.tag, secondary_tag: value.secondary_tag };
    items.push({ id: `${id}-i0`, image: i0, positive: c0, negative: c1, kind, split: 'all', meta: { ...meta, which: 0 } });
    items.push({ id: `${id}-i1`, image: i1, positive: c1, negative: c0, kind, split: 'all', meta: { ...meta, which: 1 } });
  }
  checkIds(items, file);
  return { name: 'winoground', source: file, items };
}
