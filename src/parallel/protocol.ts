/** Messages between an EncoderPool and its workers. Arrays travel as typed arrays (shared or transferred). */
import type { ClipConfig } from '../weights/config';
import type { RawTensor } from '../weights/types';
import type { WeightLayout } from '../tensor/linear';

export interface WorkerInit {
  config: ClipConfig;
  /** Canonical weights; SharedArrayBuffer-backed data is shared, anything else is copied once per worker. */
  weights: [string, RawTensor][];
  /** Backend to force in the worker (ABE_BACKEND names); default the worker's own choice. */
  backend?: string;
  weightLayout: WeightLayout;
}

export type Job =
  | { kind: 'image'; id: number; pixels: Float32Array; rows: number; batchSize: number; tokens: boolean }
  | { kind: 'text'; id: number; ids: Int32Array; rows: number; L: number; batchSize: number; tokens: boolean };

export type Request = Job | { kind: 'close' };

export type Reply =
  | { kind: 'ready'; backend: string }
  | { kind: 'done'; id: number; embeds: Float32Array; tokens: Float32Array; ms: number }
  | { kind: 'failed'; id: number; error: SerializedError }
  | { kind: 'init-failed'; error: SerializedError }
  | { kind: 'closed' };

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  source?: string;
  problem?: string;
  stack?: string;
}

export function serializeError(e: unknown): SerializedError {
  const err = e as Partial<SerializedError> & Error;
  return {
    name: err?.name ?? 'Error',
    message: err?.message ?? String(e),
    code: err?.code,
    source: err?.source,
    problem: err?.problem,
    stack: err?.stack,
  };
}
