/** Public API of the CLIP model layer. */
export type { Activation, ClipConfig, PreprocessConfig, TextConfig, TowerConfig, VisionConfig } from '../config/clip';
export { ClipModel, createClip, disposeOutput } from './model';
export type { LogitsOutput, ModelOptions } from './model';
export { VisionTransformer } from './vision';
export { TextTransformer, MASK_BLOCKED } from './text';
export { Attention, LayerNorm, Linear, Mlp, ResidualBlock } from './layers';
export { Transformer } from './transformer';
export { DEFAULT_BATCH_SIZE } from './inputs';
export type {
  EncodeOptions, EncoderName, EncoderOutput, HiddenHook, HookInfo, Hooks, MaskHook, MaskInfo, TextEncodeOptions,
} from './types';
