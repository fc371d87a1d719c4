/**
 * Named hook points inside both towers (TransformerLens-style), resolved once per encoder call.
 *
 *   embed                    [n,T,W]   vision: patches + class token + positions (before ln_pre); text: tokens + positions
 *   ln_pre                   [n,T,W]   vision only: ln_pre output (= hidden state 0)
 *   blocks.{i}.resid.pre     [n,T,W]   the block's input (= hidden state i)
 *   blocks.{i}.ln1           [n,T,W]   ln_1 output, what attention reads
 *   blocks.{i}.attn.q|k|v    [n,H,T,D] per-head projections (q before the 1/√D scale)
 *   blocks.{i}.attn.scores   [n,H,T,T] q·kᵀ/√D plus the additive mask, before the softmax
 *   blocks.{i}.attn.probs    [n,H,T,T] attention probabilities (rows sum to 1)
 *   blocks.{i}.attn.z        [n,H,T,D] per-head output probs·v, before the output projection
 *   blocks.{i}.attn.out      [n,T,W]   attention output after out_proj (what is added to the residual)
 *   blocks.{i}.resid.mid     [n,T,W]   resid.pre + attn.out
 *   blocks.{i}.ln2           [n,T,W]   ln_2 output, what the MLP reads
 *   blocks.{i}.mlp.hidden    [n,T,M]   the MLP's activation output (M = mlpWidth)
 *   blocks.{i}.mlp.out       [n,T,W]   the MLP's output (c_proj)
 *   blocks.{i}.resid.post    [n,T,W]   resid.mid + mlp.out (= hidden state i+1)
 *   ln_post | ln_final       [n,T,W]   the output head's LayerNorm (vision ln_post, text ln_final) on every token
 *   proj                     [n,T,E]   the head's projection of every token (E = embedDim); embeds are its pooled rows
 *
 * n = rows of the chunk being run (see HookPointInfo), T tokens, W width, H heads, D = W/H. The head points see
 * every token even with `tokens: false` (hooking them makes the encoder run the head on every token).
 */
import * as tf from '@tensorflow/tfjs';
import { InputError, OptionsError } from '../errors';
import type { EncoderName, HookFn, HookPointInfo, Hooks } from './types';

/** Points inside every block, in the order they are reached. */
export const BLOCK_POINTS = [
  'resid.pre',
  'ln1',
  'attn.q',
  'attn.k',
  'attn.v',
  'attn.scores',
  'attn.probs',
  'attn.z',
  'attn.out',
  'resid.mid',
  'ln2',
  'mlp.hidden',
  'mlp.out',
  'resid.post',
] as const;
export type BlockPoint = (typeof BLOCK_POINTS)[number];

/** Points before the blocks, per tower. */
export const TOWER_POINTS: Record<EncoderName, readonly string[]> = { image: ['embed', 'ln_pre'], text: ['embed'] };

/** Points of the output head after the blocks, per tower: its LayerNorm, then its projection. */
export const HEAD_POINTS: Record<EncoderName, readonly [ln: string, proj: string]> = {
  image: ['ln_post', 'proj'],
  text: ['ln_final', 'proj'],
};

/** Every hook point name of a tower with `layers` blocks, in the order they are reached. */
export function hookPointNames(encoder: EncoderName, layers: number): string[] {
  const out = [...TOWER_POINTS[encoder]];
  for (let i = 0; i < layers; i++) for (const p of BLOCK_POINTS) out.push(`blocks.${i}.${p}`);
  return [...out, ...HEAD_POINTS[encoder]];
}

