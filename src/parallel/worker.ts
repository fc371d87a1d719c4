/**
 * One EncoderPool worker: its own tfjs backend and its own copy of the model, encoding the rows it is sent.
 * Loaded by src/parallel/pool.ts (compiled JS, or through ts-node when the pool itself runs as TypeScript).
 */
import { parentPort, workerData } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { quietCpuBanner } from '../tensor/quiet';
import { createClip, disposeOutput, ClipModel } from '../clip/model';
import type { Job, Reply, Request, WorkerInit } from './protocol';
import { serializeError } from './protocol';
import { serveInOrder } from './serve';

// Each worker has its own tfjs instance, and with it the cpu backend's Node.js banner.
quietCpuBanner();
const port = parentPort!;
const post = (m: Reply, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

async function run(model: ClipModel, job: Job): Promise<Reply & { kind: 'done' }> {
  const t0 = performance.now();
  const c = model.config;
  let res;
  if (job.kind === 'image') {
    const px = tf.tensor4d(job.pixels, [job.rows, 3, c.vision.resolution, c.vision.resolution]);
    try {
      res = await model.encodeImages(px, { batchSize: job.batchSize, tokens: job.tokens });
    } finally {
      px.dispose();
    }
  } else {
    const ids = tf.tensor2d(job.ids, [job.rows, job.L], 'int32');
    try {
      res = await model.encodeTexts(ids, { batchSize: job.batchSize, tokens: job.tokens });
    } finally {
      ids.dispose();
    }
  }
  try {
    const embeds = (await res.embeds.data()) as Float32Array;
    const tokens = (await res.tokens.data()) as Float32Array;
    return { kind: 'done', id: job.id, embeds, tokens, ms: performance.now() - t0 };
  } finally {
    disposeOutput(res);
  }
}

/** Buffers that can move instead of being copied (distinct, plain ArrayBuffers; backends may share one). */
function transferable(...arrays: Float32Array[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const a of arrays) {
    if (a.buffer instanceof ArrayBuffer && !out.includes(a.buffer)) out.push(a.buffer);
  }
  return out;
}

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  let model: ClipModel;
  try {
    const info = await initBackend(init.backend ? { backend: init.backend } : {});
    model = createClip(init.config, new Map(init.weights), { weightLayout: init.weightLayout });
    post({ kind: 'ready', backend: info.name });
  } catch (e) {
    post({ kind: 'init-failed', error: serializeError(e) });
    return;
  }
  serveInOrder<Request>(
    port,
    () => model.dispose(),
    async (req) => {
      if (req.kind === 'close') return;
      const r = await run(model, req);
      post(r, transferable(r.embeds, r.tokens));
    },
  );
}

void main();
