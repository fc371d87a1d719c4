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
  /** Per-channel normalisation; defaults to CLIP_MEAN / CLIP_STD of src/image/constants.ts. */
  imageMean?: [number, number, number];
  imageStd?: [number, number, number];
}
