/** Names of the released CLIP ViT geometries, and a readable geometry string for anything else. */
import { ClipConfig, DEFAULT_HEAD_WIDTH, DEFAULT_LAYER_NORM_EPS, DEFAULT_MLP_RATIO } from '../config/clip';

/** A released openai/CLIP ViT: 64-wide heads, 4 × MLP, QuickGELU, 77-token context, 49408-token vocabulary. */
function released(embedDim: number, resolution: number, patchSize: number, visionLayers: number, visionWidth: number, textWidth: number): ClipConfig {
  const tower = (layers: number, width: number) => ({
    layers, width, heads: width / DEFAULT_HEAD_WIDTH, mlpWidth: DEFAULT_MLP_RATIO * width, act: 'quick_gelu' as const, layerNormEps: DEFAULT_LAYER_NORM_EPS,
  });
  return {
    embedDim,
    vision: { ...tower(visionLayers, visionWidth), resolution, patchSize },
    text: { ...tower(12, textWidth), contextLength: 77, vocabSize: 49408 },
  };
}

/** openai/CLIP's released ViT models (clip.available_models()). */
export const KNOWN_FAMILIES: Readonly<Record<string, Readonly<ClipConfig>>> = {
  'ViT-B/32': released(512, 224, 32, 12, 768, 512),
  'ViT-B/16': released(512, 224, 16, 12, 768, 512),
  'ViT-L/14': released(768, 224, 14, 24, 1024, 768),
  'ViT-L/14-336': released(768, 336, 14, 24, 1024, 768),
};

/** The sizes that name a family (heads, activation and eps do not). */
function geometry(c: ClipConfig): string {
  const v = c.vision, t = c.text;
  return `ViT-W${v.width}L${v.layers}/${v.patchSize}@${v.resolution} text-W${t.width}L${t.layers} ctx${t.contextLength} vocab${t.vocabSize} E${c.embedDim}`;
}

/** 'ViT-B/32' etc. when the geometry matches a released model, else e.g. 'ViT-W128L3/8@64 text-W128L3 ctx32 vocab49408 E64'. */
export function familyOf(c: ClipConfig): string {
  const g = geometry(c);
  for (const [name, f] of Object.entries(KNOWN_FAMILIES)) if (geometry(f) === g) return name;
  return g;
}
