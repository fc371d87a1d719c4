/**
 * The CLIP model: both towers, logits, batching in chunks, and input validation. Built from canonical
 * (OpenAI-named) weights; use src/weights/names.ts `canonicalize` for other layouts.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError, OptionsError, WeightsFormatError } from '../errors';
import { defaultWeightLayout, WEIGHT_LAYOUTS, WeightLayout } from '../tensor/linear';
import { getLimits } from '../limits';
import { ClipConfig, configProblems, PreprocessConfig, TowerConfig, Triple } from '../config/clip';
import { CLIP_MEAN, CLIP_STD } from '../image/constants';
import { canonicalShapes } from '../weights/names';
import { TensorMap } from '../weights/types';
import { HookRunner, hiddenPointName, hookPointNames, matchPoints } from './hooks';
import { checkIds, checkOptions, checkPixels, CheckedOptions } from './inputs';
import { WeightStore } from './layers';
import { eotPositions, TextTransformer } from './text';
import { tokenizeForModel } from './tokenize';
import type { EncodeOptions, EncoderName, EncoderOutput, TextEncodeOptions } from './types';
import type { BlockResidency } from './transformer';
import { VisionTransformer } from './vision';

export interface LogitsOutput {
  /** exp(logit_scale) · normalised image embeds @ normalised text embeds ᵀ: [n, m]. */
  logitsPerImage: tf.Tensor2D;
  /** Its transpose: [m, n] (HF `logits_per_text`). */
  logitsPerText: tf.Tensor2D;
}

/** Shape of a hook point's activation for n rows of T tokens (src/clip/hooks.ts); E = embedDim. */
function pointShape(name: string, n: number, T: number, t: TowerConfig, E: number): number[] {
  const p = name.replace(/^blocks\.\d+\./, '');
  const D = t.width / t.heads;
  if (p === 'attn.scores' || p === 'attn.probs') return [n, t.heads, T, T];
  if (p.startsWith('attn.') && p !== 'attn.out') return [n, t.heads, T, D];
  if (p === 'mlp.hidden') return [n, T, t.mlpWidth];
  if (p === 'proj') return [n, T, E];
  return [n, T, t.width];
}

/** Rows per chunk: the caller's batch size, lowered so one chunk's float32 activations stay under maxBatchBytes. */
function rowsPerChunk(batchSize: number, T: number, t: TowerConfig, E: number, captured: readonly string[]): number {
  // Live per row at the widest point: residual + LN + qkv (≈ 4·T·W), two MLP-wide tensors (2·T·mlp) and the scores
  // (2·H·T²); plus the captured activations.
  const W = t.width;
  const kept = captured.reduce((s, name) => s + pointShape(name, 1, T, t, E).reduce((a, b) => a * b, 1), 0);
  const perRow = 4 * (4 * T * W + 2 * T * t.mlpWidth + 2 * t.heads * T * T + kept);
  return Math.max(1, Math.min(batchSize, Math.floor(getLimits().maxBatchBytes / perRow)));
}

/** The pooled head outputs of one chunk. */
type ChunkOutput = { embeds: tf.Tensor2D; tokens: tf.Tensor3D };

async function inChunks(n: number, chunk: number, run: (start: number, size: number) => ChunkOutput): Promise<ChunkOutput | null> {
  if (n === 0) return null;
  const parts: ChunkOutput[] = [];
  try {
    for (let s = 0; s < n; s += chunk) {
      if (s > 0) await tf.nextFrame(); // let the event loop breathe between chunks
      parts.push(run(s, Math.min(chunk, n - s)));
    }
  } catch (e) {
    for (const p of parts) tf.dispose([p.embeds, p.tokens]);
    throw e;
  }
  if (parts.length === 1) return parts[0];
  const out = {
    embeds: tf.concat(
      parts.map((p) => p.embeds),
      0,
    ),
    tokens: tf.concat(
      parts.map((p) => p.tokens),
      0,
    ),
  };
  for (const p of parts) tf.dispose([p.embeds, p.tokens]);
  return out;
}

/**
 * The head on the pooled rows, or on every token when `everyToken` (default: when the tokens are asked for;
 * also when a head hook point must see every token): `pool` picks each row's pooled token [n,1,·] from any
 * [n,T,·] tensor. Pooling before or after the head gives the same rows (the head is per token). `tokens` is
 * the head on every token when `allTokens`, else an empty [n,0,E].
 */
