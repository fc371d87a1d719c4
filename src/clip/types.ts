/**
 * The public contract of the CLIP encoders. Shapes: n images, m texts, T = 1 + P vision tokens,
 * L = context length, W = encoder width, E = embedding dim.
 */
import type * as tf from '@tensorflow/tfjs';

export type EncoderName = 'image' | 'text';

export interface HookInfo {
  encoder: EncoderName;
  /** Hidden-state index: 0 = input of block 0 (after ln_pre for vision), k = output of block k−1. */
  layer: number;
  /** Index, in the caller's batch, of row 0 of this chunk (encoders run in chunks of `batchSize`). */
  batchStart: number;
}

/**
 * Reads or replaces the hidden state at one layer boundary. Return a tensor of the same shape to replace it,
 * or nothing to leave it. Runs inside the encoder's tf.tidy: tensors it creates are freed automatically.
 */
export type HiddenHook = (h: tf.Tensor3D /* [chunk, T, W] */, info: HookInfo) => tf.Tensor3D | void;

export interface MaskInfo {
  encoder: EncoderName;
  /** Block index 0..layers−1 whose attention this mask is for. */
  block: number;
  batchStart: number;
  /** Rows in this chunk. */
  batch: number;
  tokens: number;
  /** The mask the block would use: additive [T,T] (causal for text), or null (vision: none). */
  defaultMask: tf.Tensor2D | null;
}

/** Returns an additive attention mask ([T,T] or [chunk,T,T]; 0 = attend, large negative = blocked). */
export type MaskHook = (info: MaskInfo) => tf.Tensor2D | tf.Tensor3D | null;

export interface Hooks {
  /** By hidden-state index (0..layers). */
  hidden?: Record<number, HiddenHook>;
  /** By block index (0..layers−1). */
  attentionMask?: Record<number, MaskHook>;
}

export interface EncodeOptions {
  /** Rows per forward chunk (default 32); outputs are concatenated in input order. */
  batchSize?: number;
  /** Also return every hidden state (index 0..layers). */
  hiddenStates?: boolean;
  /**
   * Compute the head on every token (default true). False: only the pooled rows go through the head, and
   * `tokens` is an empty [n, 0, E] tensor — what embedding-only jobs want (no n·T·E output, no per-token
   * projection).
   */
  tokens?: boolean;
  hooks?: Hooks;
}

export interface TextEncodeOptions extends EncodeOptions {
  /** With string input: cut captions longer than the context (last kept token = EOT). Default false (error). */
  truncate?: boolean;
}

export interface EncoderOutput {
  /** Pooled, projected, NOT normalised: [n, E]. */
  embeds: tf.Tensor2D;
  /** Final LayerNorm + projection at every token: [n, T, E] (vision: CLS first) or [m, L, E] (text); [n, 0, E] with `tokens: false`. */
  tokens: tf.Tensor3D;
  /** With `hiddenStates`: layers+1 tensors [n, T, W]. */
  hidden?: tf.Tensor3D[];
}
