/**
 * Runs a pairwise benchmark: groups items by image (each image is encoded once), checks for missing image
 * files up front, scores the images in chunks through a `ChunkScorer`, and returns every item's positive and
 * negative score under every configuration.
 */
import * as fs from 'fs';
import { DatasetError, NumericalError } from '../errors';
import { getLimits } from '../limits';
import { Progress, ProgressSink } from './progress';
import type { Crop, PairDataset, PairItem } from './types';

/** One image to encode: a file, optionally cropped. `key` identifies it (path + crop). */
export interface ImageRef {
  key: string;
  path: string;
  crop?: Crop;
}

export interface ChunkScorer {
  /** Configuration names, in report order (e.g. clip, abe, abe+regions). */
  configs: string[];
  /** How many `score` calls may run at once (a pool's worker count; default 1). */
  readonly concurrency?: number;
  /**
   * Scores of each image against its own captions: result[config][i][c] = S(images[i], captions[i][c]).
   * Images that cannot be decoded are reported through `failed` (key → message) instead of throwing.
   */
  score(images: ImageRef[], captions: string[][]): Promise<{ scores: Record<string, number[][]>; failed?: Map<string, string> }>;
}

export interface ItemScores {
  item: PairItem;
  /** config → [positive, negative]. */
  scores: Record<string, [number, number]>;
}

export interface RunResult {
  configs: string[];
  scored: ItemScores[];
  /** Image files that do not exist (each listed once), with the number of items they held. */
  missing: { file: string; items: number }[];
  /** Images that exist but failed to decode. */
  failed: { file: string; error: string; items: number }[];
  seconds: number;
}

export interface RunOptions {
  /** Images per scoring chunk (default 32; with a concurrent scorer, small enough for ≥ 4 chunks per worker). */
  chunk?: number;
  /** Missing or undecodable images are an error instead of being listed and skipped. */
  strict?: boolean;
  progress?: ProgressSink | false;
  label?: string;
}

export function imageKey(path: string, crop?: Crop): string {
  return crop ? `${path}#${crop.x},${crop.y},${crop.w},${crop.h}` : path;
}

