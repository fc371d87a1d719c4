/**
 * Retrieval at scale with a costly reranker: for each caption, the top-`pool` images by CLIP cosine over every
 * embedded image (one product per block of images, a running top-k), then the configuration's ABE score on
 * just those candidates (their stored features), and both rankings reported (top-`k` of each).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { AbeScorer } from '../abe/scorer';
import type { ClipModel } from '../clip/model';
import { InputError } from '../errors';
import { computedFeatures, openEmbedFolder, storedFeatures } from './features-source';
import { SHARDS_DIR } from './job';
import { modelIdentity } from './manifest';
import { parseNpy } from './npy';
import { shardName } from './shards';
import { configOptions } from './spec';

export interface RankOptions {
  from: string;
  texts: string[];
  k: number;
  pool: number;
  config: string;
  weights: string;
  set: Record<string, unknown>;
}
export interface Ranked {
  image: string;
  clip: number;
  score: number;
}
export interface RankRow {
  caption: string;
  clip: { image: string; clip: number }[];
  reranked: Ranked[];
  config: string;
}

/** Image embeddings [N,E] of every ok row of an embed folder, with their paths. */
function loadEmbeds(dir: string, shards: number): { paths: string[]; embeds: Float32Array; E: number } {
  const parts: Float32Array[] = [];
  const paths: string[] = [];
  let E = 0;
  for (let k = 0; k < shards; k++) {
    const sd = path.join(dir, SHARDS_DIR, shardName(k));
    const a = parseNpy(fs.readFileSync(path.join(sd, 'embeds.npy')), path.join(sd, 'embeds.npy'));
    E = a.shape[1];
    parts.push(a.data);
    const rows = fs
      .readFileSync(path.join(sd, 'meta.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((m) => m.row !== null);
    rows.sort((x, y) => x.row - y.row).forEach((m) => paths.push(m.path));
  }
  const embeds = new Float32Array(paths.length * E);
  let off = 0;
  for (const p of parts) {
    embeds.set(p, off);
    off += p.length;
  }
  return { paths, embeds, E };
}

export async function rankCaptions(model: ClipModel, o: RankOptions): Promise<RankRow[]> {
  const folder = openEmbedFolder(o.from);
  if (folder.manifest.model.sha256 !== modelIdentity(o.weights).sha256)
    throw new InputError(`--from ${o.from}`, 'was embedded with another model');
  const opts = configOptions(o.config, o.set);
  const stored = (folder.manifest.options.features ?? {}) as Record<string, unknown>;
  if (JSON.stringify(stored[o.config]) !== JSON.stringify(opts))
    throw new InputError(`--from ${o.from}`, `holds no features for '${o.config}' with these options; embed with --features ${o.config}`);
  const { paths, embeds, E } = loadEmbeds(folder.dir, folder.manifest.shards);
  if (!paths.length) throw new InputError(`--from ${o.from}`, 'holds no embedded image');
  const pool = Math.min(o.pool, paths.length);
  // CLIP candidates: texts [m,E] × images^T in blocks, top-pool per block merged on the host.
  const txt = await model.encodeTexts(o.texts, { truncate: true });
  const T = tf.tidy(() => txt.embeds.div(txt.embeds.norm('euclidean', 1, true)) as tf.Tensor2D);
  tf.dispose([txt.embeds, txt.tokens, ...(txt.hidden ?? [])]);
  const best: { i: number; s: number }[][] = o.texts.map(() => []);
  const BLOCK = 8192;
  try {
    for (let b = 0; b < paths.length; b += BLOCK) {
      const n = Math.min(BLOCK, paths.length - b);
      const { values, indices } = tf.tidy(() =>
        tf.topk(tf.matMul(T, tf.tensor2d(embeds.subarray(b * E, (b + n) * E), [n, E]), false, true), Math.min(pool, n)),
      );
      const v = await values.data(),
        ix = await indices.data();
      tf.dispose([values, indices]);
      const w = Math.min(pool, n);
      best.forEach((list, m) => {
        for (let j = 0; j < w; j++) list.push({ i: b + ix[m * w + j], s: v[m * w + j] });
        list.sort((x, y) => y.s - x.s || x.i - y.i);
        list.length = Math.min(list.length, pool);
      });
    }
  } finally {
    T.dispose();
  }
  // ABE on the candidates only.
  const source = storedFeatures(folder, computedFeatures(model, [opts], 32, false));
  const rows: RankRow[] = [];
  for (let m = 0; m < o.texts.length; m++) {
    const scorer = new AbeScorer(model, 'abe', { maxEntries: 0 });
    const cand = best[m].map((c) => paths[c.i]);
    const { feats, at } = await source.fetch(cand, scorer);
    const r = await scorer.scoreMatrix(feats, [o.texts[m]], opts);
    const scored = cand.map((image, j) => ({ image, clip: r.clip[at[j] as number], score: r.abe[at[j] as number] }));
    const byClip = [...scored]
      .sort((x, y) => y.clip - x.clip)
      .slice(0, o.k)
      .map(({ image, clip }) => ({ image, clip }));
    const reranked = [...scored].sort((x, y) => y.score - x.score).slice(0, o.k);
    rows.push({ caption: o.texts[m], config: o.config, clip: byClip, reranked });
  }
  return rows;
}
