/**
 * Retrieval set: an images folder plus a captions file, either JSON lines `{image, caption}` /
 * `{image, captions: [...]}` or tab-separated `image<TAB>caption` lines. Each caption belongs to one image;
 * an image may have several captions (COCO/Flickr have five).
 */
import * as fs from 'fs';
import { DatasetError } from '../../errors';
import type { RetrievalSet } from '../types';
import { confineImages, imagePath, readJsonl, readText, str } from './read';

/** The accepted captions-file formats, for help and error messages. */
export const RETRIEVAL_FORMATS = 'JSON lines {"image", "caption"} (or "captions": [...]) in a .jsonl file, or image<TAB>caption lines';

/**
 * Why a folder is not a captions file, with a pointer when it looks like a pairwise benchmark (a SugarCrepe
 * data/ folder of *.json files): those are evaluated with `eval --dataset …`, not retrieval.
 */
export function retrievalFolderHint(dir: string): string {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    /* unreadable: the generic message */
  }
  const sugar = names.some((n) => /^(swap|replace|add)_(att|obj|rel)\.json$/.test(n));
  const base = `is a folder; retrieval reads one captions file: ${RETRIEVAL_FORMATS}`;
  if (sugar)
    return `${base}. This looks like a SugarCrepe folder, a pairwise benchmark: run abe-clip eval --dataset sugarcrepe --data ${dir} --images DIR`;
  if (names.some((n) => n.endsWith('.json')))
    return `${base}. For a pairwise benchmark folder use abe-clip eval --dataset NAME --data ${dir}`;
  return base;
}

export function loadRetrieval(file: string, imagesDir: string, allowOutsideImages = false): RetrievalSet {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new DatasetError(file, retrievalFolderHint(file));
  const pairs: { image: string; caption: string }[] = [];
  if (file.endsWith('.jsonl')) {
    for (const { line, value } of readJsonl(file)) {
      const where = `${file}:${line}`;
      const image = str(value, 'image', where);
      if (Array.isArray(value.captions)) {
        value.captions.forEach((c, k) => {
          if (typeof c !== 'string') throw new DatasetError(where, `captions[${k}] must be a string`);
          pairs.push({ image, caption: c });
        });
      } else pairs.push({ image, caption: str(value, 'caption', where) });
    }
  } else {
    readText(file)
      .split(/\r?\n/)
      .forEach((raw, k) => {
        if (!raw.trim()) return;
        const tab = raw.indexOf('\t');
        if (tab <= 0) throw new DatasetError(`${file}:${k + 1}`, 'expected image<TAB>caption (or use a .jsonl of {image, caption})');
        pairs.push({ image: raw.slice(0, tab), caption: raw.slice(tab + 1).trim() });
      });
  }
  if (!pairs.length) throw new DatasetError(file, 'holds no captions');
  const index = new Map<string, number>();
  const images: string[] = [];
  const captionImage = pairs.map((p) => {
    let k = index.get(p.image);
    if (k === undefined) {
      k = images.length;
      index.set(p.image, k);
      images.push(imagePath(imagesDir, p.image));
    }
    return k;
  });
  if (!allowOutsideImages)
    confineImages(
      images.map((image, k) => ({ id: `image ${k + 1}`, image })),
      imagesDir,
      file,
    );
  return { source: file, images, captions: pairs.map((p) => p.caption), captionImage };
}