/** A name or glob (`*` = any run of characters but '.', `**` = any run) → an anchored RegExp. */
export function globRegExp(glob: string): RegExp {
  const src = glob
    .split(/(\*\*|\*)/)
    .map((part) => {
      if (part === '**') return '.*';
      if (part === '*') return '[^.]*';
      return part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${src}$`);
}

/** Names matched by a list of names/globs; each pattern must match at least one point (else OptionsError). */
export function matchPoints(patterns: readonly string[], names: readonly string[], arg: string): string[] {
  const chosen = new Set<string>();
  for (const p of patterns) {
    if (typeof p !== 'string' || p.length === 0)
      throw new OptionsError(arg, `expected hook point names or globs, got ${JSON.stringify(p)}`);
    const re = globRegExp(p);
    const hit = names.filter((n) => re.test(n));
    if (!hit.length)
      throw new OptionsError(arg, `'${p}' matches no hook point (e.g. ${names.slice(0, 3).join(', ')}, …, blocks.{i}.attn.probs)`);
    for (const n of hit) chosen.add(n);
  }
  return names.filter((n) => chosen.has(n));
}

/** The legacy boundary hooks as points: hidden[i] is blocks.i.resid.pre, hidden[layers] is the last block's resid.post. */
export function hiddenPointName(i: number, layers: number): string {
  return i < layers ? `blocks.${i}.resid.pre` : `blocks.${layers - 1}.resid.post`;
}

/**
 * The hooks and captures of one encoder call. `at` runs every edit hook registered for a point (in the order
 * given), checks what each returns, then keeps a copy when the point is captured. Captured copies are kept
 * per chunk and joined by `collect`, so a cache always holds the whole batch.
 */
export class HookRunner {
  private readonly edits = new Map<string, { f: HookFn; label: string }[]>();
  private readonly captured = new Map<string, tf.Tensor[]>();
  /** Set by the encoder before each chunk. */
  batchStart = 0;

  constructor(
    readonly encoder: EncoderName,
    readonly layers: number,
    hooks: Hooks | undefined,
    capture: readonly string[],
  ) {
    const names = hookPointNames(encoder, layers);
    for (const [key, fn] of Object.entries(hooks ?? {})) {
      if (key === 'hidden') {
        for (const [k, f] of Object.entries(hooks!.hidden ?? {})) {
          const layer = Number(k);
          this.add(
            hiddenPointName(layer, layers),
            (x, info) => f(x as tf.Tensor3D, { encoder, layer, batchStart: info.batchStart }),
            `hooks.hidden[${k}]`,
          );
        }
      } else if (key !== 'attentionMask') {
        for (const n of matchPoints([key], names, `hooks['${key}']`)) this.add(n, fn as HookFn, `hooks['${key}'] at ${n}`);
      }
    }
    for (const n of capture) this.captured.set(n, []);
  }

  private add(name: string, f: HookFn, label: string): void {
    const list = this.edits.get(name);
    if (list) list.push({ f, label });
    else this.edits.set(name, [{ f, label }]);
  }

  /** True when nothing is hooked or captured (the encoders then take their plain path). */
  get idle(): boolean {
    return this.edits.size === 0 && this.captured.size === 0;
  }

  /** Whether a point has an edit hook or a capture (so callers can skip preparing its tensor). */
  wants(name: string): boolean {
    return this.edits.has(name) || this.captured.has(name);
  }

  /** Run a point: edits in order, then the capture. Call inside tf.tidy. */
  at<T extends tf.Tensor>(name: string, x: T, block = -1): T {
    let y = x;
    const fns = this.edits.get(name);
    if (fns) {
      for (const { f, label } of fns) {
        const info: HookPointInfo = { encoder: this.encoder, name, block, batchStart: this.batchStart, batch: x.shape[0] };
        const out = f(y, info);
        if (out === undefined || out === null) continue;
        const where = `${label} (${this.encoder})`;
        if (!(out instanceof tf.Tensor)) throw new InputError(where, 'returned something that is not a tf.Tensor');
        if (out.rank !== y.rank || out.shape.some((d, k) => d !== y.shape[k])) {
          throw new InputError(where, `returned shape [${out.shape}], expected [${y.shape}]`);
        }
        y = (out.dtype === 'float32' ? out : tf.cast(out, 'float32')) as T;
      }
    }
    const list = this.captured.get(name);
    if (list) list.push(tf.keep(y.clone()));
    return y;
  }

  /** Whether a head point is hooked or captured (the encoder then runs the head on every token). */
  get wantsHead(): boolean {
    return HEAD_POINTS[this.encoder].some((p) => this.wants(p));
  }

  /** The head's view: `head('ln' | 'proj', x)` runs that head point of this tower. */
  head<T extends tf.Tensor>(part: 'ln' | 'proj', x: T): T {
    return this.at(HEAD_POINTS[this.encoder][part === 'ln' ? 0 : 1], x);
  }

  /** A block's view: `tap(point, x)` runs `blocks.{i}.{point}`. */
  tap(block: number, skip?: BlockPoint): Tap | undefined {
    const prefix = `blocks.${block}.`;
    if (![...BLOCK_POINTS].some((p) => this.wants(prefix + p))) return undefined;
    return {
      wants: (p) => p !== skip && this.wants(prefix + p),
      at: (p, x) => (p === skip ? x : this.at(prefix + p, x, block)),
    };
  }

  /** The captured points, each the chunks joined along rows; the runner lets go of them. */
  collect(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [n, list] of this.captured) {
      out.set(n, list.length === 1 ? list[0] : tf.concat(list, 0));
      if (list.length > 1) tf.dispose(list);
    }
    this.captured.clear();
    return out;
  }

  /** Free whatever was captured (after an error). */
  dispose(): void {
    for (const list of this.captured.values()) tf.dispose(list);
    this.captured.clear();
  }
}

/** What the layers see of the hooks: one block's points, nothing to do when a point is not wanted. */
export interface Tap {
  wants(point: BlockPoint): boolean;
  at<T extends tf.Tensor>(point: BlockPoint, x: T): T;
}
