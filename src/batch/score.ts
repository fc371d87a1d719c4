/**
 * `score` over files. Pairs mode: a CSV/JSONL of (image, caption[, id]), read shard by shard from its byte
 * offset. Matrix mode: images (specs, or every image of an embed output) × the captions of a text file.
 * Each shard → `scores.jsonl`, one row per pair: id/image/caption, one column per configuration (logits),
 * error (null, or why the image could not be scored). Features come from `--from` when stored there.
 */
import * as path from 'path';
import { AbeScorer } from '../abe/scorer';
import type { AbeOptions } from '../abe/options';
import type { ImageFeatures } from '../abe/features';
import type { ClipModel } from '../clip/model';
import { InputError } from '../errors';
import { writeDurable } from './atomic';
import { computedFeatures, FeatureSource, openEmbedFolder, storedFeatures } from './features-source';
import { hashStrings, listImages, readTexts } from './inputs';
import { BATCH_FORMAT_VERSION, codeVersion, Manifest, modelIdentity } from './manifest';
import { planPairs, PairsPlan, readPairsShard } from './pairs';
import { shardCount } from './shards';
import { configOptions, ScoreSpec } from './spec';
import type { BatchJob } from './job';

type Scores = Record<string, Float32Array>;

/** Every configuration's scores; `clip` is the S_clip any call returns. Pairs given → per pair, else N·M. */
export async function scoreConfigs(
  scorer: AbeScorer,
  feats: readonly ImageFeatures[],
  captions: readonly string[],
  configs: readonly string[],
  opts: Record<string, AbeOptions>,
  pairs?: ReadonlyArray<readonly [number, number]>,
): Promise<Scores> {
  const out: Scores = {};
  for (const c of configs) {
    if (out[c]) continue;
    const r = pairs ? await scorer.scorePairs(feats, captions, pairs, opts[c]) : await scorer.scoreMatrix(feats, captions, opts[c]);
    if (configs.includes('clip') && !out.clip) out.clip = r.clip;
    if (c !== 'clip') out[c] = r.abe;
  }
  return out;
}

