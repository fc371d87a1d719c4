/**
 * The geometry of a CLIP model, and the two ways to get it: inferred from canonical tensor shapes (as
 * openai/CLIP's `build_model` does) or read from a config file (Hugging Face `CLIPConfig`, open_clip model
 * config, or the reference's openai-style `config.json`).
 */
import { WeightsFormatError } from '../errors';
import { STRUCTURE_LIMITS } from '../limits';
import { renderValue } from '../io/render';

/** The geometry of a CLIP model: everything needed to build it, inferred from weights or read from a config. */
export interface ClipConfig {
  embedDim: number;
  imageResolution: number;
  visionLayers: number;
  visionWidth: number;
  visionHeads: number;
  visionPatchSize: number;
  contextLength: number;
  vocabSize: number;
  textWidth: number;
  textHeads: number;
  textLayers: number;
  /** QuickGELU (OpenAI) or exact GELU (open_clip LAION models). */
  act: 'quick_gelu' | 'gelu';
  layerNormEps: number;
  /** Hidden width of each tower's MLP when it is not 4 × the tower's width (open_clip `mlp_ratio`, HF `intermediate_size`). */
  visionMlpWidth?: number;
  textMlpWidth?: number;
  /** Per-channel normalisation; defaults to CLIP_MEAN / CLIP_STD of src/image/constants.ts. */
  imageMean?: [number, number, number];
  imageStd?: [number, number, number];
}

/** openai/CLIP's MLP is 4 × the width; other ratios are stated in the config (and read from the shapes). */
export const DEFAULT_MLP_RATIO = 4;

/** The MLP hidden width of a tower. */
export function mlpWidth(c: ClipConfig, tower: 'vision' | 'text'): number {
  return tower === 'vision' ? c.visionMlpWidth ?? DEFAULT_MLP_RATIO * c.visionWidth : c.textMlpWidth ?? DEFAULT_MLP_RATIO * c.textWidth;
}

/** An MLP width only when it differs from the default ratio (configs of 4× models stay as they were). */
function unlessDefault(hidden: number | undefined, width: number | undefined): number | undefined {
  return hidden !== undefined && width !== undefined && hidden === DEFAULT_MLP_RATIO * width ? undefined : hidden;
}

/** openai/CLIP fixes the head size at 64 when it infers heads from a width. */
export const DEFAULT_HEAD_WIDTH = 64;
export const DEFAULT_LAYER_NORM_EPS = 1e-5;

/** A config as far as a file tells it; missing fields are filled from the tensor shapes. */
export type PartialClipConfig = Partial<ClipConfig>;

const ACTS: Record<string, ClipConfig['act']> = { quick_gelu: 'quick_gelu', gelu: 'gelu' };

function num(obj: Record<string, unknown>, key: string, source: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new WeightsFormatError(source, `config field '${key}' is ${renderValue(v)}, expected a positive number`);
  }
  return v;
}

function int(obj: Record<string, unknown>, key: string, source: string): number | undefined {
  const v = num(obj, key, source);
  if (v !== undefined && !Number.isSafeInteger(v)) {
    throw new WeightsFormatError(source, `config field '${key}' is ${v}, expected an integer`);
  }
  return v;
}

function act(v: unknown, source: string, key: string): ClipConfig['act'] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !(v in ACTS)) {
    throw new WeightsFormatError(source, `config field '${key}' is ${renderValue(v)}; supported: quick_gelu, gelu`);
  }
  return ACTS[v];
}

