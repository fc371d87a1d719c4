/**
 * Short ViT-B/32-geometry encoder benchmark on one backend, for tools/gpu-check.sh: random weights (no download),
 * images at one batch and texts at one batch, one warm-up call (shader compilation, weight upload) and a few
 * timed calls. Each timed call reads the embeddings back, so asynchronous GPU backends are timed to completion.
 * Prints one JSON line.
 *
 *   npx ts-node --transpile-only tools/gpu-bench.ts --backend webgpu [--images 8] [--texts 32] [--repeats 3] [--quick]
 *   (--quick: the bench's tiny geometry instead of ViT-B/32, for software adapters)
 *   npx ts-node --transpile-only tools/gpu-bench.ts --probe     (webgpu adapter only, software adapters allowed)
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { prepareWebgpu } from '../src/backends/webgpu';
import { createClip } from '../src/clip/model';
import type { EncoderOutput } from '../src/clip/types';
import { benchImageEncoding, benchTextEncoding, BatchEncoder } from '../src/bench/encoders';
import { imageEncodeFlops, QUICK_CONFIG, textEncodeFlops, VIT_B32_CONFIG } from '../src/bench/geometry';
import { randomClipWeights } from '../src/bench/random-weights';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`--${name}: '${process.argv[i + 1]}' is not a positive integer`);
  return v;
}

async function main(): Promise<void> {
  if (process.argv.includes('--probe')) {
    try {
      console.log(JSON.stringify({ webgpu: await prepareWebgpu({ allowFallback: true }) }));
    } catch (e) {
      console.log(JSON.stringify({ webgpu: null, error: (e as Error).message }));
    }
    return;
  }
  const i = process.argv.indexOf('--backend');
  const backend = i < 0 ? undefined : process.argv[i + 1];
  const images = arg('images', 8),
    texts = arg('texts', 32),
    repeats = arg('repeats', 3);
  const info = await initBackend(backend ? { backend } : {});
  const quick = process.argv.includes('--quick');
  const c = { ...(quick ? QUICK_CONFIG : VIT_B32_CONFIG) };
  const t0 = Date.now();
  const model = createClip(c, randomClipWeights(c));
  const synced = (o: EncoderOutput) => o.embeds.data().then(() => o);
  const enc: BatchEncoder = {
    encodeImages: (px, o) => model.encodeImages(px, o).then(synced),
    encodeTexts: (ids, o) => model.encodeTexts(ids, o).then(synced),
  };
  const opts = { warmup: 1, repeats };
  try {
    const img = await benchImageEncoding(enc, c, images, imageEncodeFlops(c), opts);
    const txt = await benchTextEncoding(enc, c, texts, textEncodeFlops(c), opts);
    console.log(
      JSON.stringify({
        backend: info.name,
        device: info.device ?? null,
        geometry: quick ? 'tiny-random (quick)' : 'vit-b32-random',
        images: { batch: images, perSecond: +img.perSecond.toFixed(3), medianMs: +img.medianMs.toFixed(1), gflops: +img.gflops.toFixed(2) },
        texts: { batch: texts, perSecond: +txt.perSecond.toFixed(3), medianMs: +txt.medianMs.toFixed(1), gflops: +txt.gflops.toFixed(2) },
        repeats,
        totalSeconds: Math.round((Date.now() - t0) / 1000),
      }),
    );
  } finally {
    model.dispose();
    await tf.nextFrame();
  }
}

main().catch((e) => {
  console.log(JSON.stringify({ error: (e as Error).message.split('\n')[0] }));
  process.exit(1);
});
