/**
 * `loadClip(x)`: a converted folder (model.json + shards), a `.safetensors`, a `.pt`/`.bin`, a Hugging Face or
 * open_clip folder, or the name of a bundled model (`'toy-shapes'` → <package root>/weights/toy-shapes).
 */
import * as fs from 'fs';
import * as path from 'path';
import { OptionsError, WeightsFormatError } from '../errors';
import { readRegularText } from '../io/regular-file';
import { getLimits } from '../limits';
import { packageRoot } from '../package-root';

export { packageRoot };
import { CLIP_MEAN, CLIP_STD } from '../image/constants';
import { openCheckpoint, Checkpoint } from '../weights/checkpoint';
import type { Activation, ClipConfig } from '../config/clip';
import { isConvertedFolder, Normalisation, openConverted, readConverted } from '../weights/converted';
import { canonicalize } from '../weights/names';
import type { RawTensor, TensorMap } from '../weights/types';
import { ClipModel, createClip, ModelOptions } from './model';

export interface LoadClipOptions extends ModelOptions {
  /** Activation override (e.g. `gelu` for a LAION checkpoint without a config that says so). */
  act?: 'quick_gelu' | 'gelu';
  /**
   * The model's geometry config, when the checkpoint does not carry one (a bare `.safetensors`/`.pt` whose
   * width is not 64 × heads): a path to a JSON file or the parsed object, in Hugging Face CLIPConfig,
   * open_clip or openai-style form. Overrides a config found beside the weights.
   */
  config?: string | object;
}

/** Models shipped in the package's `weights/` folder. */
export const BUNDLED_MODELS = ['toy-shapes'] as const;

/** A path as given, or a bundled model's folder. */
export function resolveModelPath(x: string): string {
  if (typeof x !== 'string' || x.length === 0)
    throw new OptionsError('model', `expected a path or a bundled model name, got ${JSON.stringify(x)}`);
  if (fs.existsSync(x)) return x;
  if ((BUNDLED_MODELS as readonly string[]).includes(x)) {
    const dir = path.join(packageRoot(), 'weights', x);
    if (!fs.existsSync(dir)) throw new WeightsFormatError(dir, `bundled model '${x}' is missing from this installation`);
    return dir;
  }
  throw new WeightsFormatError(x, `no such file or folder, and not a bundled model (${BUNDLED_MODELS.join(', ')})`);
}

export interface LoadedWeights {
  config: ClipConfig;
  /** Image normalisation the input states, when not CLIP's. */
  normalisation?: Normalisation;
  weights: TensorMap;
  /** How the input was read, for reports. */
  kind: 'converted' | Checkpoint['format'];
  label: string;
}

function sameTriple(a: readonly number[] | undefined, b: readonly number[]): boolean {
  return !a || a.every((v, i) => Math.abs(v - b[i]) < 1e-7);
}

function readConfigOption(c: string | object): unknown {
  if (typeof c === 'object' && c !== null) return c;
  if (typeof c !== 'string') throw new OptionsError('config', `expected a JSON file path or an object, got ${typeof c}`);
  const fail = (p: string) => new WeightsFormatError(c, `cannot read the config JSON (${p})`);
  const text = readRegularText(c, fail, getLimits().maxHeaderBytes, 'maxHeaderBytes');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw fail((e as Error).message);
  }
}

function normalisationOf(ckpt: Checkpoint): Normalisation | undefined {
  // Only non-default normalisation is recorded, so OpenAI-style models keep the shared constants.
  if (!sameTriple(ckpt.imageMean, CLIP_MEAN) || !sameTriple(ckpt.imageStd, CLIP_STD)) {
    return {
      mean: ckpt.imageMean ?? ([...CLIP_MEAN] as [number, number, number]),
      std: ckpt.imageStd ?? ([...CLIP_STD] as [number, number, number]),
    };
  }
  return undefined;
}

/** The config with both towers' activation replaced (the `act` option). */
function withAct(c: ClipConfig, act: Activation | undefined): ClipConfig {
  return act ? { ...c, vision: { ...c.vision, act }, text: { ...c.text, act } } : c;
}

function stated(n: Normalisation | undefined): { normalisation?: Normalisation } {
  return n && (n.mean || n.std) ? { normalisation: n } : {};
}

function checkAct(opts: LoadClipOptions): void {
  if (opts.act !== undefined && opts.act !== 'quick_gelu' && opts.act !== 'gelu') {
    throw new OptionsError('act', `expected 'quick_gelu' or 'gelu', got ${JSON.stringify(opts.act)}`);
  }
}

/** Whether `p` is a converted folder (whose model.json holds the config: a `config` option is then refused). */
function convertedInput(p: string, opts: LoadClipOptions): boolean {
  if (!(fs.statSync(p).isDirectory() && isConvertedFolder(p))) return false;
  if (opts.config !== undefined) throw new OptionsError('config', `${p} is a converted folder; its model.json already holds the config`);
  return true;
}

