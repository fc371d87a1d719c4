/** Validation of what callers pass to the encoders; every problem is an InputError / OptionsError naming the argument. */
import * as tf from '@tensorflow/tfjs';
import { InputError, OptionsError } from '../errors';
import type { EncodeOptions, Hooks, TextEncodeOptions } from './types';

export const DEFAULT_BATCH_SIZE = 32;

export function checkPixels(pixels: unknown, resolution: number, arg = 'pixels'): tf.Tensor4D {
  if (!(pixels instanceof tf.Tensor))
    throw new InputError(arg, `expected a tf.Tensor4D [n,3,${resolution},${resolution}], got ${describe(pixels)}`);
  if (pixels.isDisposed) throw new InputError(arg, 'tensor is disposed');
  if (pixels.rank !== 4)
    throw new InputError(arg, `rank ${pixels.rank} (shape [${pixels.shape}]), expected rank 4 [n,3,${resolution},${resolution}]`);
  const [, c, h, w] = pixels.shape;
  if (c !== 3 || h !== resolution || w !== resolution) {
    throw new InputError(
      arg,
      `shape [${pixels.shape}], expected [n,3,${resolution},${resolution}] (channels first, the model's resolution)`,
    );
  }
  if (pixels.dtype !== 'float32') throw new InputError(arg, `dtype ${pixels.dtype}, expected float32 (normalised pixels)`);
  return pixels as tf.Tensor4D;
}

/** Host ids [m·L] checked against the vocabulary and context; returns them with their shape. */
export function checkIds(
  ids: unknown,
  vocabSize: number,
  contextLength: number,
  arg = 'ids',
): { data: Int32Array; rows: number; L: number } {
  let data: Int32Array, rows: number, L: number;
  if (ids instanceof tf.Tensor) {
    if (ids.isDisposed) throw new InputError(arg, 'tensor is disposed');
    if (ids.rank !== 2) throw new InputError(arg, `rank ${ids.rank} (shape [${ids.shape}]), expected rank 2 [m,L]`);
    if (ids.dtype !== 'int32') throw new InputError(arg, `dtype ${ids.dtype}, expected int32 token ids`);
    [rows, L] = ids.shape as [number, number];
    data = ids.dataSync() as Int32Array;
  } else if (Array.isArray(ids)) {
    rows = ids.length;
    L = rows ? (Array.isArray(ids[0]) ? ids[0].length : -1) : 0;
    data = new Int32Array(rows * Math.max(L, 0));
    ids.forEach((row, r) => {
      if (!Array.isArray(row)) throw new InputError(`${arg}[${r}]`, `expected an array of token ids, got ${describe(row)}`);
      if (row.length !== L) throw new InputError(`${arg}[${r}]`, `has ${row.length} ids, row 0 has ${L} (rows must have equal length)`);
      row.forEach((v, j) => {
        if (!Number.isInteger(v)) throw new InputError(`${arg}[${r}][${j}]`, `${describe(v)} is not an integer token id`);
        data[r * L + j] = v;
      });
    });
  } else {
    throw new InputError(arg, `expected a tf.Tensor2D int32, number[][] or string[], got ${describe(ids)}`);
  }
  if (rows > 0 && (L < 1 || L > contextLength))
    throw new InputError(arg, `length ${L} per row, expected 1..${contextLength} (the context length)`);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < 0 || v >= vocabSize) {
      throw new InputError(arg, `id ${v} at row ${Math.floor(i / L)}, position ${i % L} is outside the vocabulary [0, ${vocabSize})`);
    }
  }
  return { data, rows, L };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (v instanceof tf.Tensor) return `a ${v.dtype} tensor [${v.shape}]`;
  return typeof v === 'object'
    ? (v.constructor?.name ?? 'an object')
    : `${typeof v} ${typeof v === 'bigint' || typeof v === 'symbol' ? String(v) : JSON.stringify(v)}`;
}

const KNOWN = new Set(['batchSize', 'hiddenStates', 'outputAttentions', 'cache', 'tokens', 'hooks']);
const KNOWN_TEXT = new Set([...KNOWN, 'truncate']);

