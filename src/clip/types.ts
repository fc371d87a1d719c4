/**
 * The public contract of the CLIP encoders. Shapes: n images, m texts, T = 1 + P vision tokens,
 * L = context length, W = encoder width, E = embedding dim, H heads.
 */
import type * as tf from '@tensorflow/tfjs';

export type EncoderName = 'image' | 'text';

/**
 * What a named hook sees besides the tensor. Encoders run the batch in chunks of at most `batchSize` rows
 * (default 32, lowered so one chunk's activations stay under the `maxBatchBytes` limit): a hook is called once
 * per chunk, on rows [batchStart, batchStart + batch) of the caller's batch. Pass a `batchSize` ≥ n (and a
 * large enough limit) to see the whole batch in one call. Captures (`cache`, `hiddenStates`,
 * `outputAttentions`) are always the whole batch.
 */
export interface HookPointInfo {
  encoder: EncoderName;
  /** The hook point's full name, e.g. `blocks.3.attn.probs`. */
  name: string;
  /** Block index of a `blocks.{i}.…` point; −1 for the points outside the blocks (`embed`, `ln_pre`, the head's). */
  block: number;
  /** Index, in the caller's batch, of row 0 of this chunk. */
  batchStart: number;
  /** Rows in this chunk. */
  batch: number;
}

/**
 * Reads or replaces the activation at a named hook point (src/clip/hooks.ts lists them with their shapes).
 * Return a tensor of the same shape to replace it, or nothing to leave it. Runs inside the encoder's tf.tidy:
 * tensors it creates are freed automatically (tf.keep what you want to hold on to, or use `cache`).
 */
export type HookFn = (x: tf.Tensor, info: HookPointInfo) => tf.Tensor | void;

export interface HookInfo {
  encoder: EncoderName;
  /** Hidden-state index: 0 = input of block 0 (after ln_pre for vision), k = output of block k−1. */
  layer: number;
  /** Index, in the caller's batch, of row 0 of this chunk (see HookPointInfo). */
  batchStart: number;
}

/**
 * Reads or replaces the hidden state at one layer boundary (an alias: `hidden[i]` is the hook point
 * `blocks.{i}.resid.pre`, `hidden[layers]` is `blocks.{layers−1}.resid.post`).
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

/**
 * Hooks of one encoder call: any hook point name or glob (`blocks.*.attn.probs`, `blocks.**`) → a HookFn, run in
 * the order the points are reached (several functions on one point run in key order). Plus two older forms:
 * `hidden` by hidden-state index and `attentionMask` by block index (a mask provider, not a point).
 */
export interface Hooks {
  /** By hidden-state index (0..layers). */
  hidden?: Record<number, HiddenHook>;
  /** By block index (0..layers−1). */
  attentionMask?: Record<number, MaskHook>;
  [point: string]: HookFn | Record<number, HiddenHook> | Record<number, MaskHook> | undefined;
}

export interface EncodeOptions {
  /** Rows per forward chunk (default 32); outputs are concatenated in input order. */
  batchSize?: number;
  /**
   * Also return hidden states: `true` for every index 0..layers, or a list of indices (negative counts from the
   * end: −1 = the last), returned in the order asked. Index 0 = input of block 0, k = output of block k−1.
   */
  hiddenStates?: boolean | number[];
  /** Also return every block's attention probabilities [n, H, T, T]. */
  outputAttentions?: boolean;
  /** Hook point names or globs whose activations to return in `cache` (the whole batch, after any edit hooks). */
  cache?: string[];
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
  /** With `hiddenStates`: [n, T, W] per asked index (all: layers+1 of them). */
  hiddenStates?: tf.Tensor3D[];
  /** The same array as `hiddenStates` (the older name). */
  hidden?: tf.Tensor3D[];
  /** With `outputAttentions`: one [n, H, T, T] per block. */
  attentions?: tf.Tensor4D[];
  /** With `cache`: each matched hook point's activation over the whole batch. */
  cache?: Record<string, tf.Tensor>;
}
