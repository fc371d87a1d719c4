/**
 * Explicit limits on untrusted input, in one place. Every reader checks against these before it allocates.
 * Change them with `setLimits({...})` (process-wide) — e.g. to accept larger images.
 */
import { OptionsError } from './errors';

export interface Limits {
  /** Largest image (width × height) decoded, checked from the header before decoding. PIL warns at ~89.5 MP. */
  maxImagePixels: number;
  /**
   * Longest image side (width or height), from the header. Decoders spend per-row (pngjs: ≈ 130 bytes) or
   * per-column work, so a 1 × 90,000,000 PNG inside maxImagePixels would need GBs; 65,535 is JPEG's own bound.
   */
  maxImageSide: number;
  /** Largest image file read from a path, in bytes, checked with fstat before any of it is read. */
  maxImageFileBytes: number;
  /** Largest caption, in UTF-16 code units, accepted by the tokenizer. */
  maxCaptionChars: number;
  /** Longest single pre-token run through BPE; longer "words" are split into chunks of this size first. */
  maxBpeWordChars: number;
  /** Largest JSON header of a safetensors file, and largest pickle, in bytes. */
  maxHeaderBytes: number;
  /** Largest single tensor (bytes, as float32) created from a checkpoint. */
  maxTensorBytes: number;
  /** Upper bound on the float32 activations of one encoder chunk; batches are split to stay below it. */
  maxBatchBytes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxImagePixels: 90_000_000,
  maxImageSide: 65_535,
  maxImageFileBytes: 512 * 1024 * 1024,
  maxCaptionChars: 1_000_000,
  maxBpeWordChars: 1_000,
  maxHeaderBytes: 100 * 1024 * 1024,
  maxTensorBytes: 4 * 1024 * 1024 * 1024,
  maxBatchBytes: 2 * 1024 * 1024 * 1024,
});

/**
 * Fixed bounds on the *structure* a model file may declare (not settable: they are far above any CLIP model,
 * ViT-bigG has 48 vision layers, width 1664; and they keep a few-byte config from asking for millions of
 * layers or weights before any byte count limit applies).
 */
export const STRUCTURE_LIMITS = Object.freeze({
  /** Transformer layers per tower. */
  maxLayers: 1024,
  /** Widths, embedding size, MLP widths, heads. */
  maxWidth: 65_536,
  /** Token vocabulary. */
  maxVocab: 10_000_000,
  /** Image resolution (pixels per side) and context length (tokens). */
  maxResolution: 8192,
  maxContext: 65_536,
  /** Weights listed in a converted manifest, and shard files. */
  maxWeights: 100_000,
  maxShards: 10_000,
});

let current: Limits = { ...DEFAULT_LIMITS };

export function getLimits(): Readonly<Limits> {
  return current;
}

/** Override some limits; returns the previous values (so tests can restore them). */
export function setLimits(patch: Partial<Limits>): Limits {
  const prev = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (!(k in DEFAULT_LIMITS))
      throw new OptionsError('setLimits', `unknown limit '${k}' (known: ${Object.keys(DEFAULT_LIMITS).join(', ')})`);
    if (typeof v !== 'number' || !(v > 0)) throw new OptionsError('setLimits', `${k} must be a positive number`);
  }
  current = { ...current, ...patch };
  return prev;
}