/** Host-side canonical weights + config from any supported input, all in memory (no tf tensors made). */
export function loadWeights(x: string, opts: LoadClipOptions = {}): LoadedWeights {
  checkAct(opts);
  const p = resolveModelPath(x);
  if (convertedInput(p, opts)) {
    const { config, weights, normalisation } = readConverted(p);
    return { config: withAct(config, opts.act), ...stated(normalisation), weights, kind: 'converted', label: p };
  }
  const ckpt = openCheckpoint(p);
  let tensors: TensorMap;
  try {
    tensors = ckpt.readAll();
  } finally {
    ckpt.close();
  }
  const fileConfig = opts.config !== undefined ? readConfigOption(opts.config) : ckpt.fileConfig;
  const { config, weights } = canonicalize(tensors, { source: p, hfConfig: fileConfig, act: opts.act ?? ckpt.act });
  tensors.clear();
  return { config, ...stated(normalisationOf(ckpt)), weights, kind: ckpt.format, label: p };
}

/** Weights whose tensors are read from disk when first touched; `close()` when done with them. */
export interface OpenedWeights extends LoadedWeights {
  /** True when `weights` reads lazily (each access of `.data` reads the file again). */
  lazy: boolean;
  close(): void;
}

/** A RawTensor whose data is read from the file on access (an own getter, so nothing is held). */
function lazyTensor(shape: number[], read: () => RawTensor): RawTensor {
  return {
    dtype: 'float32',
    shape,
    get data() {
      return read().data;
    },
  };
}

/**
 * Like `loadWeights`, but without holding the whole model in host memory where the layout allows it: a
 * converted folder, and checkpoints already in canonical (OpenAI / open_clip) names, are read tensor by
 * tensor on access. Hugging Face layouts need q/k/v joined, so they are read eagerly.
 */
export function openWeights(x: string, opts: LoadClipOptions = {}): OpenedWeights {
  checkAct(opts);
  const p = resolveModelPath(x);
  if (convertedInput(p, opts)) {
    const c = openConverted(p);
    const weights: TensorMap = new Map(c.specs.map((s) => [s.name, lazyTensor(s.shape.slice(), () => c.read(s.name))]));
    return {
      config: withAct(c.config, opts.act),
      ...stated(c.normalisation),
      weights,
      kind: 'converted',
      label: p,
      lazy: true,
      close: () => c.close(),
    };
  }
  const ckpt = openCheckpoint(p);
  try {
    const fileConfig = opts.config !== undefined ? readConfigOption(opts.config) : ckpt.fileConfig;
    // Names, shapes and dtypes decide the layout and the config; placeholders carry no data.
    const shapes: TensorMap = new Map(
      ckpt.names.map((n) => {
        const d = ckpt.storedDtype(n);
        const float = d === 'F32' || d === 'F16' || d === 'BF16' || d === 'F64';
        return [n, { dtype: float ? 'float32' : 'int32', shape: ckpt.shape(n) ?? [], data: new Float32Array(0) }];
      }),
    );
    const canon = canonicalize(shapes, { source: p, hfConfig: fileConfig, act: opts.act ?? ckpt.act });
    const config = canon.config;
    const norm = stated(normalisationOf(ckpt));
    if (canon.layout === 'openai') {
      const have = new Set(ckpt.names);
      const weights: TensorMap = new Map();
      for (const [name, t] of canon.weights) {
        const src = have.has(name) ? name : `module.${name}`;
        weights.set(
          name,
          lazyTensor(t.shape.slice(), () => ckpt.read(src)),
        );
      }
      return { config, ...norm, weights, kind: ckpt.format, label: p, lazy: true, close: () => ckpt.close() };
    }
    const all = ckpt.readAll();
    const { weights } = canonicalize(all, { source: p, hfConfig: fileConfig, act: opts.act ?? ckpt.act });
    all.clear();
    ckpt.close();
    return { config, ...norm, weights, kind: ckpt.format, label: p, lazy: false, close: () => {} };
  } catch (e) {
    ckpt.close();
    throw e;
  }
}

/** Build the model from host weights, then let go of the host copies (the model keeps its own tensors). */
export function modelFromWeights(w: LoadedWeights, opts: ModelOptions = {}): ClipModel {
  const model = createClip(w.config, w.weights, { ...stated(w.normalisation), ...opts });
  // createClip uploads everything at construction; dropping the map halves the memory of a loaded model.
  w.weights.clear();
  return model;
}

/**
 * Load a CLIP model from a converted folder, a checkpoint file or folder, or a bundled model name.
 * Weights are read one tensor at a time where the layout allows, so loading needs about the model's own
 * size in memory, not twice it.
 */
export async function loadClip(x: string, opts: LoadClipOptions = {}): Promise<ClipModel> {
  const w = openWeights(x, opts);
  try {
    return modelFromWeights(w, opts.weightLayout ? { weightLayout: opts.weightLayout } : {});
  } finally {
    w.close();
  }
}
