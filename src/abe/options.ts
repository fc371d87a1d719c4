/**
 * Every option of the ABE-CLIP scorer, its default and its valid range — the one place these facts live
 * (METHOD.md names them; tests, the CLI and reports import them from here).
 *
 * The defaults of the method's free choices were chosen on the toy-shapes DEVELOPMENT split only
 * (tools/abe-toy.ts, table in METHOD.md "Our results on the development split"); never on an evaluation split.
 */
import { OptionsError } from '../errors';

export type RefineMode = 'isolated' | 'contextual' | 'none';
export type PatchFeatures = 'tokens' | 'value' | 'selfself';
export type LocateMode = 'object' | 'phrase';
/** `none` switches the patch-level term off (S_abe = S_clip + the region term, if any). */
export type FuseMode = 'binding-difference' | 'additive' | 'convex' | 'none';
/**
 * How a region is re-encoded: `crop` = the whole image with everything outside the region painted over (one
 * full image pass per region); `tokens` = the ViT on the region's patch tokens only (+ CLS, with their position
 * embeddings): a pass over |region|+1 tokens instead of 1+P.
 */
export type RegionFeatures = 'none' | 'crop' | 'tokens';
export type RegionAssign = 'joint' | 'indep';
/**
 * What the region term adds per group: `phrase` = p_k·r (the first reading: rewards any caption that has groups,
 * and is added only to captions with an attribute group); `centered` = p_k·r_σ(k) − max_r o_k·r (the phrase on its
 * assigned region against the attribute-free object phrase on the object's best region: a binding difference at the
 * region level), 0 for a group without attributes, averaged over ALL the caption's groups; `centered-same` = the same
 * with o_k on the assigned region (p_k·r − o_k·r). Ablations of what the
 * gain is due to: `object` = o_k·r (region isolation with the object alone, no attribute), `caption` = g_T·r (each
 * region scored with the whole caption), both as `phrase` otherwise.
 */
export type RegionTerm = 'phrase' | 'phrase-all' | 'centered' | 'centered-same' | 'object' | 'caption';
/** Where regions come from: `found` (regions.ts, from the image alone) or `random` (ablation: random patch sets of the same sizes). */
export type RegionProposal = 'found' | 'random';
/** Which similarity the group→region assignment maximises: the phrase p_k·r or the object o_k·r. */
export type RegionAssignBy = 'phrase' | 'object' | 'both';
/** Background reference of region finding (regions.ts FindOptions): the median patch, or the median border patch. */
export type RegionBackground = 'median' | 'border';
/** Splitting of components (regions.ts FindOptions): only a single component (`one`), or any while the halves differ like objects (`all`). */
export type RegionSplit = 'one' | 'all';
export type RegionRing = 'square' | 'cross';

export interface AbeOptions {
  // Semantic Refinement (METHOD.md §2)
  refine: RefineMode;
  /** Leakage-removal strength of `contextual` (ignored by the other modes; `none` means γ = 0). */
  gamma: number;
  /** Text hidden-state index edited by `contextual`/`none`; negative counts from the end (−1 = final state). */
  refineLayer: number;
  /** Phrase template; `{}` is replaced by "attr… object". */
  template: string;
  // Local Token-Patch Alignment (§3)
  patchFeatures: PatchFeatures;
  /** Vision hidden-state index for `tokens` (0 = after ln_pre); negative counts from the end (−1 = last). */
  patchLayer: number;
  locate: LocateMode;
  topK: number;
  // Fusion (§4)
  fuse: FuseMode;
  lambda: number;
  // Region re-encoding (METHOD.md "Extension")
  regionFeatures: RegionFeatures;
  /** Feature source for finding regions (distance to the median patch feature). */
  regionSource: PatchFeatures;
  /** Upper bound on the regions per image: the count is what the finder yields (components, splits), at most this. */
  maxRegions: number;
  regionBackground: RegionBackground;
  /** Components smaller than this fraction of the image's patches are dropped (unless none would be left). */
  regionMinSize: number;
  regionSplit: RegionSplit;
  /** Dilation of each region, in patches (8-neighbourhood). */
  regionDilation: number;
  /** Dilation neighbourhood: `square` (8 neighbours) or `cross` (4 edge neighbours, fewer tokens per region pass). */
  regionRing: RegionRing;
  /**
   * `tokens` regions only: where in the image tower a region pass starts, as a fraction of its depth. 0 = from the
   * patch embeddings (the region's tokens never meet the rest of the image); f > 0 = the region's tokens are taken
   * from the full-image pass at hidden state round(f · layers) and only the later blocks run on the subset, which
   * saves that fraction of the region passes' cost but lets the first blocks mix in the rest of the image.
   */
  regionStart: number;
  regionAssign: RegionAssign;
  regionAssignBy: RegionAssignBy;
  regionTerm: RegionTerm;
  regionProposal: RegionProposal;
  /** λ of the region term: S_abe += regionLambda · s · mean_k p_k·r_σ(k). */
  regionLambda: number;
  /** Joint assignment enumerates all maps while maxRegions^K ≤ this; greedy beyond. */
  regionMaxMaps: number;
  // Batching
  /** Images per image-encoder forward chunk. */
  imageBatchSize: number;
  /**
   * Texts per text-encoder forward chunk. 32 × 77 tokens already fill the matmuls; larger chunks only raise the
   * peak memory (on wasm the heap keeps its high-water mark for the life of the process).
   */
  textBatchSize: number;
  /** Images per scoring chunk, at most (fewer when the [U, n·P] similarity tensor would pass 16 MiB). */
  scoreChunk: number;
}

