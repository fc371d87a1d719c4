/**
 * What the ABE scorer needs from a CLIP model: a view of `ClipModel` (src/clip/model.ts) picked from its own
 * types, so the contract is stated once, by the model, and the method depends on the encoders, the heads and
 * the hook mechanism only (never on a block's weights).
 */
import type { ClipModel } from '../clip/model';
import type { TextTransformer } from '../clip/text';
import type { VisionTransformer } from '../clip/vision';

export type AbeModel = Pick<ClipModel, 'config' | 'preprocess' | 'logitScale' | 'encodeImages' | 'encodeTexts'> & {
  /** `head`: ln_post then @proj on every token [n,T,W] → [n,T,E]; `runFrom`: the blocks from a hidden index, with hooks. */
  vision: Pick<VisionTransformer, 'layers' | 'head' | 'runFrom'>;
  text: Pick<TextTransformer, 'layers' | 'head'>;
};
