/**
 * ARO VG-Attribution (`visual_genome_attribution.json`): a JSON array of
 * `{image_id, image_path, bbox_x, bbox_y, bbox_w, bbox_h, true_caption, false_caption, attributes: [a1, a2]}`.
 * As in the upstream loader, the image is cropped to the box before preprocessing. Subset = 'vg-attribution';
 * the attribute pair is kept in `meta` so reports can give ARO's macro accuracy over attribute pairs.
 */
import { DatasetError } from '../../errors';
import type { PairDataset, PairItem } from '../types';
import { checkIds } from './toy';
import { imagePath, isObject, num, readJson, str } from './read';

export function loadAroAttribution(file: string, imagesDir: string): PairDataset {
  const doc = readJson(file);
  if (!Array.isArray(doc)) throw new DatasetError(file, 'expected a JSON array of VG-Attribution records');
  const items: PairItem[] = doc.map((rec, k) => {
    const where = `${file}: record ${k}`;
    if (!isObject(rec)) throw new DatasetError(where, 'expected an object');
    const crop = { x: num(rec, 'bbox_x', where), y: num(rec, 'bbox_y', where), w: num(rec, 'bbox_w', where), h: num(rec, 'bbox_h', where) };
    if (!(crop.w > 0 && crop.h > 0)) throw new DatasetError(where, `empty box bbox_w=${crop.w} bbox_h=${crop.h}`);
    const attrs = rec.attributes;
    if (attrs !== undefined && !(Array.isArray(attrs) && attrs.every((a) => typeof a === 'string'))) {
      throw new DatasetError(where, "field 'attributes' must be an array of strings");
    }
    return {
      id: `vga-${k}`,
      image: imagePath(imagesDir, str(rec, 'image_path', where)),
      positive: str(rec, 'true_caption', where),
      negative: str(rec, 'false_caption', where),
      kind: 'vg-attribution',
      split: 'all',
      crop,
      meta: { attributes: attrs ?? [], image_id: rec.image_id },
    };
  });
  checkIds(items, file);
  return { name: 'aro-attribution', source: file, items };
}
