/**
 * The reference tiny model from its vendored slice (test/fixtures/tiny-abe, made by make.ts there): every weight
 * as PyTorch's, the token embedding only at the ids the ABE goldens' inputs use. The other rows are NaN, so a
 * pass that reads one gives NaN and fails its comparison instead of passing on a model that is not tiny.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { createClip, ClipModel } from '../../src/clip/model';
import { canonicalize } from '../../src/weights/names';
import { readSafetensors } from '../../src/weights/safetensors';
import { fixturePath } from '../helpers/paths';

export const TINY_VOCAB = 49408;

export function tinySliceModel(): ClipModel {
  const { tensors, metadata } = readSafetensors(fixturePath('tiny-abe', 'weights.safetensors'));
  const rows = tensors.get('token_embedding.rows')!.data;
  const values = tensors.get('token_embedding.values')!;
  const W = values.shape[1];
  const emb = new Float32Array(TINY_VOCAB * W).fill(NaN);
  for (let r = 0; r < rows.length; r++) emb.set((values.data as Float32Array).subarray(r * W, (r + 1) * W), rows[r] * W);
  tensors.delete('token_embedding.rows');
  tensors.delete('token_embedding.values');
  tensors.set('token_embedding.weight', { dtype: 'float32', shape: [TINY_VOCAB, W], data: emb });
  const { config, weights } = canonicalize(tensors, { source: 'tiny slice', hfConfig: JSON.parse(metadata.config) });
  return createClip(config, weights);
}

/** tiny's 8 reference images as PyTorch preprocessed them ([8,3,64,64], test/fixtures/images). */
export function tinyPixels(): tf.Tensor4D {
  const buf = fs.readFileSync(fixturePath('images', 'golden-tiny-pixel_values.f32'));
  return tf.tensor4d(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice(), [8, 3, 64, 64]);
}