function checkHooks(hooks: Hooks, layers: number, arg: string): void {
  if (!hooks || typeof hooks !== 'object')
    throw new OptionsError(arg, "hooks must be an object {'<hook point or glob>': fn, hidden?, attentionMask?}");
  const table = (name: 'hidden' | 'attentionMask', max: number): void => {
    const t = hooks[name];
    if (t === undefined) return;
    if (!t || typeof t !== 'object') throw new OptionsError(`${arg}.${name}`, 'must be an object keyed by layer index');
    for (const [k, f] of Object.entries(t)) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i > max) throw new OptionsError(`${arg}.${name}[${k}]`, `index must be an integer 0..${max}`);
      if (typeof f !== 'function') throw new OptionsError(`${arg}.${name}[${k}]`, 'must be a function');
    }
  };
  table('hidden', layers);
  table('attentionMask', layers - 1);
  for (const [k, f] of Object.entries(hooks)) {
    if (k !== 'hidden' && k !== 'attentionMask' && typeof f !== 'function') {
      throw new OptionsError(`${arg}['${k}']`, 'must be a function (hook point names: src/clip/hooks.ts)');
    }
  }
}

/** Hidden-state indices asked for (true: all), negatives counted from the end; null when none. */
function hiddenIndices(v: unknown, layers: number, arg: string): number[] | null {
  if (v === undefined || v === false) return null;
  if (v === true) return Array.from({ length: layers + 1 }, (_, i) => i);
  if (!Array.isArray(v)) throw new OptionsError(arg, `expected true, false or a list of layer indices, got ${describe(v)}`);
  return v.map((i, k) => {
    if (!Number.isInteger(i) || i < -(layers + 1) || i > layers) {
      throw new OptionsError(`${arg}[${k}]`, `${describe(i)} is not a hidden-state index in −${layers + 1}..${layers}`);
    }
    return i < 0 ? layers + 1 + i : i;
  });
}

export interface CheckedOptions {
  batchSize: number;
  /** Hidden-state indices to return, in the order asked; null: none. */
  hiddenStates: number[] | null;
  outputAttentions: boolean;
  cache: string[];
  tokens: boolean;
  hooks?: Hooks;
  truncate: boolean;
}

export function checkOptions(
  opts: EncodeOptions | TextEncodeOptions | undefined,
  layers: number,
  text: boolean,
  arg = 'opts',
): CheckedOptions {
  const o = (opts ?? {}) as TextEncodeOptions;
  if (typeof o !== 'object') throw new OptionsError(arg, 'options must be an object');
  for (const k of Object.keys(o)) {
    if (!(text ? KNOWN_TEXT : KNOWN).has(k))
      throw new OptionsError(`${arg}.${k}`, `unknown option (known: ${[...(text ? KNOWN_TEXT : KNOWN)].join(', ')})`);
  }
  const batchSize = o.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1)
    throw new OptionsError(`${arg}.batchSize`, `${String(batchSize)} is not a positive integer`);
  if (o.hooks !== undefined) checkHooks(o.hooks, layers, `${arg}.hooks`);
  if (o.tokens !== undefined && typeof o.tokens !== 'boolean')
    throw new OptionsError(`${arg}.tokens`, `expected true or false, got ${JSON.stringify(o.tokens)}`);
  if (o.outputAttentions !== undefined && typeof o.outputAttentions !== 'boolean') {
    throw new OptionsError(`${arg}.outputAttentions`, `expected true or false, got ${describe(o.outputAttentions)}`);
  }
  if (o.cache !== undefined && !(Array.isArray(o.cache) && o.cache.every((x) => typeof x === 'string'))) {
    throw new OptionsError(`${arg}.cache`, `expected a list of hook point names or globs, got ${describe(o.cache)}`);
  }
  return {
    batchSize,
    hiddenStates: hiddenIndices(o.hiddenStates, layers, `${arg}.hiddenStates`),
    outputAttentions: Boolean(o.outputAttentions),
    cache: o.cache ?? [],
    tokens: o.tokens ?? true,
    hooks: o.hooks,
    truncate: Boolean(o.truncate),
  };
}
