/**
 * abe-clip: the few names a researcher's script needs (≤ 40, checked by test/index.test.ts).
 *   import { initBackend, loadClip, loadImages, tokenize, AbeScorer } from 'abe-clip';
 * Everything else has a subpath of its own (package.json `exports`): `abe-clip/clip` (layers, hook points,
 * converter), `abe-clip/weights`, `abe-clip/text`, `abe-clip/image`, `abe-clip/abe`, `abe-clip/eval`,
 * `abe-clip/bench`, `abe-clip/parallel`, `abe-clip/config`, `abe-clip/errors`, `abe-clip/backend`, `abe-clip/limits`.
 */
export { initBackend, backendInfo } from './backend';
export { setLimits } from './limits';
export type { Limits } from './limits';

// The CLIP model: load, encode (with hooks and caches), logits.
export { loadClip, BUNDLED_MODELS } from './clip/load';
export type { LoadClipOptions } from './clip/load';
export { ClipModel, createClip, disposeOutput } from './clip/model';
export type { LogitsOutput } from './clip/model';
export type { ClipConfig, PreprocessConfig, TextConfig, TowerConfig, VisionConfig } from './config/clip';
export type { EncodeOptions, EncoderOutput, HookFn, HookPointInfo, Hooks, TextEncodeOptions } from './clip/types';
export { hookPointNames } from './clip/hooks';
export { convertCheckpoint } from './clip/convert';

// Inputs.
export { tokenize } from './text/tokenize';
export { loadImages } from './image/loader';

// ABE-CLIP scoring and evaluation.
export { AbeScorer } from './abe/scorer';
export type { AbeOptions } from './abe/options';
export { loadDataset } from './eval/datasets';
export { runPairs } from './eval/runner';
export { summarise } from './eval/report';

// Errors: every failure is one of these (typed, naming the input and the problem).
export { AbeClipError, ImageDecodeError, InputError, isTypedError, OptionsError, TokenizerError, WeightsFormatError } from './errors';
