/**
 * Batch loading: paths/buffers → one [n,3,R,R] float32 tensor, in input order, with per-file errors
 * either thrown at once or collected. File reads overlap (bounded concurrency); decoding and resizing run
 * on the calling thread (worker threads were measured not to pay off here: see the issue 4 notes).
 */
import * as tf from '@tensorflow/tfjs';
import { AbeClipError, OptionsError } from '../errors';
import { decodeImage, DecodeOptions } from './decode';
import { checkPreprocessOptions, preprocess, PreprocessOptions } from './preprocess';

export interface LoadImagesOptions extends PreprocessOptions, DecodeOptions {
  /** 'throw' (default): the first bad file rejects the call. 'skip': bad files are left out and reported. */
  onError?: 'throw' | 'skip';
  /** Files read at once (default 8). */
  concurrency?: number;
}

export interface LoadError {
  index: number;
  source: string;
  error: AbeClipError;
}

export interface LoadedImages {
  /** [k,3,R,R] for the k images kept; the caller disposes it. */
  pixels: tf.Tensor4D;
  /** Input index of each row of `pixels`, ascending. */
  ok: number[];
  errors: LoadError[];
}

export type ImageInput = string | Uint8Array;

/** The label an input has in errors: its path, or `<buffer #i>`. */
export function sourceLabel(input: ImageInput, index: number): string {
  return typeof input === 'string' ? input : `<buffer #${index}>`;
}

export async function loadImages(inputs: readonly ImageInput[], options: LoadImagesOptions): Promise<LoadedImages> {
  const where = 'loadImages';
  if (!Array.isArray(inputs)) throw new OptionsError(where, 'inputs must be an array of paths or Buffers');
  const { resolution: R, mean, std } = checkPreprocessOptions(options, where, ['onError', 'concurrency', 'applyExif']);
  const onError = options.onError ?? 'throw';
  if (onError !== 'throw' && onError !== 'skip')
    throw new OptionsError(
      where,
      `onError must be 'throw' or 'skip', got ${typeof onError === 'string' ? JSON.stringify(onError) : String(onError)}`,
    );
  const concurrency = options.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new OptionsError(where, `concurrency must be a positive integer, got ${String(concurrency)}`);
  const applyExif = options.applyExif ?? false;

  const n = inputs.length;
  const per = 3 * R * R;
  const buf = new Float32Array(n * per);
  const good = new Uint8Array(n);
  const errors: LoadError[] = [];
  let next = 0;
  let failed: unknown = null;

  const worker = async () => {
    while (failed === null) {
      const i = next++;
      if (i >= n) return;
      const label = sourceLabel(inputs[i], i);
      try {
        const img = await decodeImage(inputs[i], { applyExif }, label);
        preprocess(img, { resolution: R, mean, std }, buf, i * per);
        good[i] = 1;
      } catch (e) {
        if (onError === 'skip' && e instanceof AbeClipError) errors.push({ index: i, source: label, error: e });
        else if (failed === null) failed = e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(n, 1)) }, worker));
  if (failed !== null) throw failed;

  errors.sort((a, b) => a.index - b.index);
  const ok: number[] = [];
  for (let i = 0; i < n; i++) if (good[i]) ok.push(i);
  let data = buf;
  if (ok.length !== n) {
    data = new Float32Array(ok.length * per);
    ok.forEach((i, j) => data.set(buf.subarray(i * per, (i + 1) * per), j * per));
  }
  return { pixels: tf.tensor4d(data, [ok.length, 3, R, R]), ok, errors };
}
