/**
 * Our encoders against an outside peer, onnxruntime with 2 intra-op threads, on the same function (same
 * random weights, graphs from ./onnx/clip-graph), measured in one run: rounds alternate ours and the peer's
 * call, and the ratio is of the medians (with each round's own ratio for the spread). "Ours" is what a
 * user's command gets on every core: the in-process model on TensorFlow/WebGPU (their own threads), the
 * worker pool on wasm/cpu. onnxruntime-node is a dev dependency: without it the peer is reported as not measured.
 */
import * as tf from '@tensorflow/tfjs';
import { createClip } from '../clip/model';
import type { EncoderOutput } from '../clip/types';
import { DEFAULT_POOL_LAYOUT, EncoderPool } from '../parallel/pool';
import type { ClipConfig } from '../weights/config';
import { benchIds, benchPixels, BatchEncoder } from './encoders';
import { loadOrt, OrtEncoder } from './onnx/peer';
import { randomClipWeights } from './random-weights';
import { median } from './stats';

export const PEER_THREADS = 2;

export interface PeerTower {
  batch: number;
  oursPerSec: number;
  peerPerSec: number;
  /** oursPerSec / peerPerSec (medians of the interleaved rounds). */
  ratio: number;
  /** Lowest and highest ratio of a single round (ours and the peer's call next to each other). */
  roundRatioMin: number;
  roundRatioMax: number;
  rounds: number;
  /** Largest |ours − peer| over the pooled embeddings of the first call, and the largest |ours| (parity). */
  maxAbsDiff: number;
  maxAbs: number;
}

export interface PeerComparison {
  peer: string;
  peerVersion?: string;
  peerThreads: number;
  /** How ours ran: `model` (in-process, the backend's own threads) or `pool` (worker threads). */
  ours: 'model' | 'pool';
  oursThreads: number;
  image?: PeerTower;
  text?: PeerTower;
  /** Why the peer was not measured (package absent, or an error). */
  notMeasured?: string;
}

export interface PeerPlan {
  imageBatch: number;
  textBatch: number;
  rounds: number;
}

const close = async (x: BatchEncoder & { dispose?(): void; close?(): Promise<void> }): Promise<void> => {
  if (x.close) await x.close();
  else x.dispose?.();
};

async function tower(
  kind: 'image' | 'text',
  ours: BatchEncoder,
  peer: OrtEncoder,
  input: tf.Tensor,
  batch: number,
  rounds: number,
  progress: (m: string) => void,
): Promise<PeerTower> {
  const host = input.dataSync() as Float32Array | Int32Array;
  const encode = (): Promise<EncoderOutput> =>
    kind === 'image'
      ? ours.encodeImages(input as tf.Tensor4D, { batchSize: batch })
      : ours.encodeTexts(input as tf.Tensor2D, { batchSize: batch });
  const oursMs: number[] = [],
    peerMs: number[] = [];
  let maxAbsDiff = 0,
    maxAbs = 0;
  for (let r = 0; r <= rounds; r++) {
    // round 0 warms both up (and gives the parity figures)
    let t0 = performance.now();
    const o = await encode();
    const mine = await o.embeds.data();
    tf.dispose([o.embeds, o.tokens, ...(o.hidden ?? [])]);
    const dt = performance.now() - t0;
    t0 = performance.now();
    const theirs = await peer.run(host);
    const dp = performance.now() - t0;
    if (r === 0) {
      for (let i = 0; i < mine.length; i++) {
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs(mine[i] - theirs[i]));
        maxAbs = Math.max(maxAbs, Math.abs(mine[i]));
      }
    } else {
      oursMs.push(dt);
      peerMs.push(dp);
      progress(`  round ${r}: ours ${dt.toFixed(0)} ms, onnxruntime ${dp.toFixed(0)} ms, ratio ${(dp / dt).toFixed(2)}`);
    }
  }
  const per = (ms: number): number => (batch * 1000) / ms;
  const ratios = oursMs.map((m, i) => peerMs[i] / m);
  return {
    batch,
    oursPerSec: per(median(oursMs)),
    peerPerSec: per(median(peerMs)),
    ratio: median(peerMs) / median(oursMs),
    roundRatioMin: Math.min(...ratios),
    roundRatioMax: Math.max(...ratios),
    rounds,
    maxAbsDiff,
    maxAbs,
  };
}

/**
 * Compare on geometry `c` (random weights, seed 1). `threads`: worker count for the pool (wasm/cpu) and
 * the figure reported for TensorFlow's own threads.
 */
export async function comparePeer(
  c: ClipConfig,
  plan: PeerPlan,
  backend: { name: string; tfBackend: string },
  threads: number,
  progress: (m: string) => void,
): Promise<PeerComparison> {
  const usePool = (backend.tfBackend === 'wasm' || backend.tfBackend === 'cpu') && threads > 1;
  const base: PeerComparison = {
    peer: 'onnxruntime-node',
    peerThreads: PEER_THREADS,
    ours: usePool ? 'pool' : 'model',
    oursThreads: threads,
  };
  const { ort, version, error } = loadOrt();
  if (!ort) return { ...base, notMeasured: error };
  base.peerVersion = version;
  const out: PeerComparison = { ...base };
  try {
    for (const kind of ['image', 'text'] as const) {
      const batch = kind === 'image' ? plan.imageBatch : plan.textBatch;
      progress(`onnxruntime peer: ${kind}s, batch ${batch}, building both`);
      const w = randomClipWeights(c, { shared: usePool });
      const peer = await OrtEncoder.create(ort, kind, c, w, batch, PEER_THREADS);
      let ours: (BatchEncoder & { dispose?(): void; close?(): Promise<void> }) | undefined;
      const input = kind === 'image' ? benchPixels(batch, c.vision.resolution) : benchIds(batch, c);
      try {
        ours = usePool
          ? await EncoderPool.create(c, w, { workers: threads, backend: backend.name, weightLayout: DEFAULT_POOL_LAYOUT })
          : createClip(c, w);
        w.clear();
        progress(`onnxruntime peer: ${kind}s, batch ${batch}, ${plan.rounds} interleaved rounds`);
        out[kind] = await tower(kind, ours, peer, input, batch, plan.rounds, progress);
      } finally {
        input.dispose();
        if (ours) await close(ours);
        await peer.release();
      }
    }
  } catch (e) {
    out.notMeasured = `failed: ${(e as Error).message.split('\n')[0]}`;
  }
  return out;
}
