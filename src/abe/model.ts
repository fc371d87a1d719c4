/**
 * What the ABE scorer needs from a CLIP model — a structural subset of `ClipModel` (src/clip/model.ts), so
 * that the method stays testable with small fakes and depends on the encoder contract only.
 */
import type * as tf from '@tensorflow/tfjs';
import type { EncodeOptions, EncoderOutput, TextEncodeOptions } from '../clip/types';
import type { ClipConfig, PreprocessConfig } from '../config/clip';

export interface AbeLayerNorm {
  apply<T extends tf.Tensor>(x: T): T;
}

/** A linear layer over the last axis: [..., in] → [..., out]. */
export interface AbeLinear {
  apply<R extends tf.Rank>(x: tf.Tensor<R>): tf.Tensor<R>;
}

/** One residual block's attention projections. */
export interface AbeBlock {
  ln1: AbeLayerNorm;
  attn: { q: AbeLinear; v: AbeLinear; out: AbeLinear };
  heads: number;
  headDim: number;
}

export interface AbeModel {
  config: ClipConfig;
  /** Image resolution and normalisation of the model's input. */
  preprocess: Readonly<PreprocessConfig>;
  /** exp(logit_scale). */
  logitScale: number;
  vision: {
    layers: number;
    blocks: AbeBlock[];
    /** ln_post then @proj on every token: [n,T,W] → [n,T,E]. */
    head(h: tf.Tensor3D): tf.Tensor3D;
  };
  text: {
    layers: number;
    head(h: tf.Tensor3D): tf.Tensor3D;
  };
  encodeImages(pixels: tf.Tensor4D, opts?: EncodeOptions): Promise<EncoderOutput> | EncoderOutput;
  encodeTexts(texts: tf.Tensor2D | string[], opts?: TextEncodeOptions): Promise<EncoderOutput> | EncoderOutput;
}