/**
 * Chosen on the toy-shapes development split (tools/abe-toy.ts; 1320 patch-level and 448 region
 * configurations; rule: highest mean accuracy over the 6 kind × split cells among configurations within
 * 1 point of CLIP on every cell). The patch-level choice does NOT survive the split-half check (see README).
 */
export const DEFAULT_OPTIONS: Readonly<AbeOptions> = Object.freeze({
  refine: 'contextual',
  gamma: 0.5,
  refineLayer: -2,
  template: 'a photo of a {}',
  patchFeatures: 'tokens',
  patchLayer: -1,
  locate: 'phrase',
  topK: 1,
  fuse: 'binding-difference',
  lambda: 0.25,
  regionFeatures: 'none',
  regionSource: 'value',
  maxRegions: 2,
  regionBackground: 'median',
  regionMinSize: 0,
  regionSplit: 'one',
  regionDilation: 1,
  regionRing: 'square',
  regionStart: 0,
  regionAssign: 'joint',
  regionAssignBy: 'phrase',
  regionTerm: 'phrase',
  regionProposal: 'found',
  regionLambda: 3.0,
  regionMaxMaps: 4096,
  imageBatchSize: 32,
  textBatchSize: 32,
  scoreChunk: 64,
} as AbeOptions);

/**
 * Named configurations (reports name their columns after these):
 * - `clip`: the plain CLIP score (S_abe = S_clip).
 * - `abe`: the paper's patch-level reading with the best patch-level switches on the toy dev split.
 * - `abe+regions`: region re-encoding (our extension): regions found on the image pass's final tokens against the
 *   median-patch background (at most 4), each region's patch tokens (+ CLS) through the ViT, groups jointly assigned to
 *   distinct regions by phrase + object similarity (a phrase does not take the region of another object that merely
 *   has its colour), and the region term `phrase-all`: p_k·r for EVERY group (a group without attributes scores its
 *   object phrase, the attribute-free baseline), averaged over the caption's groups and added to every caption — so "a
 *   red star" competes with "a star" on the same footing. No patch term. Chosen (third round) on a toy-world
 *   development folder (seed 502) among the token-subset `phrase-all` configurations whose regions are found on the
 *   final tokens (the cost target); tools/abe-toy.ts and METHOD.md give the selection, the nested out-of-sample
 *   estimates and the held-out checks (seeds 20261209–20261211).
 * - `abe+regions-r2` (EXTRA_CONFIGS): the second round's choice (border background, at most 2 regions, λ_r 3,
 *   regions found on the value path); kept for comparison.
 * - `abe+regions-v1`: the first region configuration (masked full-image crops, uncentred phrase term added only to
 *   captions with attributes, plus the patch term at λ 0.5): rewards captions for having attributes; kept for comparison.
 */
export const NAMED_CONFIGS: Readonly<Record<string, Readonly<Partial<AbeOptions>>>> = Object.freeze({
  clip: Object.freeze({ fuse: 'none', regionFeatures: 'none' } as Partial<AbeOptions>),
  abe: Object.freeze({} as Partial<AbeOptions>),
  // Third-round choice (METHOD.md): regions found on the final tokens (no value-path block: within the cost target).
  'abe+regions': Object.freeze({
    fuse: 'none',
    regionFeatures: 'tokens',
    regionSource: 'tokens',
    regionTerm: 'phrase-all',
    regionAssignBy: 'both',
    maxRegions: 4,
    regionDilation: 1,
    regionLambda: 2,
  } as Partial<AbeOptions>),
});

/**
 * Configurations kept for comparison, resolvable by name (`resolveOptions('abe+regions-v1')`, `new AbeScorer(model,
 * 'abe+regions-v1')`) but not among the columns every report compares by default.
 */
export const EXTRA_CONFIGS: Readonly<Record<string, Readonly<Partial<AbeOptions>>>> = Object.freeze({
  'abe+regions-v1': Object.freeze({ regionFeatures: 'crop', lambda: 0.5 } as Partial<AbeOptions>),
  // The second round's `abe+regions` (value-path region finding: 1.99–2.06× CLIP per fresh pair).
  'abe+regions-r2': Object.freeze({
    fuse: 'none',
    regionFeatures: 'tokens',
    regionTerm: 'phrase-all',
    regionAssignBy: 'both',
    regionBackground: 'border',
    maxRegions: 2,
    regionDilation: 1,
    regionLambda: 3,
  } as Partial<AbeOptions>),
});

export type ConfigName = keyof typeof NAMED_CONFIGS | keyof typeof EXTRA_CONFIGS;

