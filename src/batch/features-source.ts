/**
 * Where a scoring shard gets its image features: computed from the image files (in encoder batches), or read
 * from an `embed` output folder that stored them (`--from`), through an index path → (shard, row) and a small
 * cache of decoded feature files (two shards: pairs in image order touch one or two at a time).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ImageFeatures } from '../abe/features';
import type { AbeOptions } from '../abe/options';
import type { AbeScorer } from '../abe/scorer';
import type { ClipModel } from '../clip/model';
import { InputError } from '../errors';
import { loadImages } from '../image/loader';
import { decodeFeatures } from './features-file';
import { readManifest, Manifest } from './manifest';
import { shardName } from './shards';
import { SHARDS_DIR, SHARD_INFO } from './job';
import type { MetaRow } from './embed';

export interface Fetched {
  feats: ImageFeatures[];
  /** index into `feats` per requested path, or the error */ at: (number | string)[];
}

export interface FeatureSource {
  fetch(paths: readonly string[], scorer: AbeScorer): Promise<Fetched>;
}

export function computedFeatures(model: ClipModel, opts: AbeOptions[], batch: number, strict: boolean): FeatureSource {
  return {
    async fetch(paths, scorer) {
      const feats: ImageFeatures[] = [];
      const at: (number | string)[] = [];
      for (let b = 0; b < paths.length; b += batch) {
        const part = paths.slice(b, b + batch);
        const { pixels, ok, errors } = await loadImages(part, {
          resolution: model.config.vision.resolution,
          onError: strict ? 'throw' : 'skip',
        });
        let f: ImageFeatures[];
        try {
          f = ok.length ? await scorer.imageFeatures(pixels, opts) : [];
        } finally {
          pixels.dispose();
        }
        const errOf = new Map(errors.map((e) => [e.index, e.error.message]));
        let j = 0;
        part.forEach((_, i) => at.push(errOf.get(i) ?? feats.length + j++));
        feats.push(...f);
      }
      return { feats, at };
    },
  };
}

export interface EmbedFolder {
  dir: string;
  manifest: Manifest;
  index: Map<string, { shard: number; row: number | null; error: string | null }>;
  order: string[];
}

/** Open an embed output (the folder given to `embed --out`, or its `images/` job) and index its rows. */
export function openEmbedFolder(given: string): EmbedFolder {
  const dir = fs.existsSync(path.join(given, 'images', 'manifest.json')) ? path.join(given, 'images') : given;
  const manifest = readManifest(dir);
  if (manifest.kind !== 'embed' || manifest.options.item !== 'image')
    throw new InputError(`--from ${given}`, 'is not an image embed output');
  const index: EmbedFolder['index'] = new Map();
  const order: string[] = [];
  for (let k = 0; k < manifest.shards; k++) {
    const sd = path.join(dir, SHARDS_DIR, shardName(k));
    if (!fs.existsSync(path.join(sd, SHARD_INFO)))
      throw new InputError(`--from ${given}`, `shard ${shardName(k)} is not finished: complete the embed run first`);
    for (const line of fs.readFileSync(path.join(sd, 'meta.jsonl'), 'utf8').split('\n')) {
      if (!line) continue;
      const m = JSON.parse(line) as MetaRow;
      index.set(m.path, { shard: k, row: m.row, error: m.error });
      order.push(m.path);
    }
  }
  return { dir, manifest, index, order };
}

export function storedFeatures(folder: EmbedFolder, computeMissing: FeatureSource | null): FeatureSource {
  const cache = new Map<number, ImageFeatures[]>();
  const load = (k: number) => {
    let f = cache.get(k);
    if (!f) {
      const file = path.join(folder.dir, SHARDS_DIR, shardName(k), 'features.abef');
      if (!fs.existsSync(file)) throw new InputError(file, 'missing: run embed with --features for the configurations to score');
      f = decodeFeatures(fs.readFileSync(file), file);
      cache.set(k, f);
      while (cache.size > 2) cache.delete(cache.keys().next().value as number);
    }
    return f;
  };
  return {
    async fetch(paths, scorer) {
      const feats: ImageFeatures[] = [];
      const at: (number | string)[] = [];
      const missing: { i: number; p: string }[] = [];
      paths.forEach((p, i) => {
        const hit = folder.index.get(p);
        if (!hit) {
          missing.push({ i, p });
          at.push('');
          return;
        }
        if (hit.row === null) {
          at.push(hit.error ?? 'failed in embed');
          return;
        }
        at.push(feats.length);
        feats.push(load(hit.shard)[hit.row]);
      });
      if (missing.length) {
        if (!computeMissing) throw new InputError(missing[0].p, 'is not in the --from embed output');
        const r = await computeMissing.fetch(
          missing.map((m) => m.p),
          scorer,
        );
        missing.forEach((m, j) => {
          const a = r.at[j];
          at[m.i] = typeof a === 'number' ? feats.length + a : a;
        });
        feats.push(...r.feats);
      }
      return { feats, at };
    },
  };
}
