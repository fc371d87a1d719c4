/**
 * Reading a CLIP config (src/config/clip.ts) from checkpoints, two ways: inferred from canonical tensor shapes
 * (as openai/CLIP's `build_model` does) or read from a config file (Hugging Face `CLIPConfig`, open_clip model
 * config, or the reference's openai-style `config.json`).
 */
import { WeightsFormatError } from '../errors';
import { renderValue } from '../io/render';
import {
  Activation, ACTIVATIONS, ClipConfig, DEFAULT_HEAD_WIDTH, DEFAULT_LAYER_NORM_EPS, DEFAULT_MLP_RATIO, PartialClipConfig,
  TextConfig, VisionConfig,
} from '../config/clip';

export type { ClipConfig, PartialClipConfig } from '../config/clip';

function num(o: Record<string, unknown>, key: string, source: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new WeightsFormatError(source, `config field '${key}' is ${renderValue(v)}, expected a positive number`);
  }
  return v;
}

function int(o: Record<string, unknown>, key: string, source: string): number | undefined {
  const v = num(o, key, source);
  if (v !== undefined && !Number.isSafeInteger(v)) {
    throw new WeightsFormatError(source, `config field '${key}' is ${v}, expected an integer`);
  }
  return v;
}

function act(v: unknown, source: string, key: string): Activation | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !(ACTIVATIONS as readonly string[]).includes(v)) {
    throw new WeightsFormatError(source, `config field '${key}' is ${renderValue(v)}; supported: ${ACTIVATIONS.join(', ')}`);
  }
  return v as Activation;
}

function obj(v: unknown, source: string, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new WeightsFormatError(source, `${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function partial(embedDim: number | undefined, vision: Partial<VisionConfig>, text: Partial<TextConfig>): PartialClipConfig {
  return defined({ embedDim, vision: defined(vision), text: defined(text) });
}

/**
 * Read a config JSON (already parsed): Hugging Face `CLIPConfig` (`text_config` / `vision_config`),
 * open_clip (`vision_cfg` / `text_cfg`), or openai-style (`embed_dim`, `vision_width`, `transformer_width`…).
 * Returns only what the file states.
 */
export function parseConfigJson(json: unknown, source: string): PartialClipConfig {
  const root = obj(json, source, 'config');
  if ('text_config' in root || 'vision_config' in root || root.model_type === 'clip') {
    const t = obj(root.text_config ?? {}, source, 'text_config');
    const v = obj(root.vision_config ?? {}, source, 'vision_config');
    const tower = (c: Record<string, unknown>, name: string) => ({
      layers: int(c, 'num_hidden_layers', source),
      width: int(c, 'hidden_size', source),
      heads: int(c, 'num_attention_heads', source),
      mlpWidth: int(c, 'intermediate_size', source),
      act: act(c.hidden_act, source, `${name}.hidden_act`),
      layerNormEps: num(c, 'layer_norm_eps', source),
    });
    return partial(int(root, 'projection_dim', source),
      { ...tower(v, 'vision_config'), resolution: int(v, 'image_size', source), patchSize: int(v, 'patch_size', source) },
      { ...tower(t, 'text_config'), contextLength: int(t, 'max_position_embeddings', source), vocabSize: int(t, 'vocab_size', source) });
  }
  if ('vision_cfg' in root || 'text_cfg' in root) {
    const v = obj(root.vision_cfg ?? {}, source, 'vision_cfg');
    const t = obj(root.text_cfg ?? {}, source, 'text_cfg');
    const vw = int(v, 'width', source), tw = int(t, 'width', source);
    const hw = int(v, 'head_width', source) ?? DEFAULT_HEAD_WIDTH;
    // open_clip: mlp_width = int(width * mlp_ratio).
    const hidden = (w: number | undefined, cfg: Record<string, unknown>): number | undefined => {
      const r = num(cfg, 'mlp_ratio', source);
      return w !== undefined && r !== undefined ? Math.floor(w * r) : undefined;
    };
    // open_clip: QuickGELU only when the config says so (OpenAI-trained weights); LAION models use GELU.
    const a: Activation = root.quick_gelu === true ? 'quick_gelu' : 'gelu';
    return partial(int(root, 'embed_dim', source), {
      layers: int(v, 'layers', source), width: vw, heads: vw !== undefined ? Math.floor(vw / hw) : undefined,
      mlpWidth: hidden(vw, v), act: a, resolution: int(v, 'image_size', source), patchSize: int(v, 'patch_size', source),
    }, {
      layers: int(t, 'layers', source), width: tw, heads: int(t, 'heads', source), mlpWidth: hidden(tw, t), act: a,
      contextLength: int(t, 'context_length', source), vocabSize: int(t, 'vocab_size', source),
    });
  }
  if ('embed_dim' in root || 'vision_width' in root || 'transformer_width' in root) {
    const a = act(root.act, source, 'act'), eps = num(root, 'layer_norm_eps', source);
    return partial(int(root, 'embed_dim', source), {
      layers: int(root, 'vision_layers', source), width: int(root, 'vision_width', source),
      heads: int(root, 'vision_heads', source), act: a, layerNormEps: eps,
      resolution: int(root, 'image_resolution', source), patchSize: int(root, 'vision_patch_size', source),
    }, {
      layers: int(root, 'transformer_layers', source), width: int(root, 'transformer_width', source),
      heads: int(root, 'transformer_heads', source), act: a, layerNormEps: eps,
      contextLength: int(root, 'context_length', source), vocabSize: int(root, 'vocab_size', source),
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
  const vw = s('visual.conv1.weight')[0];
  const patchSize = s('visual.conv1.weight')[3];
  const grid = Math.round(Math.sqrt(s('visual.positional_embedding')[0] - 1));
  const tw = s('ln_final.weight')[0];
  // The MLP width from block 0's c_fc [hidden, width] — only when that tensor fits the width, so that a malformed
  // tensor is reported against the shape the rest of the model implies.
  const hiddenOf = (name: string, width: number): number => {
    const sh = shapeOf(name);
    return sh && sh.length === 2 && sh[1] === width ? sh[0] : DEFAULT_MLP_RATIO * width;
  };
  const common = { act: 'quick_gelu' as const, layerNormEps: DEFAULT_LAYER_NORM_EPS };
  return {
    embedDim: s('text_projection')[1],
    vision: {
      layers: layerCount('visual.transformer.resblocks.'), width: vw, heads: Math.max(1, Math.floor(vw / DEFAULT_HEAD_WIDTH)),
      mlpWidth: hiddenOf('visual.transformer.resblocks.0.mlp.c_fc.weight', vw), ...common,
      resolution: patchSize * grid, patchSize,
    },
    text: {
      layers: layerCount('transformer.resblocks.'), width: tw, heads: Math.max(1, Math.floor(tw / DEFAULT_HEAD_WIDTH)),
      mlpWidth: hiddenOf('transformer.resblocks.0.mlp.c_fc.weight', tw), ...common,
      contextLength: s('positional_embedding')[0], vocabSize: s('token_embedding.weight')[0],
    },
  };
}
