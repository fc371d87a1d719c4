/**
 * abe-clip public API. One import for a researcher's script:
 *   import { initBackend, loadClip, loadImages, AbeScorer } from 'abe-clip';
 * Deeper modules (`abe-clip/dist/src/<area>/…`) stay importable for research code.
 */
export * from './errors';
export { DEFAULT_LIMITS, getLimits, setLimits } from './limits';
export type { Limits } from './limits';
export { initBackend, backendInfo, BACKEND_NAMES } from './backend';
export type { BackendInfo, BackendAttempt } from './backend';

// Weights: readers, name maps, our converted format.
export type { RawTensor, TensorMap } from './weights/types';
export { SafetensorsFile, readSafetensors } from './weights/safetensors';
export { canonicalize } from './weights/names';
export { openCheckpoint, readCheckpoint } from './weights/checkpoint';
export { readConverted, writeConverted, readManifest, isConvertedFolder, MANIFEST_FILE } from './weights/converted';
export type { ConvertedManifest } from './weights/converted';
export { familyOf, KNOWN_FAMILIES } from './weights/family';

// Text and images.
export * from './text';
export * from './image';

// The CLIP model.
export * from './clip';
export { loadClip, loadWeights, openWeights, modelFromWeights, resolveModelPath, BUNDLED_MODELS } from './clip/load';
export type { LoadClipOptions } from './clip/load';
export { convertCheckpoint } from './clip/convert';
export type { ConvertOptions, ConvertReport } from './clip/convert';

// ABE-CLIP.
export * from './abe';

// Evaluation and benchmarks.
export { loadDataset, DATASET_KINDS } from './eval/datasets';
export type { DatasetKind } from './eval/datasets';
export { runPairs } from './eval/runner';
export { summarise } from './eval/report';
export { writeReport } from './eval/write';
export { ModelScorer } from './eval/scoring';
export { accuracy, mcnemarExact, splitHalf, recallAtK } from './eval/metrics';
export { runBench, formatBenchTable } from './bench';
export type { BenchReport } from './bench';
export { EncoderPool, DEFAULT_POOL_LAYOUT } from './parallel/pool';
export type { EncoderPoolOptions, PoolEncodeOptions } from './parallel/pool';
export { defaultWeightLayout, WEIGHT_LAYOUTS } from './tensor/linear';
export type { WeightLayout } from './tensor/linear';
