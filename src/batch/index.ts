/** Batch embedding and scoring at scale: shards, manifests, merge, queue (see README "Batch scoring"). */
export { npyBytes, parseNpy, toHalf, fromHalf } from './npy';
export type { NpyDtype, NpyArray } from './npy';
export { encodeFeatures, decodeFeatures, FEATURES_FILE_VERSION } from './features-file';
export { listImages, readTexts } from './inputs';
export { planPairs, readPairsShard, csvFields } from './pairs';
export { parseShardSpec, shardsOf } from './shards';
export { readManifest, modelIdentity, BATCH_FORMAT_VERSION } from './manifest';
export type { Manifest } from './manifest';
export { runShards, runShard, prepareJob, isShardDone, shardPath } from './job';
export type { BatchJob, RunSummary } from './job';
export { mergeOutputs } from './merge';
export type { MergeSummary } from './merge';
export { openJob, ModelPool } from './run';
export type { JobSpec, EmbedImagesSpec, EmbedTextsSpec, ScoreSpec } from './spec';