function obj(v: unknown, source: string, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new WeightsFormatError(source, `${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

function dropUndefined(c: PartialClipConfig): PartialClipConfig {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as PartialClipConfig;
}

/**
 * Read a config JSON (already parsed): Hugging Face `CLIPConfig` (`text_config` / `vision_config`),
 * open_clip (`vision_cfg` / `text_cfg`), or openai-style (`embed_dim`, `vision_width`, `transformer_width`…).
 * Returns only what the file states.
 */
export function parseConfigJson(json: unknown, source: string): PartialClipConfig {
  const o = obj(json, source, 'config');
  if ('text_config' in o || 'vision_config' in o || o.model_type === 'clip') {
    const t = obj(o.text_config ?? {}, source, 'text_config');
    const v = obj(o.vision_config ?? {}, source, 'vision_config');
    const ta = act(t.hidden_act, source, 'text_config.hidden_act');
    const va = act(v.hidden_act, source, 'vision_config.hidden_act');
    if (ta && va && ta !== va) throw new WeightsFormatError(source, `text and vision hidden_act differ (${ta}, ${va}); unsupported`);
    const te = num(t, 'layer_norm_eps', source), ve = num(v, 'layer_norm_eps', source);
    if (te !== undefined && ve !== undefined && te !== ve) throw new WeightsFormatError(source, `text and vision layer_norm_eps differ (${te}, ${ve}); unsupported`);
    return dropUndefined({
      embedDim: int(o, 'projection_dim', source),
      imageResolution: int(v, 'image_size', source),
      visionLayers: int(v, 'num_hidden_layers', source),
      visionWidth: int(v, 'hidden_size', source),
      visionHeads: int(v, 'num_attention_heads', source),
      visionPatchSize: int(v, 'patch_size', source),
      contextLength: int(t, 'max_position_embeddings', source),
      vocabSize: int(t, 'vocab_size', source),
      textWidth: int(t, 'hidden_size', source),
      textHeads: int(t, 'num_attention_heads', source),
      textLayers: int(t, 'num_hidden_layers', source),
      visionMlpWidth: unlessDefault(int(v, 'intermediate_size', source), int(v, 'hidden_size', source)),
      textMlpWidth: unlessDefault(int(t, 'intermediate_size', source), int(t, 'hidden_size', source)),
      act: ta ?? va,
      layerNormEps: te ?? ve,
    });
  }
  if ('vision_cfg' in o || 'text_cfg' in o) {
    const v = obj(o.vision_cfg ?? {}, source, 'vision_cfg');
    const t = obj(o.text_cfg ?? {}, source, 'text_cfg');
    const vw = int(v, 'width', source), tw = int(t, 'width', source);
    const hw = int(v, 'head_width', source) ?? DEFAULT_HEAD_WIDTH;
    // open_clip: mlp_width = int(width * mlp_ratio).
    const hidden = (w: number | undefined, cfg: Record<string, unknown>): number | undefined => {
      const r = num(cfg, 'mlp_ratio', source);
      return w !== undefined && r !== undefined ? unlessDefault(Math.floor(w * r), w) : undefined;
    };
    // open_clip: QuickGELU only when the config says so (OpenAI-trained weights); LAION models use GELU.
    const quick = o.quick_gelu === true;
    return dropUndefined({
      embedDim: int(o, 'embed_dim', source),
      imageResolution: int(v, 'image_size', source),
      visionLayers: int(v, 'layers', source),
      visionWidth: vw,
      visionHeads: vw !== undefined ? Math.floor(vw / hw) : undefined,
      visionPatchSize: int(v, 'patch_size', source),
      contextLength: int(t, 'context_length', source),
      vocabSize: int(t, 'vocab_size', source),
      textWidth: tw,
      textHeads: int(t, 'heads', source),
      textLayers: int(t, 'layers', source),
      visionMlpWidth: hidden(vw, v),
      textMlpWidth: hidden(tw, t),
      act: quick ? 'quick_gelu' : 'gelu',
    });
  }
  if ('embed_dim' in o || 'vision_width' in o || 'transformer_width' in o) {
    return dropUndefined({
      embedDim: int(o, 'embed_dim', source),
      imageResolution: int(o, 'image_resolution', source),
      visionLayers: int(o, 'vision_layers', source),
      visionWidth: int(o, 'vision_width', source),
      visionHeads: int(o, 'vision_heads', source),
      visionPatchSize: int(o, 'vision_patch_size', source),
      contextLength: int(o, 'context_length', source),
      vocabSize: int(o, 'vocab_size', source),
      textWidth: int(o, 'transformer_width', source),
      textHeads: int(o, 'transformer_heads', source),
      textLayers: int(o, 'transformer_layers', source),
      act: act(o.act, source, 'act'),
      layerNormEps: num(o, 'layer_norm_eps', source),
    });
  }
  throw new WeightsFormatError(source, 'config is neither a Hugging Face CLIPConfig, an open_clip config nor an openai-style config');
}

/** Shapes of the canonical tensors that decide the geometry. */
export type ShapeOf = (canonicalName: string) => readonly number[] | undefined;

/**
 * Geometry from canonical (OpenAI-named) tensor shapes, as openai/CLIP `build_model`: heads = width / 64.
 * Assumes the key tensors exist (the caller reports missing ones first).
 */
export function inferConfigFromShapes(shapeOf: ShapeOf, layerCount: (prefix: string) => number): ClipConfig {
  const s = (n: string): readonly number[] => shapeOf(n) ?? [];
  const visionWidth = s('visual.conv1.weight')[0];
  const visionPatchSize = s('visual.conv1.weight')[3];
  const grid = Math.round(Math.sqrt(s('visual.positional_embedding')[0] - 1));
  const textWidth = s('ln_final.weight')[0];
  // The MLP width from block 0's c_fc [hidden, width] — only when that tensor fits the width, so that a malformed
  // tensor is reported against the shape the rest of the model implies.
  const hiddenOf = (name: string, width: number): number | undefined => {
    const sh = shapeOf(name);
    return sh && sh.length === 2 && sh[1] === width ? unlessDefault(sh[0], width) : undefined;
  };
  const visionMlpWidth = hiddenOf('visual.transformer.resblocks.0.mlp.c_fc.weight', visionWidth);
  const textMlpWidth = hiddenOf('transformer.resblocks.0.mlp.c_fc.weight', textWidth);
  return {
    embedDim: s('text_projection')[1],
    imageResolution: visionPatchSize * grid,
    visionLayers: layerCount('visual.transformer.resblocks.'),
    visionWidth,
    visionHeads: Math.max(1, Math.floor(visionWidth / DEFAULT_HEAD_WIDTH)),
    visionPatchSize,
    contextLength: s('positional_embedding')[0],
    vocabSize: s('token_embedding.weight')[0],
    textWidth,
    textHeads: Math.max(1, Math.floor(textWidth / DEFAULT_HEAD_WIDTH)),
    textLayers: layerCount('transformer.resblocks.'),
    ...(visionMlpWidth !== undefined ? { visionMlpWidth } : {}),
    ...(textMlpWidth !== undefined ? { textMlpWidth } : {}),
    act: 'quick_gelu',
    layerNormEps: DEFAULT_LAYER_NORM_EPS,
  };
}

/** Problems with a config on its own (heads dividing widths, positive sizes), as text; empty when fine. */
export function configProblems(c: ClipConfig): string[] {
  const out: string[] = [];
  const ints: (keyof ClipConfig)[] = ['embedDim', 'imageResolution', 'visionLayers', 'visionWidth', 'visionHeads',
    'visionPatchSize', 'contextLength', 'vocabSize', 'textWidth', 'textHeads', 'textLayers'];
  for (const k of ints) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) out.push(`${k} = ${renderValue(v)} is not a positive integer`);
  }
  for (const k of ['visionMlpWidth', 'textMlpWidth'] as const) {
    const v = c[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0)) out.push(`${k} = ${renderValue(v)} is not a positive integer`);
  }
  if (out.length) return out;
  const S = STRUCTURE_LIMITS;
  const upper: [keyof ClipConfig, number][] = [
    ['visionLayers', S.maxLayers], ['textLayers', S.maxLayers], ['embedDim', S.maxWidth], ['visionWidth', S.maxWidth],
    ['textWidth', S.maxWidth], ['visionHeads', S.maxWidth], ['textHeads', S.maxWidth], ['visionMlpWidth', S.maxWidth * 8],
    ['textMlpWidth', S.maxWidth * 8], ['vocabSize', S.maxVocab], ['imageResolution', S.maxResolution],
    ['visionPatchSize', S.maxResolution], ['contextLength', S.maxContext],
  ];
  for (const [k, max] of upper) {
    const v = c[k];
    if (typeof v === 'number' && v > max) out.push(`${k} = ${v} is more than the structural limit ${max}`);
  }
  if (out.length) return out;
  if (c.visionWidth % c.visionHeads) out.push(`visionWidth ${c.visionWidth} is not divisible by visionHeads ${c.visionHeads}`);
  if (c.textWidth % c.textHeads) out.push(`textWidth ${c.textWidth} is not divisible by textHeads ${c.textHeads}`);
  if (c.imageResolution % c.visionPatchSize) out.push(`imageResolution ${c.imageResolution} is not a multiple of visionPatchSize ${c.visionPatchSize}`);
  if (!(c.layerNormEps > 0)) out.push(`layerNormEps ${c.layerNormEps} is not positive`);
  if (c.act !== 'quick_gelu' && c.act !== 'gelu') out.push(`act '${c.act}' is not quick_gelu or gelu`);
  return out;
}
