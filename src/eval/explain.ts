/**
 * Alignment pictures: for one image and caption, each phrase group's sim_p map over the patch grid with its
 * chosen patches (R_k of the patch-level term, or the assigned region's patches for `abe+regions`), labelled
 * with the group's words and Δ_k, from the scorer's parts.
 */
import { Jimp } from 'jimp';
import { prepareCaptions } from '../abe/captions';
import { hiddenIndex } from '../abe/options';
import { patchKey } from '../abe/patches';
import { refine } from '../abe/refine';
import { OptionsError } from '../errors';
import { alignmentHeatmap, HeatGroup } from './plots/heatmap';
import type { JimpImage, Raster } from './plots/raster';
import type { ImageRef } from './runner';
import type { ModelScorer } from './scoring';

export interface ExplainResult {
  raster: Raster;
  scores: Record<string, number>;
  groups: { words: string; delta: number | null; lp: number | null; lo: number | null; chosen: number[] }[];
}

export async function explainPair(ms: ModelScorer, image: ImageRef, caption: string, config: string): Promise<ExplainResult> {
  if (config === 'clip' || !ms.configs.includes(config)) {
    throw new OptionsError('config', `explain needs an ABE configuration among ${ms.configs.filter((c) => c !== 'clip').join(', ') || '(none)'}, got '${config}'`);
  }
  const ex = await ms.explain(image, caption);
  const o = ms.options[config];
  const parts = ex.parts[config]!;
  const model = ms.abe.model, c = model.config, E = c.embedDim, P = ex.grid * ex.grid;
  // sim_p needs p_k, which the parts do not carry: recompute it for this one caption (cheap, cached by string).
  const caps = prepareCaptions([caption], c.text.contextLength);
  const groups = caps[0].groups;
  const patchOn = parts.delta !== null;
  const vKey = patchOn ? patchKey(o.patchFeatures, hiddenIndex(o.patchLayer, c.vision.layers, 'patchLayer')) : patchKey(o.regionSource, c.vision.layers);
  const v = ex.feats.patches[vKey];
  const p = groups.length ? (await refine(model, caps, o, hiddenIndex(o.refineLayer, c.text.layers, 'refineLayer'), new Map())).p : new Float32Array(0);
  const heat: HeatGroup[] = [];
  const out: ExplainResult['groups'] = [];
  groups.forEach((g, q) => {
    const simP = new Float32Array(P);
    for (let j = 0; j < P; j++) { let s = 0; for (let e = 0; e < E; e++) s += p[q * E + e] * v[j * E + e]; simP[j] = s; }
    let chosen: number[] = [];
    if (patchOn) chosen = Array.from(parts.R!.subarray(q * parts.topK, (q + 1) * parts.topK));
    else if (parts.region && parts.region[q] >= 0) {
      const mask = parts.regionMasks?.[0]?.masks[parts.region[q]];
      if (mask) chosen = Array.from(mask).flatMap((m, j) => (m ? [j] : []));
    }
    const delta = patchOn ? parts.delta![q] : NaN;
    const words = [...g.attributes, g.object].join(' ');
    const note = patchOn ? undefined
      : parts.region && parts.region[q] >= 0 ? `region ${parts.region[q] + 1}: p.r = ${parts.regionSim![q].toFixed(3)}` : '(no region)';
    heat.push({ label: words, delta, simP, chosen, note });
    out.push({ words, delta: patchOn ? delta : null, lp: patchOn ? parts.lp![q] : null, lo: patchOn ? parts.lo![q] : null, chosen });
  });
  const view = new Jimp({ width: ex.R, height: ex.R, color: 0x000000ff }) as unknown as JimpImage;
  const d = view.bitmap.data;
  for (let j = 0; j < ex.R * ex.R; j++) { d[j * 4] = ex.rgb[j * 3]; d[j * 4 + 1] = ex.rgb[j * 3 + 1]; d[j * 4 + 2] = ex.rgb[j * 3 + 2]; d[j * 4 + 3] = 255; }
  const subtitle = [
    Object.entries(ex.scores).map(([k, s]) => `${k} ${s.toFixed(2)}`).join('   '),
    patchOn ? `${config}: outline = top-${o.topK} patch${o.topK > 1 ? 'es' : ''} by ${o.locate} similarity, ${o.patchFeatures} features`
      : `${config}: outline = the region assigned to the group`,
  ];
  const raster = await alignmentHeatmap({
    title: `"${caption}"`,
    subtitle,
    image: view,
    gridH: ex.grid, gridW: ex.grid,
    outlineLabel: patchOn ? 'chosen patches (R_k)' : 'assigned region',
    groups: heat.length ? heat : [{ label: '(no phrase group found)', delta: NaN, simP: new Float32Array(P), chosen: [] }],
  });
  return { raster, scores: ex.scores, groups: out };
}