export async function runPairs(ds: PairDataset, scorer: ChunkScorer, opts: RunOptions = {}): Promise<RunResult> {
  const t0 = Date.now();
  const groups = new Map<string, { ref: ImageRef; items: PairItem[] }>();
  // A caption over maxCaptionChars skips its item (listed under `failed`), not the whole run.
  const maxChars = getLimits().maxCaptionChars;
  const tooLong: RunResult['failed'] = [];
  for (const it of ds.items) {
    const long = [it.positive, it.negative].find((c) => c.length > maxChars);
    if (long !== undefined) {
      if (opts.strict)
        throw new DatasetError(
          `${ds.source} (item ${it.id})`,
          `caption of ${long.length} characters exceeds maxCaptionChars=${maxChars} (--strict)`,
        );
      tooLong.push({
        file: `${it.image} (item ${it.id})`,
        error: `caption of ${long.length} characters exceeds maxCaptionChars=${maxChars}; item skipped`,
        items: 1,
      });
      continue;
    }
    const key = imageKey(it.image, it.crop);
    let g = groups.get(key);
    if (!g) {
      g = { ref: { key, path: it.image, crop: it.crop }, items: [] };
      groups.set(key, g);
    }
    g.items.push(it);
  }
  const exists = new Map<string, boolean>();
  const present: { ref: ImageRef; items: PairItem[] }[] = [];
  const missingCount = new Map<string, number>();
  for (const g of groups.values()) {
    let ok = exists.get(g.ref.path);
    if (ok === undefined) {
      ok = fs.existsSync(g.ref.path);
      exists.set(g.ref.path, ok);
    }
    if (ok) present.push(g);
    else missingCount.set(g.ref.path, (missingCount.get(g.ref.path) ?? 0) + g.items.length);
  }
  const missing = [...missingCount].map(([file, items]) => ({ file, items }));
  if (missing.length && opts.strict) {
    throw new DatasetError(ds.source, `${missing.length} image file(s) missing (--strict), first: ${missing[0].file}`);
  }
  const lanes = Math.max(1, Math.floor(scorer.concurrency ?? 1));
  // Several chunks per worker, so that a worker that finishes early takes the next chunk instead of waiting.
  const chunk = opts.chunk ?? (lanes > 1 ? Math.min(32, Math.max(4, Math.ceil(present.length / (4 * lanes)))) : 32);
  const totalItems = present.reduce((s, g) => s + g.items.length, 0);
  const progress =
    opts.progress === false ? undefined : new Progress(opts.label ?? 'scoring', totalItems, 'items', opts.progress ?? process.stderr);
  const scored: ItemScores[] = [];
  const failedAt: { at: number; entry: RunResult['failed'][number] }[] = [];
  const take = (
    first: number,
    part: typeof present,
    captions: string[][],
    scores: Record<string, number[][]>,
    bad: Map<string, string> | undefined,
  ): void => {
    part.forEach((g, i) => {
      const err = bad?.get(g.ref.key);
      if (err !== undefined) {
        if (opts.strict) throw new DatasetError(g.ref.path, `cannot be decoded (--strict): ${err}`);
        failedAt.push({ at: first + i, entry: { file: g.ref.path, error: err, items: g.items.length } });
        return;
      }
      const col = new Map(captions[i].map((c, k) => [c, k]));
      for (const it of g.items) {
        const rec: Record<string, [number, number]> = {};
        for (const cfg of scorer.configs) {
          const row = scores[cfg][i];
          rec[cfg] = [row[col.get(it.positive)!], row[col.get(it.negative)!]];
          // A NaN score is a broken model or computation, never a wrong answer: stop and name the item.
          if (!Number.isFinite(rec[cfg][0]) || !Number.isFinite(rec[cfg][1])) {
            throw new NumericalError(
              `${ds.source} (item ${it.id}, ${g.ref.path})`,
              `config '${cfg}' scored ${rec[cfg][0]} / ${rec[cfg][1]}: not finite`,
            );
          }
        }
        scored.push({ item: it, scores: rec });
      }
    });
    progress?.tick(part.reduce((n, g) => n + g.items.length, 0));
  };
  // Up to `lanes` chunks in flight; each result is taken as it arrives and the next chunk goes out at once.
  type Flight = {
    first: number;
    part: typeof present;
    captions: string[][];
    done: Promise<Flight>;
    result?: Awaited<ReturnType<ChunkScorer['score']>>;
  };
  const flying = new Set<Flight>();
  let next = 0;
  const launch = (): void => {
    const first = next;
    const part = present.slice(first, first + chunk);
    next += part.length;
    const captions = part.map((g) => [...new Set(g.items.flatMap((it) => [it.positive, it.negative]))]);
    const f = { first, part, captions } as Flight;
    f.done = scorer
      .score(
        part.map((g) => g.ref),
        captions,
      )
      .then((r) => {
        f.result = r;
        return f;
      });
    f.done.catch(() => undefined); // awaited below; an error after another one stopped the run is not "unhandled"
    flying.add(f);
  };
  while (next < present.length && flying.size < lanes) launch();
  while (flying.size) {
    const f = await Promise.race([...flying].map((x) => x.done));
    flying.delete(f);
    if (next < present.length) launch();
    take(f.first, f.part, f.captions, f.result!.scores, f.result!.failed);
  }
  progress?.finish();
  // Report items in dataset order, whatever the chunking.
  const order = new Map(ds.items.map((it, k) => [it, k]));
  scored.sort((a, b) => order.get(a.item)! - order.get(b.item)!);
  const failed = [...tooLong, ...failedAt.sort((a, b) => a.at - b.at).map((f) => f.entry)];
  return { configs: scorer.configs, scored, missing, failed, seconds: (Date.now() - t0) / 1000 };
}
