/**
 * Explain overlays for the reports: for chosen items, the explain command's picture (`explainPair`) of the positive
 * and the negative caption under every ABE configuration, stacked into `explain/<id>.png`. The items an ABE
 * configuration fixed or broke against the baseline come first — they are the ones a reader opens.
 */
import * as fs from 'fs';
import * as path from 'path';
import { explainPair } from './explain';
import { stack } from './plots/raster';
import { isCorrect } from './report';
import type { ItemScores, RunResult } from './runner';
import { imageKey } from './runner';
import type { ModelScorer } from './scoring';

export const OVERLAY_DIR = 'explain';

/** A file name for an item id: anything outside [A-Za-z0-9._-] becomes '_' (ids come from dataset files). */
export function overlayName(id: string): string {
  return `${id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120)}.png`;
}

/** `first` (in order), then fixed and broke items of each non-baseline configuration alternately, up to `max`. */
export function pickOverlayItems(run: RunResult, baseline: string, max: number, first: ItemScores[] = []): ItemScores[] {
  const chosen = new Map<string, ItemScores>();
  const add = (r: ItemScores) => {
    if (chosen.size < max && !chosen.has(r.item.id)) chosen.set(r.item.id, r);
  };
  first.forEach(add);
  for (const cfg of run.configs.filter((c) => c !== baseline)) {
    const fixed = run.scored.filter((r) => isCorrect(r, cfg) && !isCorrect(r, baseline));
    const broke = run.scored.filter((r) => !isCorrect(r, cfg) && isCorrect(r, baseline));
    for (let k = 0; k < Math.max(fixed.length, broke.length); k++) {
      if (fixed[k]) add(fixed[k]);
      if (broke[k]) add(broke[k]);
    }
  }
  return [...chosen.values()];
}

/** Draws the overlays of `items` into outDir/explain/; returns item id → path relative to outDir. */
export async function drawOverlays(ms: ModelScorer, items: ItemScores[], outDir: string): Promise<Record<string, string>> {
  const abeConfigs = ms.configs.filter((c) => c !== 'clip');
  const out: Record<string, string> = {};
  if (!abeConfigs.length || !items.length) return out;
  fs.mkdirSync(path.join(outDir, OVERLAY_DIR), { recursive: true });
  for (const r of items) {
    const img = { key: imageKey(r.item.image, r.item.crop), path: r.item.image, crop: r.item.crop };
    const pics = [];
    for (const cfg of abeConfigs) {
      pics.push((await explainPair(ms, img, r.item.positive, cfg, 'positive')).raster);
      pics.push((await explainPair(ms, img, r.item.negative, cfg, 'negative')).raster);
    }
    const rel = `${OVERLAY_DIR}/${overlayName(r.item.id)}`;
    await stack(pics, 12).save(path.join(outDir, rel));
    out[r.item.id] = rel;
  }
  return out;
}
