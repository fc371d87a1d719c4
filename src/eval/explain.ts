/**
 * Alignment pictures from the scorer's parts (nothing recomputed here): for one image and caption, the plain image
 * and, per phrase group, what the configuration used — `abe`: the group's sim_p map with its chosen patches R_k
 * and Δ_k; `abe+regions`: every region found, the one assigned to the group and the group's region term.
 */
import { Jimp } from 'jimp';
import { OptionsError } from '../errors';
import { alignmentHeatmap, HeatGroup } from './plots/heatmap';
import type { JimpImage, Raster } from './plots/raster';
import type { ImageRef } from './runner';
import type { ModelScorer } from './scoring';

export interface ExplainGroup {
  words: string;
  /** Patch-level term (null when off): Δ_k, l_p, l_o and the chosen patches R_k. */
  delta: number | null;
  lp: number | null;
  lo: number | null;
  /** R_k (patch term) or the assigned region's patches (region term). */
  chosen: number[];
  /** Region term (null when off): the assigned region (1-based; null: none), p_k·r and the group's term. */
  region: number | null;
  regionSim: number | null;
  regionTerm: number | null;
}

export interface ExplainResult {
  raster: Raster;
  scores: Record<string, number>;
  groups: ExplainGroup[];
}

/** `role` labels the caption on the picture (the positive or negative caption of a benchmark item). */
export async function explainPair(
  ms: ModelScorer,
  image: ImageRef,
  caption: string,
  config: string,
  role?: 'positive' | 'negative',
): Promise<ExplainResult> {
  if (config === 'clip' || !ms.configs.includes(config)) {
    throw new OptionsError(
      'config',
      `explain needs an ABE configuration among ${ms.configs.filter((c) => c !== 'clip').join(', ') || '(none)'}, got '${config}'`,
    );
  }
  const ex = await ms.explain(image, caption);
  const o = ms.options[config];
  const parts = ex.parts[config]!;
  const P = ex.grid * ex.grid;
  const patchOn = parts.delta !== null && parts.simP !== null;
  const regions = parts.regionMasks?.[0]?.masks ?? [];
  const heat: HeatGroup[] = [];
  const out: ExplainGroup[] = [];
  parts.groups.forEach((g, q) => {
    const words = [...g.attributes, g.object].join(' ');
    const rIdx = parts.region ? parts.region[q] : -1;
    const regionMask = rIdx >= 0 ? regions[rIdx] : undefined;
    const regionPatches = regionMask ? Array.from(regionMask).flatMap((m, j) => (m ? [j] : [])) : [];
    const chosen = patchOn ? Array.from(parts.R!.subarray(q * parts.topK, (q + 1) * parts.topK)) : regionPatches;
    const simP = patchOn ? parts.simP!.subarray(q * P, (q + 1) * P) : Float32Array.from({ length: P }, (_, j) => (regionMask?.[j] ? 1 : 0));
    const delta = patchOn ? parts.delta![q] : NaN;
    const term = parts.regionGroupTerm ? parts.regionGroupTerm[q] : NaN;
    const note = patchOn
      ? undefined
      : rIdx >= 0
        ? `region ${rIdx + 1}: term ${term >= 0 ? '+' : ''}${term.toFixed(3)} (p.r ${parts.regionSim![q].toFixed(3)})`
        : '(no region)';
    heat.push({ label: words, delta, simP, chosen, note });
    out.push({
      words,
      delta: patchOn ? delta : null,
      lp: patchOn ? parts.lp![q] : null,
      lo: patchOn ? parts.lo![q] : null,
      chosen,
      region: parts.region ? (rIdx >= 0 ? rIdx + 1 : null) : null,
      regionSim: parts.regionSim && rIdx >= 0 ? parts.regionSim[q] : null,
      regionTerm: parts.regionGroupTerm && rIdx >= 0 ? term : null,
    });
  });
  const view = new Jimp({ width: ex.R, height: ex.R, color: 0x000000ff }) as unknown as JimpImage;
  const d = view.bitmap.data;
  for (let j = 0; j < ex.R * ex.R; j++) {
    d[j * 4] = ex.rgb[j * 3];
    d[j * 4 + 1] = ex.rgb[j * 3 + 1];
    d[j * 4 + 2] = ex.rgb[j * 3 + 2];
    d[j * 4 + 3] = 255;
  }
  const subtitle = [
    Object.entries(ex.scores)
      .map(([k, s]) => `${k} ${s.toFixed(2)}`)
      .join('   '),
    patchOn
      ? `${config}: outline = top-${o.topK} patch${o.topK > 1 ? 'es' : ''} by ${o.locate} similarity, ${o.patchFeatures} features`
      : `${config}: ${regions.length} region${regions.length === 1 ? '' : 's'} found; outline = the region assigned to the group`,
  ];
  const legend = patchOn
    ? [
        "Brightness: sim_p = p_k . v_j, the similarity of the group's phrase embedding to each patch (min to max per panel).",
        'R_k: the top patches by that similarity; delta = l_p - l_o, phrase minus object similarity on R_k (the binding difference).',
      ]
    : [
        "Brightness: the assigned region. Each region is encoded on its own; p.r = similarity of the group's phrase to it.",
        `term: the group's region term; the caption adds ${o.regionLambda} x logit scale x the mean term over ALL its groups.`,
      ];
  const raster = await alignmentHeatmap({
    title: `${role ? `${role.toUpperCase()}: ` : ''}"${caption}"`,
    subtitle,
    legend,
    image: view,
    gridH: ex.grid,
    gridW: ex.grid,
    regions,
    outlineLabel: patchOn ? 'chosen patches (R_k)' : 'assigned region',
    groups: heat.length ? heat : [{ label: '(no phrase group found)', delta: NaN, simP: new Float32Array(P), chosen: [] }],
  });
  return { raster, scores: ex.scores, groups: out };
}
