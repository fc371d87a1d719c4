/**
 * The benchmark's outside peer: onnxruntime (npm `onnxruntime-node`, a dev dependency) running the same CLIP
 * function as our encoders (graphs from ./clip-graph). Optional: when the package is absent, `loadOrt`
 * says why and the bench reports the peer as not measured.
 */
import type { ClipConfig } from '../../weights/config';
import type { TensorMap } from '../../weights/types';
import { textGraph, visionGraph } from './clip-graph';

/* The slice of onnxruntime-node's API used here (typed locally: the package is optional). */
interface OrtTensor {
  data: Float32Array;
  dims: readonly number[];
  dispose?(): void;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  Tensor: new (type: string, data: Float32Array | Int32Array, dims: number[]) => OrtTensor;
  InferenceSession: { create(model: Uint8Array, opts: Record<string, unknown>): Promise<OrtSession> };
  env: { versions?: { common?: string } };
}

export interface OrtLoad {
  ort?: Ort;
  version?: string;
  error?: string;
}

export function loadOrt(): OrtLoad {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const ort = require('onnxruntime-node') as Ort;
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const version = (require('onnxruntime-node/package.json') as { version: string }).version;
    return { ort, version };
  } catch (e) {
    return {
      error: `onnxruntime-node not loadable (${(e as Error).message.split('\n')[0]}); install it with ONNXRUNTIME_NODE_INSTALL=skip npm install -D onnxruntime-node`,
    };
  }
}

/** One tower at one batch size, as an onnxruntime session with `threads` intra-op threads. */
export class OrtEncoder {
  private constructor(
    private readonly ort: Ort,
    private readonly session: OrtSession,
    private readonly input: string,
    private readonly dims: number[],
  ) {}

  static async create(
    ort: Ort,
    tower: 'image' | 'text',
    c: ClipConfig,
    weights: TensorMap,
    batch: number,
    threads: number,
  ): Promise<OrtEncoder> {
    const bytes = tower === 'image' ? visionGraph(c, weights, batch) : textGraph(c, weights, batch);
    const session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const dims = tower === 'image' ? [batch, 3, c.vision.resolution, c.vision.resolution] : [batch, c.text.contextLength];
    return new OrtEncoder(ort, session, tower === 'image' ? 'pixels' : 'ids', dims);
  }

  /** Run on host data (float32 pixels or int32 ids, the graph's fixed shape); returns the pooled embeds. */
  async run(data: Float32Array | Int32Array): Promise<Float32Array> {
    const input = new this.ort.Tensor(data instanceof Int32Array ? 'int32' : 'float32', data, this.dims);
    const out = await this.session.run({ [this.input]: input });
    const embeds = out.embeds.data;
    for (const t of Object.values(out)) t.dispose?.();
    input.dispose?.();
    return embeds;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
