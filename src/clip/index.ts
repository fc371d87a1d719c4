/** Public API of the CLIP model layer. */
export type { Activation, ClipConfig, PreprocessConfig, TextConfig, TowerConfig, VisionConfig } from '../config/clip';
export { ClipModel, createClip, disposeOutput } from './model';
export type { LogitsOutput, ModelOptions } from './model';
export { VisionTransformer } from './vision';
export { TextTransformer, MASK_BLOCKED } from './text';
export { Attention, LayerNorm, Linear, Mlp, ResidualBlock } from './layers';
export { Transformer } from './transformer';
export type { BlockResidency } from './transformer';
export { DEFAULT_BATCH_SIZE } from './inputs';
export type {
  EncodeOptions,
  EncoderName,
  EncoderOutput,
  HiddenHook,
  HookFn,
  HookInfo,
  HookPointInfo,
  Hooks,
  MaskHook,
  MaskInfo,
  TextEncodeOptions,
} from './types';
export { BLOCK_POINTS, TOWER_POINTS, HEAD_POINTS, hookPointNames, globRegExp } from './hooks';
export type { BlockPoint } from './hooks';
export { loadClip, loadWeights, openWeights, modelFromWeights, resolveModelPath, BUNDLED_MODELS } from './load';
export type { LoadClipOptions, LoadedWeights, OpenedWeights } from './load';
export { convertCheckpoint } from './convert';
export type { ConvertOptions, ConvertProgress, ConvertReport } from './convert';
export { defaultWeightLayout, WEIGHT_LAYOUTS } from '../tensor/linear';
export type { WeightLayout } from '../tensor/linear';
