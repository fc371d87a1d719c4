/** Names of the released CLIP ViT geometries, and a readable geometry string for anything else. */
import type { ClipConfig } from './config';

type Geometry = Pick<ClipConfig, 'embedDim' | 'imageResolution' | 'visionLayers' | 'visionWidth' | 'visionPatchSize'
  | 'contextLength' | 'vocabSize' | 'textWidth' | 'textLayers'>;

/** openai/CLIP's released ViT models (clip.available_models()). */
export const KNOWN_FAMILIES: Record<string, Geometry> = {
  'ViT-B/32': { embedDim: 512, imageResolution: 224, visionLayers: 12, visionWidth: 768, visionPatchSize: 32, contextLength: 77, vocabSize: 49408, textWidth: 512, textLayers: 12 },
  'ViT-B/16': { embedDim: 512, imageResolution: 224, visionLayers: 12, visionWidth: 768, visionPatchSize: 16, contextLength: 77, vocabSize: 49408, textWidth: 512, textLayers: 12 },
  'ViT-L/14': { embedDim: 768, imageResolution: 224, visionLayers: 24, visionWidth: 1024, visionPatchSize: 14, contextLength: 77, vocabSize: 49408, textWidth: 768, textLayers: 12 },
  'ViT-L/14-336': { embedDim: 768, imageResolution: 336, visionLayers: 24, visionWidth: 1024, visionPatchSize: 14, contextLength: 77, vocabSize: 49408, textWidth: 768, textLayers: 12 },
};

/** 'ViT-B/32' etc. when the geometry matches a released model, else e.g. 'ViT-W128L3/8@64 text-W128L3 ctx32 E64'. */
export function familyOf(c: ClipConfig): string {
  for (const [name, g] of Object.entries(KNOWN_FAMILIES)) {
    if ((Object.keys(g) as (keyof Geometry)[]).every((k) => g[k] === c[k])) return name;
  }
  return `ViT-W${c.visionWidth}L${c.visionLayers}/${c.visionPatchSize}@${c.imageResolution} text-W${c.textWidth}L${c.textLayers} ctx${c.contextLength} vocab${c.vocabSize} E${c.embedDim}`;
}