const ENUMS: Partial<Record<keyof AbeOptions, readonly string[]>> = {
  refine: ['isolated', 'contextual', 'none'],
  patchFeatures: ['tokens', 'value', 'selfself'],
  locate: ['object', 'phrase'],
  fuse: ['binding-difference', 'additive', 'convex', 'none'],
  regionFeatures: ['none', 'crop', 'tokens'],
  regionSource: ['tokens', 'value', 'selfself'],
  regionAssign: ['joint', 'indep'],
  regionAssignBy: ['phrase', 'object', 'both'],
  regionBackground: ['median', 'border'],
  regionSplit: ['one', 'all'],
  regionRing: ['square', 'cross'],
  regionTerm: ['phrase', 'phrase-all', 'centered', 'centered-same', 'object', 'caption'],
  regionProposal: ['found', 'random'],
};

/** [min, max, integer?] */
const RANGES: Partial<Record<keyof AbeOptions, [number, number, boolean]>> = {
  gamma: [0, 10, false],
  refineLayer: [-1000, 1000, true],
  patchLayer: [-1000, 1000, true],
  topK: [1, 100_000, true],
  lambda: [-100, 100, false],
  maxRegions: [1, 16, true],
  regionMinSize: [0, 1, false],
  regionDilation: [0, 16, true],
  regionStart: [0, 0.99, false],
  regionLambda: [-100, 100, false],
  regionMaxMaps: [1, 1_000_000, true],
  imageBatchSize: [1, 1_000_000, true],
  textBatchSize: [1, 1_000_000, true],
  scoreChunk: [1, 1_000_000, true],
};

/**
 * Defaults ← named configuration ← overrides, validated. `base` may be a config name or a full options object.
 * Unknown keys, wrong types and out-of-range values throw OptionsError naming the key.
 */
export function resolveOptions(
  overrides: Partial<AbeOptions> | ConfigName | undefined = undefined,
  base: Readonly<AbeOptions> = DEFAULT_OPTIONS,
  label = 'options',
): AbeOptions {
  if (typeof overrides === 'string') {
    const named = NAMED_CONFIGS[overrides] ?? EXTRA_CONFIGS[overrides];
    if (!named)
      throw new OptionsError(
        label,
        `unknown configuration '${overrides}' (known: ${[...Object.keys(NAMED_CONFIGS), ...Object.keys(EXTRA_CONFIGS)].join(', ')})`,
      );
    return validate({ ...DEFAULT_OPTIONS, ...named }, label);
  }
  if (overrides === undefined || overrides === null) return validate({ ...base }, label);
  if (typeof overrides !== 'object' || Array.isArray(overrides))
    throw new OptionsError(label, 'options must be an object or a configuration name');
  for (const k of Object.keys(overrides)) {
    if (!(k in DEFAULT_OPTIONS)) throw new OptionsError(label, `unknown option '${k}' (known: ${Object.keys(DEFAULT_OPTIONS).join(', ')})`);
  }
  const merged: AbeOptions = { ...base };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  return validate(merged, label);
}

function validate(o: AbeOptions, label: string): AbeOptions {
  for (const [key, def] of Object.entries(DEFAULT_OPTIONS) as [keyof AbeOptions, unknown][]) {
    const v = o[key] as unknown;
    const allowed = ENUMS[key];
    if (allowed) {
      if (typeof v !== 'string' || !allowed.includes(v))
        throw new OptionsError(
          label,
          `${key} must be one of ${allowed.join('|')}, got ${typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)}`,
        );
      continue;
    }
    const range = RANGES[key];
    if (range) {
      const [lo, hi, int] = range;
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new OptionsError(label, `${key} must be a finite number, got ${typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)}`);
      if (int && !Number.isInteger(v)) throw new OptionsError(label, `${key} must be an integer, got ${v}`);
      if (v < lo || v > hi) throw new OptionsError(label, `${key} must be in [${lo}, ${hi}], got ${v}`);
      continue;
    }
    if (typeof def === 'string' && typeof v !== 'string') throw new OptionsError(label, `${key} must be a string`);
  }
  const parts = o.template.split('{}');
  if (parts.length !== 2) throw new OptionsError(label, `template must contain '{}' exactly once, got ${JSON.stringify(o.template)}`);
  if (o.fuse === 'convex' && (o.lambda < 0 || o.lambda > 1))
    throw new OptionsError(label, `lambda must be in [0, 1] for convex fusion, got ${o.lambda}`);
  return o;
}

/** Resolve a possibly negative hidden-state index against `layers` blocks (states 0..layers). */
export function hiddenIndex(index: number, layers: number, key: string): number {
  const i = index < 0 ? layers + 1 + index : index;
  if (i < 0 || i > layers)
    throw new OptionsError('options', `${key} ${index} is outside the hidden states 0..${layers} (or −1..−${layers + 1})`);
  return i;
}

/** Hidden index where `tokens` region passes start: regionStart (a fraction of the depth) · layers, rounded. */
export function regionStartIndex(o: AbeOptions, layers: number): number {
  return o.regionFeatures === 'tokens' ? Math.min(layers - 1, Math.round(o.regionStart * layers)) : 0;
}

export function applyTemplate(template: string, phrase: string): string {
  return template.replace('{}', phrase);
}
