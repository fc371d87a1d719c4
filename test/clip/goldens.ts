/** Loading a reference model folder (weights + goldens) for the parity tests. */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { createClip, ClipModel, ModelOptions } from '../../src/clip/model';
import { canonicalize } from '../../src/weights/names';
import { readSafetensors } from '../../src/weights/safetensors';
import { TensorMap } from '../../src/weights/types';
import { expectClose } from '../helpers/close';

/** The project's parity rule: max abs error ≤ TOL · max(1, max|ref|). */
export const TOL = 1e-4;

export interface RefModel {
  model: ClipModel;
  golden: TensorMap;
  dir: string;
}

export function loadRef(dir: string, weightsFile: string, opts: ModelOptions = {}): RefModel {
  const { tensors } = readSafetensors(path.join(dir, weightsFile));
  const hfConfig = JSON.parse(fs.readFileSync(path.join(dir, 'hf_config.json'), 'utf8'));
  const { config, weights } = canonicalize(tensors, { source: weightsFile, hfConfig });
  return { model: createClip(config, weights, opts), golden: readSafetensors(path.join(dir, 'golden.safetensors')).tensors, dir };
}

export function goldenTensor(g: TensorMap, name: string): tf.Tensor {
  const t = g.get(name);
  if (!t) throw new Error(`golden '${name}' missing`);
  return tf.tensor(t.data, t.shape, t.dtype);
}

export function expectGolden(actual: tf.Tensor, g: TensorMap, name: string): number {
  const ref = g.get(name);
  if (!ref) throw new Error(`golden '${name}' missing`);
  if (actual.shape.join() !== ref.shape.join()) throw new Error(`${name}: shape [${actual.shape}] vs golden [${ref.shape}]`);
  return expectClose(actual.dataSync(), ref.data, TOL, name);
}

/** Run `fn` with a backend active, restoring the previous one afterwards (tests share one tfjs engine). */
export async function withBackend<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const { initBackend } = await import('../../src/backend');
  await tf.ready(); // getBackend() is null until some backend is initialised
  const prev = tf.getBackend();
  await initBackend({ backend: name });
  try {
    return await fn();
  } finally {
    await tf.setBackend(prev);
  }
}
