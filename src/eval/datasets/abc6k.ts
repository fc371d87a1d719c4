/**
 * ABC-6K (weixi-feng/Structured-Diffusion-Guidance `ABC-6K.txt`): one caption per line, alternating an
 * original COCO caption and its attribute-swapped version. The swapped lines were written with spaces
 * before punctuation ("... door ."), so both are normalised before comparison (METHOD.md), and pairs that
 * are identical after normalisation (the swap changed nothing) are dropped. The file has no images: the
 * caller supplies a map from original caption to image file (a JSON object {caption: image}, or JSON lines
 * {caption, image}).
 */
import * as path from 'path';
import { DatasetError } from '../../errors';
import type { PairDataset, PairItem } from '../types';
import { imagePath, isObject, readJson, readJsonl, readText, str } from './read';

/** Collapse runs of whitespace, drop whitespace before punctuation, trim. */
export function normaliseCaption(s: string): string {
  return s
    .replace(/\s+/g, ' ')
    .replace(/ ([.,;:!?])/g, '$1')
    .trim();
}

export function readCaptionMap(file: string): Map<string, string> {
  const map = new Map<string, string>();
  if (file.endsWith('.jsonl')) {
    for (const { line, value } of readJsonl(file)) {
      const where = `${file}:${line}`;
      map.set(normaliseCaption(str(value, 'caption', where)), str(value, 'image', where));
    }
  } else {
    const doc = readJson(file);
    if (!isObject(doc)) throw new DatasetError(file, 'expected a JSON object {caption: image file} (or a .jsonl of {caption, image})');
    for (const [cap, img] of Object.entries(doc)) {
      if (typeof img !== 'string') throw new DatasetError(`${file}: "${cap}"`, 'image must be a string');
      map.set(normaliseCaption(cap), img);
    }
  }
  return map;
}

export function loadAbc6k(file: string, imagesDir: string, captionMapFile: string | undefined): PairDataset {
  if (!captionMapFile) throw new DatasetError(file, 'ABC-6K has no images: pass --caption-map FILE (caption → image file)');
  const map = readCaptionMap(captionMapFile);
  const lines = readText(file).split(/\r?\n/);
  while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
  if (lines.length % 2)
    throw new DatasetError(`${file}:${lines.length}`, `odd number of lines (${lines.length}): expected original/swapped pairs`);
  const items: PairItem[] = [];
  let identical = 0,
    unmapped = 0;
  for (let k = 0; k < lines.length; k += 2) {
    const pos = normaliseCaption(lines[k]),
      neg = normaliseCaption(lines[k + 1]);
    if (!pos || !neg) throw new DatasetError(`${file}:${pos ? k + 2 : k + 1}`, 'empty caption line');
    if (pos === neg) {
      identical++;
      continue;
    }
    const img = map.get(pos);
    if (img === undefined) {
      unmapped++;
      continue;
    }
    items.push({
      id: `abc-${k / 2}`,
      image: imagePath(imagesDir, img),
      positive: pos,
      negative: neg,
      kind: 'abc6k',
      split: 'all',
      meta: { line: k + 1 },
    });
  }
  if (!items.length) {
    throw new DatasetError(
      captionMapFile,
      `no caption of ${path.basename(file)} is in the caption map (${unmapped} unmapped, ${identical} identical pairs)`,
    );
  }
  const dropped = [];
  if (identical) dropped.push({ reason: 'identical after whitespace normalisation', count: identical });
  if (unmapped) dropped.push({ reason: 'original caption not in the caption map', count: unmapped });
  return { name: 'abc6k', source: file, items, dropped };
}
