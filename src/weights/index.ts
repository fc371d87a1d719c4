/** `abe-clip/weights`: checkpoint readers, the name map to canonical (OpenAI) names, our converted format. */
export { parseConfigJson, inferConfigFromShapes } from './config';
export type { ClipConfig, PartialClipConfig } from './config';
export type { RawTensor, TensorMap } from './types';
export { SafetensorsFile, readSafetensors } from './safetensors';
export { canonicalize, canonicalShapes, TEXT_BLOCK_PREFIX, VISION_BLOCK_PREFIX } from './names';
export type { CanonicalizeOptions, CheckpointLayout } from './names';
export { openCheckpoint, readCheckpoint } from './checkpoint';
export type { Checkpoint } from './checkpoint';
export {
  fromFileConfig, isConvertedFolder, MANIFEST_FILE, openConverted, readConverted, readManifest, toFileConfig, writeConverted,
} from './converted';
export type { ConvertedManifest, FileConfig, Normalisation, OpenConverted, StorageDtype } from './converted';
export { familyOf, KNOWN_FAMILIES } from './family';
