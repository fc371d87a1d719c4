/**
 * Model geometries the benchmark runs without any download, and the floating-point work of one forward pass
 * (counted as open_clip's profiler does: 2 FLOP per multiply-add of every matmul; norms, softmax and
 * activations not counted). For ViT-B/32 this gives 8.8 GFLOP per image and 6.0 GFLOP per 77-token text.
 */
import { ClipConfig, patchCount } from '../config/clip';
import { KNOWN_FAMILIES } from '../weights/family';

/** OpenAI ViT-B/32: E 512, 224 px, patch 32, vision 768 wide / 12 layers / 12 heads, text 512 / 12 / 8. */
export const VIT_B32_CONFIG: Readonly<ClipConfig> = KNOWN_FAMILIES['ViT-B/32'];

/** The small geometry of the benchmark's quick mode (the reference `tiny` model's shape, full vocabulary). */
export const QUICK_CONFIG: Readonly<ClipConfig> = Object.freeze({
  embedDim: 64,
  vision: { ...VIT_B32_CONFIG.vision, resolution: 64, layers: 2, width: 128, heads: 2, mlpWidth: 512, patchSize: 16 },
  text: { ...VIT_B32_CONFIG.text, width: 128, heads: 2, mlpWidth: 512, layers: 2 },
});

/** FLOP of the transformer blocks over T tokens of width W, MLP width H: q/k/v and out (4·W²), MLP (2·W·H) and attention. */
function blockFlops(T: number, W: number, H: number, layers: number): number {
  return layers * 2 * (4 * T * W * W + 2 * T * W * H + 2 * T * T * W);
}

/** FLOP to encode one image (patch embedding, blocks, projection of the pooled token). */
export function imageEncodeFlops(c: ClipConfig): number {
  const v = c.vision,
    P = patchCount(v);
  const patch = 2 * P * 3 * v.patchSize ** 2 * v.width;
  return patch + blockFlops(P + 1, v.width, v.mlpWidth, v.layers) + 2 * v.width * c.embedDim;
}

/** FLOP to encode one text of `tokens` tokens (default: the full context, as the encoder runs padded rows). */
export function textEncodeFlops(c: ClipConfig, tokens = c.text.contextLength): number {
  const t = c.text;
  return blockFlops(tokens, t.width, t.mlpWidth, t.layers) + 2 * t.width * c.embedDim;
}

/** Parameter count implied by a config (= the float32 weights' size / 4). */
export function paramCount(shapes: Iterable<number[]>): number {
  let n = 0;
  for (const s of shapes) n += s.reduce((a, b) => a * b, 1);
  return n;
}