export function pooledHead(
  last: tf.Tensor3D,
  head: (h: tf.Tensor3D) => tf.Tensor3D,
  allTokens: boolean,
  pool: (x: tf.Tensor3D) => tf.Tensor,
  everyToken = allTokens,
): { embeds: tf.Tensor2D; tokens: tf.Tensor3D } {
  const n = last.shape[0];
  if (everyToken) {
    const tokens = head(last);
    const embeds = tf.reshape(pool(tokens), [n, -1]) as tf.Tensor2D;
    return { embeds, tokens: allTokens ? tokens : (tf.zeros([n, 0, embeds.shape[1]]) as tf.Tensor3D) };
  }
  const embeds = tf.reshape(head(pool(last) as tf.Tensor3D), [n, -1]) as tf.Tensor2D;
  return { embeds, tokens: tf.zeros([n, 0, embeds.shape[1]]) as tf.Tensor3D };
}

/** Each image's CLS token: [n,T,·] → [n,1,·]. */
export function clsToken(all: tf.Tensor3D): tf.Tensor {
  return tf.slice(all, [0, 0, 0], [-1, 1, -1]);
}

/** Each text's pooled token, `flat` = row·L + its EOT position: [m,L,·] → [m,1,·]. */
export function tokensAt(all: tf.Tensor3D, flat: tf.Tensor1D): tf.Tensor {
  const [m, L, W] = all.shape;
  return tf.reshape(tf.gather(tf.reshape(all, [m * L, W]), flat), [m, 1, W]);
}

/** scale · normalised image embeds [n,E] @ normalised text embeds [m,E]ᵀ → [n,m], as the reference. */
export function logitsFromEmbeds(img: tf.Tensor2D, txt: tf.Tensor2D, scale: number): tf.Tensor2D {
  return tf.tidy(() => {
    const a = tf.div(img, tf.norm(img, 'euclidean', 1, true));
    const b = tf.div(txt, tf.norm(txt, 'euclidean', 1, true));
    return tf.mul(tf.matMul(a, b, false, true), scale) as tf.Tensor2D;
  });
}

/** Dispose every tensor of an encoder output. */
export function disposeOutput(o: EncoderOutput): void {
  tf.dispose([
    o.embeds,
    o.tokens,
    ...(o.hiddenStates ?? []),
    ...(o.hidden ?? []),
    ...(o.attentions ?? []),
    ...Object.values(o.cache ?? {}),
  ]);
}

export interface ModelOptions {
  /**
   * How linear weights are held (src/tensor/linear.ts): `out-in` halves the weight memory on wasm, `in-out`
   * is a few per cent faster there. Default: `out-in` on wasm, `in-out` on every other backend.
   */
  weightLayout?: WeightLayout;
  /** Image normalisation of this model when not CLIP's (open_clip models may state their own). */
  normalisation?: { mean?: Triple; std?: Triple };
  /**
   * `streamed`: only the embeddings and heads stay on the backend; each block's weights are uploaded just before
   * it runs and freed after, so the backend never holds more than one block of weights (plus the ends), at the
   * cost of an upload per block and chunk. For checking checkpoints whose float32 form would not fit
   * (`convertCheckpoint`'s verification); `weights` must stay readable for the model's life. Default `resident`.
   */
  blocks?: BlockResidency;
}

export class ClipModel {
  readonly config: Readonly<ClipConfig>;
  /** How images become this model's input (resolution, per-channel mean and std). */
  readonly preprocess: Readonly<PreprocessConfig>;
  readonly weightLayout: WeightLayout;
  readonly vision: VisionTransformer;
  readonly text: TextTransformer;
  /** exp(logit_scale), the temperature applied to cosine similarities. */
  readonly logitScale: number;
  private readonly store: WeightStore;
  private disposed = false;

