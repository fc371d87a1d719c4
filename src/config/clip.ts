/**
 * The configuration of a CLIP model as plain data: `{ embedDim, vision, text }`, one `TowerConfig` shape for
 * both towers, and the image preprocessing apart from the geometry. It sits below every other folder
 * (weights/ reads checkpoints into it, clip/ builds models from it), so the one-way dependency rule holds;
 * `abe-clip` and `src/clip` re-export it as the model layer's own config.
 */

import { renderValue } from '../io/render';
import { STRUCTURE_LIMITS } from '../limits';

/** QuickGELU (OpenAI) or exact GELU (open_clip LAION models). */
export type Activation = 'quick_gelu' | 'gelu';
export const ACTIVATIONS: readonly Activation[] = ['quick_gelu', 'gelu'];

/** What a stack of pre-LN residual blocks needs: both towers share this shape. */
export interface TowerConfig {
  layers: number;
  width: number;
  heads: number;
  /** Hidden width of each block's MLP (4 × width for openai/CLIP; open_clip `mlp_ratio`, HF `intermediate_size`). */
  mlpWidth: number;
  act: Activation;
  layerNormEps: number;
}

/** The ViT image tower: square images of `resolution` pixels cut into `patchSize` patches. */
export interface VisionConfig extends TowerConfig {
  resolution: number;
  patchSize: number;
}

/** The causal text tower: at most `contextLength` tokens from a `vocabSize` vocabulary. */
export interface TextConfig extends TowerConfig {
  contextLength: number;
  vocabSize: number;
}

/** The geometry of a CLIP model: everything needed to build it. */
export interface ClipConfig {
  /** Width of the joint embedding space (both projections end here). */
  embedDim: number;
  vision: VisionConfig;
  text: TextConfig;
}

export type Triple = [number, number, number];

/** How images become model input: resize/crop to `resolution`, then per-channel (x − mean) / std. */
export interface PreprocessConfig {
  resolution: number;
  mean: Triple;
  std: Triple;
}

/** A config as far as a file tells it; missing fields are filled from the tensor shapes. */
export interface PartialClipConfig {
  embedDim?: number;
  vision?: Partial<VisionConfig>;
  text?: Partial<TextConfig>;
}

/** openai/CLIP's MLP is 4 × the width; other ratios are stated in the config (and read from the shapes). */
export const DEFAULT_MLP_RATIO = 4;
/** openai/CLIP fixes the head size at 64 when it infers heads from a width. */
export const DEFAULT_HEAD_WIDTH = 64;
export const DEFAULT_LAYER_NORM_EPS = 1e-5;

const TOWER_INTS = ['layers', 'width', 'heads', 'mlpWidth'] as const;

/** Structural upper bounds of each integer field (a hostile config must not make us allocate a huge model). */
const UPPER: Record<string, number> = {
  layers: STRUCTURE_LIMITS.maxLayers,
  width: STRUCTURE_LIMITS.maxWidth,
  heads: STRUCTURE_LIMITS.maxWidth,
  mlpWidth: STRUCTURE_LIMITS.maxWidth * 8,
  resolution: STRUCTURE_LIMITS.maxResolution,
  patchSize: STRUCTURE_LIMITS.maxResolution,
  contextLength: STRUCTURE_LIMITS.maxContext,
  vocabSize: STRUCTURE_LIMITS.maxVocab,
};

function towerProblems(t: TowerConfig | undefined, name: 'vision' | 'text', extra: readonly string[]): string[] {
  if (!t || typeof t !== 'object') return [`${name} is not an object`];
  const out: string[] = [];
  const rec = t as unknown as Record<string, unknown>;
  for (const k of [...TOWER_INTS, ...extra]) {
    const v = rec[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) out.push(`${name}.${k} = ${renderValue(v)} is not a positive integer`);
    else if (v > UPPER[k]) out.push(`${name}.${k} = ${v} is more than the structural limit ${UPPER[k]}`);
  }
  if (!(typeof t.layerNormEps === 'number' && t.layerNormEps > 0))
    out.push(`${name}.layerNormEps ${String(t.layerNormEps)} is not positive`);
  if (!ACTIVATIONS.includes(t.act)) out.push(`${name}.act '${String(t.act)}' is not quick_gelu or gelu`);
  if (!out.length && t.width % t.heads) out.push(`${name}.width ${t.width} is not divisible by ${name}.heads ${t.heads}`);
  return out;
}

/** Problems with a config on its own (heads dividing widths, positive sizes), as text; empty when fine. */
export function configProblems(c: ClipConfig): string[] {
  if (!c || typeof c !== 'object') return ['config is not an object'];
  const out: string[] = [];
  if (!Number.isSafeInteger(c.embedDim) || c.embedDim <= 0) out.push(`embedDim = ${renderValue(c.embedDim)} is not a positive integer`);
  else if (c.embedDim > STRUCTURE_LIMITS.maxWidth)
    out.push(`embedDim = ${c.embedDim} is more than the structural limit ${STRUCTURE_LIMITS.maxWidth}`);
  const v = towerProblems(c.vision, 'vision', ['resolution', 'patchSize']);
  out.push(...v, ...towerProblems(c.text, 'text', ['contextLength', 'vocabSize']));
  if (!v.length && c.vision.resolution % c.vision.patchSize) {
    out.push(`vision.resolution ${c.vision.resolution} is not a multiple of vision.patchSize ${c.vision.patchSize}`);
  }
  return out;
}

/** Patch tokens per image (grid²), without the class token. */
export function patchCount(v: Pick<VisionConfig, 'resolution' | 'patchSize'>): number {
  return (v.resolution / v.patchSize) ** 2;
}
