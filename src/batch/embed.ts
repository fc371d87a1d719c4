/**
 * `embed` jobs. Images: each shard → `embeds.npy` [ok rows, E] (normalised g_I), `meta.jsonl` (one line per
 * input: path, shard, row in embeds.npy or null, bytes, error) and optionally `features.abef` (the ABE image
 * features of the ok rows, same order). Texts: `embeds.npy` (normalised text embeddings) + `meta.jsonl`.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { AbeScorer } from '../abe/scorer';
import type { ClipModel } from '../clip/model';
import { writeDurable } from './atomic';
import { encodeFeatures } from './features-file';
import { computedFeatures } from './features-source';
import { hashStrings, listImages, readTexts } from './inputs';
import { codeVersion, Manifest, modelIdentity, BATCH_FORMAT_VERSION } from './manifest';
import { npyBytes } from './npy';
import { shardCount } from './shards';
import { configOptions, EmbedImagesSpec, EmbedTextsSpec } from './spec';
import type { BatchJob, ShardOutcome } from './job';

export interface MetaRow {
  path: string;
  shard: number;
  row: number | null;
  bytes: number | null;
  error: string | null;
}

function baseManifest(
  spec: EmbedImagesSpec | EmbedTextsSpec,
  options: Record<string, unknown>,
  description: string,
  items: string[],
): Manifest {
  return {
    format: 'abe-clip-batch',
    version: BATCH_FORMAT_VERSION,
    kind: 'embed',
    code: codeVersion(),
    model: modelIdentity(spec.weights),
    options,
    inputs: { description, count: items.length, sha256: hashStrings(items) },
    shardSize: spec.shardSize,
    shards: shardCount(items.length, spec.shardSize),
  };
}

const jsonl = (rows: readonly object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');

export function imageEmbedJob(spec: EmbedImagesSpec, model: ClipModel): BatchJob {
  const paths = listImages(spec.images);
  const featureOpts = spec.features.map((n) => configOptions(n, spec.set));
  const options = {
    item: 'image',
    dtype: spec.dtype,
    resolution: model.config.vision.resolution,
    strict: spec.strict,
    features: Object.fromEntries(spec.features.map((n, i) => [n, featureOpts[i]])),
  };
  const manifest = baseManifest(spec, options, spec.images.join(' '), paths);
  const slice = (k: number) => paths.slice(k * spec.shardSize, (k + 1) * spec.shardSize);
  return {
    spec,
    manifest,
    unit: 'images',
    shardItems: (k) => slice(k).length,
    async writeShard(k, dir): Promise<ShardOutcome> {
      const mine = slice(k);
      // A scorer per shard, without a memory cache: nothing accumulates across shards.
      const scorer = new AbeScorer(model, 'clip', { maxEntries: 0 });
      const source = computedFeatures(model, featureOpts.length ? featureOpts : [configOptions('clip', {})], spec.batch, spec.strict);
      const { feats, at } = await source.fetch(mine, scorer);
      const meta: MetaRow[] = mine.map((p, i) => {
        let bytes: number | null = null;
        try {
          bytes = fs.statSync(p).size;
        } catch {
          /* missing: bytes stays null */
        }
        const a = at[i];
        return { path: p, shard: k, row: typeof a === 'number' ? a : null, bytes, error: typeof a === 'number' ? null : a };
      });
      const E = model.config.embedDim;
      const emb = new Float32Array(feats.length * E);
      feats.forEach((f, i) => emb.set(f.embed, i * E));
      writeDurable(path.join(dir, 'embeds.npy'), npyBytes(emb, [feats.length, E], spec.dtype));
      writeDurable(path.join(dir, 'meta.jsonl'), jsonl(meta));
      if (featureOpts.length) writeDurable(path.join(dir, 'features.abef'), encodeFeatures(feats));
      return { items: mine.length, failed: mine.length - feats.length };
    },
    dispose() {
      /* the model belongs to the caller */
    },
  };
}

export function textEmbedJob(spec: EmbedTextsSpec, model: ClipModel): BatchJob {
  const texts = readTexts(spec.texts);
  const manifest = baseManifest(spec, { item: 'text', dtype: spec.dtype, truncate: true }, spec.texts, texts);
  const slice = (k: number) => texts.slice(k * spec.shardSize, (k + 1) * spec.shardSize);
  return {
    spec,
    manifest,
    unit: 'texts',
    shardItems: (k) => slice(k).length,
    async writeShard(k, dir) {
      const mine = slice(k);
      const E = model.config.embedDim;
      const emb = new Float32Array(mine.length * E);
      for (let b = 0; b < mine.length; b += spec.batch) {
        const part = mine.slice(b, b + spec.batch);
        const out = await model.encodeTexts(part, { truncate: true });
        const unit = tf.tidy(() => out.embeds.div(out.embeds.norm('euclidean', 1, true)));
        emb.set((await unit.data()) as Float32Array, b * E);
        tf.dispose([unit, out.embeds, out.tokens, ...(out.hidden ?? [])]);
      }
      writeDurable(path.join(dir, 'embeds.npy'), npyBytes(emb, [mine.length, E], spec.dtype));
      writeDurable(path.join(dir, 'meta.jsonl'), jsonl(mine.map((t, i) => ({ text: t, shard: k, row: i }))));
      return { items: mine.length, failed: 0 };
    },
    dispose() {
      /* the model belongs to the caller */
    },
  };
}