  constructor(config: ClipConfig, weights: TensorMap, source = '<weights>', opts: ModelOptions = {}) {
    const layout = opts.weightLayout ?? defaultWeightLayout();
    if (!WEIGHT_LAYOUTS.includes(layout))
      throw new OptionsError('weightLayout', `expected one of ${WEIGHT_LAYOUTS.join(', ')}, got ${JSON.stringify(layout)}`);
    const residency = opts.blocks ?? 'resident';
    if (residency !== 'resident' && residency !== 'streamed')
      throw new OptionsError('blocks', `expected 'resident' or 'streamed', got ${JSON.stringify(residency)}`);
    const problems = configProblems(config);
    if (problems.length) throw new WeightsFormatError(source, `bad config: ${problems.join('; ')}`);
    const bad: string[] = [];
    for (const [name, shape] of canonicalShapes(config)) {
      const t = weights.get(name);
      if (!t) bad.push(`missing '${name}'`);
      else if (t.dtype !== 'float32') bad.push(`'${name}' is ${t.dtype}, expected float32`);
      else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
        bad.push(`'${name}' has shape [${t.shape}], expected [${shape}]`);
    }
    if (bad.length)
      throw new WeightsFormatError(
        source,
        `weights do not match the config (canonical names expected): ${bad.slice(0, 10).join('; ')}` +
          (bad.length > 10 ? ` … (${bad.length})` : ''),
      );
    this.config = Object.freeze({
      embedDim: config.embedDim,
      vision: Object.freeze({ ...config.vision }),
      text: Object.freeze({ ...config.text }),
    });
    this.preprocess = Object.freeze({
      resolution: config.vision.resolution,
      mean: [...(opts.normalisation?.mean ?? CLIP_MEAN)] as Triple,
      std: [...(opts.normalisation?.std ?? CLIP_STD)] as Triple,
    });
    this.weightLayout = layout;
    this.store = new WeightStore(weights, layout);
    try {
      this.vision = new VisionTransformer(this.store, config.vision, residency);
      this.text = new TextTransformer(this.store, config.text, residency);
    } catch (e) {
      tf.dispose(this.store.owned);
      throw e;
    }
    this.logitScale = Math.exp(weights.get('logit_scale')!.data[0]);
  }

  private alive(): void {
    if (this.disposed) throw new InputError('model', 'used after dispose()');
  }

  /**
   * pixels [n,3,R,R] (normalised) → embeds [n,E], tokens [n,1+P,E] (CLS first), and on request hidden states
   * [n,1+P,Wv], attentions [n,H,1+P,1+P] and cached hook points (EncodeOptions).
   */
  async encodeImages(pixels: tf.Tensor4D, opts?: EncodeOptions): Promise<EncoderOutput> {
    this.alive();
    const v = this.vision,
      c = this.config;
    const px = checkPixels(pixels, c.vision.resolution);
    const o = checkOptions(opts, v.layers, false);
    return this.encode('image', px.shape[0], v.tokens, c.vision, o, (start, size, points) => {
      const x = size === px.shape[0] ? px : tf.slice(px, [start, 0, 0, 0], [size, -1, -1, -1]);
      const last = v.transformer.run(v.embed(x, points), { points, masks: o.hooks?.attentionMask, batchStart: start, defaultMask: null });
      return pooledHead(last, (h) => v.head(h, points), o.tokens, clsToken, o.tokens || !!points?.wantsHead);
    });
  }

  /**
   * ids: int32 Tensor2D or number[][] [m,L] (L ≤ context), or captions (tokenized with the CLIP tokenizer) →
   * embeds [m,E] pooled at each row's first largest id (EOT), tokens [m,L,E], and on request hidden states
   * [m,L,Wt], attentions [m,H,L,L] and cached hook points (EncodeOptions).
   */
  async encodeTexts(ids: tf.Tensor2D | number[][] | string[], opts?: TextEncodeOptions): Promise<EncoderOutput> {
    this.alive();
    const t = this.text,
      c = this.config;
    const o = checkOptions(opts, t.layers, true);
    const input =
      Array.isArray(ids) && ids.length > 0 && typeof ids[0] === 'string'
        ? tokenizeForModel(ids as unknown[], c.text.contextLength, o.truncate)
        : ids;
    const host = checkIds(input, c.text.vocabSize, c.text.contextLength);
    const { rows, L } = host;
    const pool = eotPositions(host.data, rows, L);
    return this.encode('text', rows, L, c.text, o, (start, size, points) => {
      const idt = tf.tensor2d(host.data.subarray(start * L, (start + size) * L), [size, L], 'int32');
      const last = t.transformer.run(t.embed(idt, points), {
        points,
        masks: o.hooks?.attentionMask,
        batchStart: start,
        defaultMask: t.causalMask(L),
      });
      const flat = tf.tensor1d(
        pool.slice(start, start + size).map((p, r) => r * L + p),
        'int32',
      );
      return pooledHead(
        last,
        (h) => t.head(h, points),
        o.tokens,
        (all) => tokensAt(all, flat),
        o.tokens || !!points?.wantsHead,
      );
    });
  }