export function scoreJob(spec: ScoreSpec, model: ClipModel): BatchJob {
  const opts = Object.fromEntries(spec.configs.map((n) => [n, configOptions(n, spec.set)]));
  const featureOpts = spec.configs.map((n) => opts[n]);
  const computed = computedFeatures(model, featureOpts, spec.batch, spec.strict);
  let source: FeatureSource = computed;
  let fromInfo: Record<string, unknown> | null = null;
  let fromOrder: string[] | null = null;
  if (spec.from) {
    const folder = openEmbedFolder(spec.from);
    const mine = modelIdentity(spec.weights);
    if (folder.manifest.model.sha256 !== mine.sha256)
      throw new InputError(
        `--from ${spec.from}`,
        `was embedded with another model (${folder.manifest.model.name}, ${folder.manifest.model.sha256.slice(0, 12)})`,
      );
    const stored = folder.manifest.options.features as Record<string, unknown>;
    for (const n of spec.configs) {
      if (JSON.stringify(stored[n]) !== JSON.stringify(opts[n])) {
        throw new InputError(
          `--from ${spec.from}`,
          `holds no features for '${n}' with these options (stored: ${Object.keys(stored).join(', ') || 'none'}); embed again with --features ${spec.configs.join(',')} and the same --set`,
        );
      }
    }
    source = storedFeatures(folder, spec.images || spec.pairs ? computed : null);
    fromInfo = { dir: path.resolve(folder.dir), inputs: folder.manifest.inputs.sha256 };
    fromOrder = folder.order;
  }
  const base = {
    format: 'abe-clip-batch' as const,
    version: BATCH_FORMAT_VERSION,
    kind: 'score' as const,
    code: codeVersion(),
    model: modelIdentity(spec.weights),
    shardSize: spec.shardSize,
  };
  const options = { configs: opts, strict: spec.strict, from: fromInfo };

  if (spec.pairs) {
    const plan: PairsPlan = planPairs(spec.pairs, spec.shardSize);
    const root = spec.imageRoot ?? path.dirname(spec.pairs);
    const manifest: Manifest = {
      ...base,
      options: { ...options, mode: 'pairs', imageRoot: root },
      inputs: { description: spec.pairs, count: plan.count, sha256: plan.sha256 },
      shards: plan.offsets.length,
      plan: { ...plan },
    };
    return {
      spec,
      manifest,
      unit: 'pairs',
      shardItems: (k) => Math.min(spec.shardSize, plan.count - k * spec.shardSize),
      async writeShard(k, dir) {
        const recs = readPairsShard(spec.pairs!, plan, k, spec.shardSize);
        const imgs = [...new Set(recs.map((r) => r.image))];
        const caps = [...new Set(recs.map((r) => r.caption))];
        const imgIdx = new Map(imgs.map((p, i) => [p, i])),
          capIdx = new Map(caps.map((c, i) => [c, i]));
        const scorer = new AbeScorer(model, 'abe', { maxEntries: 0 });
        const { feats, at } = await source.fetch(
          imgs.map((p) => (path.isAbsolute(p) ? p : path.join(root, p))),
          scorer,
        );
        const pairs: [number, number][] = [];
        const pairOf: number[] = [];
        for (const r of recs) {
          const a = at[imgIdx.get(r.image)!];
          pairOf.push(typeof a === 'number' ? pairs.push([a, capIdx.get(r.caption)!]) - 1 : -1);
        }
        const s = pairs.length ? await scoreConfigs(scorer, feats, caps, spec.configs, opts, pairs) : {};
        let failed = 0;
        const rows = recs.map((r, i) => {
          const p = pairOf[i];
          const a = at[imgIdx.get(r.image)!];
          if (p < 0) failed++;
          return {
            id: r.id,
            image: r.image,
            caption: r.caption,
            ...Object.fromEntries(spec.configs.map((c) => [c, p < 0 ? null : s[c][p]])),
            error: p < 0 ? String(a) : null,
          };
        });
        writeDurable(path.join(dir, 'scores.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
        return { items: recs.length, failed };
      },
      dispose() {
        /* the model belongs to the caller */
      },
    };
  }

  if (!spec.texts) throw new InputError('score', 'give --pairs FILE, or --texts FILE with --images/--from');
  const texts = readTexts(spec.texts);
  const images = spec.images ? listImages(spec.images) : fromOrder;
  if (!images) throw new InputError('score', 'matrix mode needs --images or --from');
  const manifest: Manifest = {
    ...base,
    options: { ...options, mode: 'matrix' },
    inputs: {
      description: `${spec.images?.join(' ') ?? spec.from} × ${spec.texts}`,
      count: images.length,
      sha256: hashStrings([...images, '\0', ...texts]),
    },
    shards: shardCount(images.length, spec.shardSize),
  };
  const slice = (k: number) => images.slice(k * spec.shardSize, (k + 1) * spec.shardSize);
  return {
    spec,
    manifest,
    unit: 'images',
    shardItems: (k) => slice(k).length,
    async writeShard(k, dir) {
      const mine = slice(k);
      const scorer = new AbeScorer(model, 'abe', { maxEntries: 0 });
      const { feats, at } = await source.fetch(mine, scorer);
      const s = feats.length ? await scoreConfigs(scorer, feats, texts, spec.configs, opts) : {};
      const M = texts.length;
      const lines: string[] = [];
      let failed = 0;
      mine.forEach((p, i) => {
        const a = at[i];
        if (typeof a !== 'number') failed++;
        texts.forEach((t, m) =>
          lines.push(
            JSON.stringify({
              image: p,
              caption: t,
              ...Object.fromEntries(spec.configs.map((c) => [c, typeof a === 'number' ? s[c][a * M + m] : null])),
              error: typeof a === 'number' ? null : a,
            }),
          ),
        );
      });
      writeDurable(path.join(dir, 'scores.jsonl'), lines.join('\n') + '\n');
      return { items: mine.length, failed };
    },
    dispose() {
      /* the model belongs to the caller */
    },
  };
}
