/**
 * ABE-CLIP public surface. Stable API (the CLI and eval runner build on these):
 * - `AbeScorer` — `new AbeScorer(model, options | 'clip' | 'abe' | 'abe+regions', cache?)`;
 *   `imageFeatures(pixels)` → reusable `ImageFeatures[]`; `scoreMatrix(images | features, captions, opts?)` →
 *   `{n, m, clip, abe, parts?}` ([N·M] Float32Arrays); `scorePairs(images, captions, pairs, opts?)`.
 * - Named configurations `NAMED_CONFIGS` / `ConfigName`: `clip` (S_abe = S_clip), `abe` (the paper's
 *   patch-level reading with the best patch-level switches on the toy dev split), `abe+regions` (region
 *   re-encoding, our extension: token-subset regions, the phrase of every group on its region), `abe+regions-v1`
 *   (the first region configuration, kept for comparison).
 * - `DEFAULT_OPTIONS`, `resolveOptions` — every option, default and range.
 * The stage functions (`align`, `fuse`, `refine`, `findRegions`, …) are exported for research code.
 */
export { AbeScorer } from './scorer';
export type { CacheOptions, ScoreOptions, ScoreResult, ScoreParts, PairResult, GroupInfo } from './scorer';
export type { ImageFeatures, ImageRegions } from './features';
export type { CaptionInput, GroupSpec, PreparedCaption, ResolvedGroup } from './captions';
export { prepareCaptions } from './captions';
export { DEFAULT_OPTIONS, NAMED_CONFIGS, EXTRA_CONFIGS, resolveOptions, hiddenIndex, applyTemplate } from './options';
export type {
  AbeOptions,
  ConfigName,
  RefineMode,
  PatchFeatures,
  LocateMode,
  FuseMode,
  RegionFeatures,
  RegionAssign,
  RegionAssignBy,
  RegionTerm,
  RegionProposal,
} from './options';
export type { AbeModel } from './model';
export { align } from './align';
export type { AlignOutput } from './align';
export { fuse, fuseScores, membership } from './fuse';
export { refine, embedStrings, encodeTrimmed, contextualPhrases, isolatedPhrase } from './refine';
export { imagePass, attentionPathPatches, patchKey } from './patches';
export {
  findRegions,
  otsuThreshold,
  components,
  dilate,
  splitTwoMeans,
  maskImage,
  assignRegions,
  regionPairTerm,
  randomMasks,
  borderPatches,
  FIND_DEFAULTS,
} from './regions';
export type { FindOptions } from './regions';
export { scoreBlock, scorePairsOf } from './score';
export { TextFeatureBuilder } from './text-features';
export type { TextSide } from './text-features';
export { ImageFeatureExtractor } from './image-features';