  /**
   * TransformerLens-style `run_with_cache`: one tower on its input, returning its output with `cache` holding the
   * activation of every hook point matched by `names` (names or globs, e.g. `blocks.*.attn.probs`), whole batch.
   */
  async runWithCache(
    encoder: EncoderName,
    input: tf.Tensor4D | tf.Tensor2D | number[][] | string[],
    names: string[],
    opts: Omit<TextEncodeOptions, 'cache'> = {},
  ): Promise<EncoderOutput & { cache: Record<string, tf.Tensor> }> {
    if (encoder !== 'image' && encoder !== 'text')
      throw new OptionsError('encoder', `expected 'image' or 'text', got ${JSON.stringify(encoder)}`);
    if (!Array.isArray(names) || names.length === 0)
      throw new OptionsError('names', 'expected a non-empty list of hook point names or globs');
    const o = { ...opts, cache: names };
    const out = encoder === 'image' ? await this.encodeImages(input as tf.Tensor4D, o) : await this.encodeTexts(input as string[], o);
    return out as EncoderOutput & { cache: Record<string, tf.Tensor> };
  }

  /**
   * Either tower over n rows of T tokens, in chunks, with the call's hooks and captures; the captures are
   * joined over the chunks and handed out as hidden states, attentions and the cache.
   */
  private async encode(
    encoder: EncoderName,
    n: number,
    T: number,
    tower: TowerConfig,
    o: CheckedOptions,
    run: (start: number, size: number, points: HookRunner | undefined) => ChunkOutput,
  ): Promise<EncoderOutput> {
    const L = tower.layers;
    const cacheNames = o.cache.length ? matchPoints(o.cache, hookPointNames(encoder, L), 'opts.cache') : [];
    const hiddenNames = (o.hiddenStates ?? []).map((i) => hiddenPointName(i, L));
    const attnNames = o.outputAttentions ? Array.from({ length: L }, (_, i) => `blocks.${i}.attn.probs`) : [];
    const captured = [...new Set([...cacheNames, ...hiddenNames, ...attnNames])];
    const points = new HookRunner(encoder, L, o.hooks, captured);
    const active = points.idle ? undefined : points;
    const E = this.config.embedDim;
    const chunk = rowsPerChunk(o.batchSize, T, tower, E, captured);
    let heads: ChunkOutput | null;
    try {
      heads = await inChunks(n, chunk, (start, size) => tf.tidy(() => run(start, size, active)));
    } catch (e) {
      points.dispose();
      throw e;
    }
    const got = points.collect();
    const take = (name: string): tf.Tensor => got.get(name) ?? tf.zeros(pointShape(name, 0, T, tower, E));
    const out: EncoderOutput = heads ?? { embeds: tf.zeros([0, E]), tokens: tf.zeros([0, o.tokens ? T : 0, E]) };
    // One tensor per name; a name asked for twice (hidden index and cache) is handed out as one kept copy each.
    const handed = new Set<string>();
    const give = <R extends tf.Tensor>(name: string): R => {
      const t = take(name);
      if (handed.has(name)) return t.clone() as R;
      handed.add(name);
      return t as R;
    };
    if (o.hiddenStates) out.hiddenStates = out.hidden = hiddenNames.map((name) => give<tf.Tensor3D>(name));
    if (o.outputAttentions) out.attentions = attnNames.map((name) => give<tf.Tensor4D>(name));
    if (o.cache.length) out.cache = Object.fromEntries(cacheNames.map((name) => [name, give(name)]));
    for (const [name, t] of got) if (!handed.has(name)) t.dispose();
    return out;
  }

  /** Image–text logits [n,m], as the reference `model(pixels, ids)[0]`. */
  async logits(
    pixels: tf.Tensor4D,
    ids: tf.Tensor2D | number[][] | string[],
    opts?: { batchSize?: number; truncate?: boolean },
  ): Promise<LogitsOutput> {
    const img = await this.encodeImages(pixels, opts?.batchSize ? { batchSize: opts.batchSize } : undefined);
    let txt: EncoderOutput;
    try {
      txt = await this.encodeTexts(ids, {
        ...(opts?.batchSize ? { batchSize: opts.batchSize } : {}),
        ...(opts?.truncate ? { truncate: true } : {}),
      });
    } catch (e) {
      disposeOutput(img);
      throw e;
    }
    const logitsPerImage = logitsFromEmbeds(img.embeds, txt.embeds, this.logitScale);
    disposeOutput(img);
    disposeOutput(txt);
    return { logitsPerImage, logitsPerText: tf.transpose(logitsPerImage) };
  }

  /** Free every weight tensor; the model cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(this.store.owned);
  }
}

/** Build a model from canonical weights (see `canonicalize`). Weights are uploaded to the current backend once. */
export function createClip(config: ClipConfig, weights: TensorMap, opts: ModelOptions = {}): ClipModel {
  return new ClipModel(config, weights, undefined, opts);
}
