/** Encoder throughput: images/s and texts/s at a given batch, for a ClipModel (one thread) or an EncoderPool. */
import * as tf from '@tensorflow/tfjs';
import type { EncoderOutput } from '../clip/types';
import type { ClipConfig } from '../weights/config';
import { measure, MeasureOptions, Timing } from './stats';

/** What both ClipModel and EncoderPool offer. */
export interface BatchEncoder {
  encodeImages(pixels: tf.Tensor4D, opts?: { batchSize?: number }): Promise<EncoderOutput>;
  encodeTexts(ids: tf.Tensor2D, opts?: { batchSize?: number }): Promise<EncoderOutput>;
}

export interface EncodeResult extends Timing {
  batch: number;
  /** Rows per second (wall clock, median). */
  perSecond: number;
  /** Achieved GFLOP/s (wall clock). */
  gflops: number;
  /** Achieved GFLOP/s from CPU time (one thread: what the core did when it ran, whatever else shared it). */
  cpuGflops: number;
}

function finish(t: Timing, batch: number, flopsPerRow: number): EncodeResult {
  return {
    ...t,
    batch,
    perSecond: (batch * 1000) / t.medianMs,
    gflops: (batch * flopsPerRow) / (t.medianMs * 1e6),
    cpuGflops: (batch * flopsPerRow) / (t.cpuMedianMs * 1e6),
  };
}

/** Deterministic normalised-looking pixels [n,3,R,R]. */
export function benchPixels(n: number, R: number): tf.Tensor4D {
  return tf.randomUniform([n, 3, R, R], -1.8, 2.1, 'float32', 7) as tf.Tensor4D;
}

/** Full-context token rows [m,L]: SOT, words, EOT (largest id), zero padding after it, as the tokenizer makes. */
export function benchIds(m: number, c: ClipConfig): tf.Tensor2D {
  const L = c.text.contextLength,
    V = c.text.vocabSize;
  const data = new Int32Array(m * L);
  for (let r = 0; r < m; r++) {
    const len = Math.min(L, 8 + (r % 12));
    data[r * L] = V - 2;
    for (let j = 1; j < len - 1; j++) data[r * L + j] = 1 + ((r * 131 + j * 17) % (V - 3));
    data[r * L + len - 1] = V - 1;
  }
  return tf.tensor2d(data, [m, L], 'int32');
}

/** Time `encode` on one prepared input (disposed after), outputs freed each call. */
async function benchEncoding(
  input: tf.Tensor,
  encode: () => Promise<EncoderOutput>,
  batch: number,
  flopsPerRow: number,
  opts: MeasureOptions,
): Promise<EncodeResult> {
  try {
    const t = await measure(async () => {
      const o = await encode();
      tf.dispose([o.embeds, o.tokens, ...(o.hidden ?? [])]);
    }, opts);
    return finish(t, batch, flopsPerRow);
  } finally {
    input.dispose();
  }
}

export function benchImageEncoding(
  enc: BatchEncoder,
  c: ClipConfig,
  batch: number,
  flopsPerImage: number,
  opts: MeasureOptions,
): Promise<EncodeResult> {
  const px = benchPixels(batch, c.vision.resolution);
  return benchEncoding(px, () => enc.encodeImages(px, { batchSize: batch }), batch, flopsPerImage, opts);
}

export function benchTextEncoding(
  enc: BatchEncoder,
  c: ClipConfig,
  batch: number,
  flopsPerText: number,
  opts: MeasureOptions,
): Promise<EncodeResult> {
  const ids = benchIds(batch, c);
  return benchEncoding(ids, () => enc.encodeTexts(ids, { batchSize: batch }), batch, flopsPerText, opts);
}
