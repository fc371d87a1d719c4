/**
 * SugarCrepe (RAIVNLab/sugar-crepe `data/*.json`): each file is an object keyed by item number,
 * `{"0": {"filename": "000000544519.jpg", "caption": "...", "negative_caption": "..."}, ...}`; the file
 * name (swap_att, replace_obj, ...) is the subset. Images are COCO val2017 files in the images folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DatasetError } from '../../errors';
import type { PairDataset, PairItem } from '../types';
import { checkIds } from './toy';
import { imagePath, isObject, readJson, str } from './read';

/** `data` is the `data/` folder (every *.json in it, sorted) or one of its files. */
export function loadSugarCrepe(data: string, imagesDir: string): PairDataset {
  let files: string[];
  if (fs.existsSync(data) && fs.statSync(data).isDirectory()) {
    files = fs
      .readdirSync(data)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => path.join(data, f));
    if (!files.length) throw new DatasetError(data, 'folder holds no .json files (expected SugarCrepe data/*.json)');
  } else files = [data];
  const items: PairItem[] = [];
  for (const file of files) {
    const subset = path.basename(file, '.json');
    const doc = readJson(file);
    if (!isObject(doc)) throw new DatasetError(file, 'expected a JSON object keyed by item number (SugarCrepe format)');
    for (const [key, rec] of Object.entries(doc)) {
      const where = `${file}: item "${key}"`;
      if (!isObject(rec)) throw new DatasetError(where, 'expected an object with filename, caption, negative_caption');
      items.push({
        id: `${subset}-${key}`,
        image: imagePath(imagesDir, str(rec, 'filename', where)),
        positive: str(rec, 'caption', where),
        negative: str(rec, 'negative_caption', where),
        kind: subset,
        split: 'all',
      });
    }
  }
  checkIds(items, data);
  return { name: 'sugarcrepe', source: data, items };
}
