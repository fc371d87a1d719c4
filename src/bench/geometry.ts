/**
 * Model geometries the benchmark runs without any download, and the floating-point work of one forward pass
 * (counted as open_clip's profiler does: 2 FLOP per multiply-add of every matmul; norms, softmax and
 * activations not counted). For ViT-B/32 this gives 8.8 GFLOP per image and 6.0 GFLOP per 77-token text.
 */
import type { ClipConfig } from '../weights/config';
import { DEFAULT_LAYER_NORM_EPS, mlpWidth } from '../weights/config';

/** OpenAI ViT-B/32: E 512, 224 px, patch 32, vision 768 wide / 12 layers / 12 heads, text 512 / 12 / 8. */
export const VIT_B32_CONFIG: Readonly<ClipConfig> = Object.freeze({
  embedDim: 512,
  imageResolution: 224,
  visionLayers: 12,
  visionWidth: 768,
  visionHeads: 12,
  visionPatchSize: 32,
  contextLength: 77,
  vocabSize: 49408,
  textWidth: 512,
  textHeads: 8,
  textLayers: 12,
  act: 'quick_gelu',
  layerNormEps: DEFAULT_LAYER_NORM_EPS,
});

/** The small geometry of the benchmark's quick mode (the reference `tiny` model's shape, full vocabulary). */
export const QUICK_CONFIG: Readonly<ClipConfig> = Object.freeze({
  ...VIT_B32_CONFIG,
  embedDim: 64, imageResolution: 64, visionLayers: 2, visionWidth: 128, visionHeads: 2, visionPatchSize: 16,
  textWidth: 128, textHeads: 2, textLayers: 2,
});

/** FLOP of the transformer blocks over T tokens of width W, MLP width H: q/k/v and out (4·W²), MLP (2·W·H) and attention. */
function blockFlops(T: number, W: number, H: number, layers: number): number {
  return layers * 2 * (4 * T * W * W + 2 * T * W * H + 2 * T * T * W);
}

/** FLOP to encode one image (patch embedding, blocks, projection of the pooled token). */
export function imageEncodeFlops(c: ClipConfig): number {
  const P = (c.imageResolution / c.visionPatchSize) ** 2;
  const patch = 2 * P * 3 * c.visionPatchSize ** 2 * c.visionWidth;
  return patch + blockFlops(P + 1, c.visionWidth, mlpWidth(c, 'vision'), c.visionLayers) + 2 * c.visionWidth * c.embedDim;
}

/** FLOP to encode one text of `tokens` tokens (default: the full context, as the encoder runs padded rows). */
export function textEncodeFlops(c: ClipConfig, tokens = c.contextLength): number {
  return blockFlops(tokens, c.textWidth, mlpWidth(c, 'text'), c.textLayers) + 2 * c.textWidth * c.embedDim;
}

/** Parameter count implied by a config (= the float32 weights' size / 4). */
export function paramCount(shapes: Iterable<number[]>): number {
  let n = 0;
  for (const s of shapes) n += s.reduce((a, b) => a * b, 1);
  return n;
}
