/**
 * `convertCheckpoint(input, {out})`: any supported checkpoint → our converted folder (model.json + shards),
 * then a verification: the written folder re-loaded and run on a fixed input against the input checkpoint.
 *
 * Memory: tensors are written and dropped one at a time, and the verification runs each side through the model
 * with its blocks streamed (one block's weights on the backend at a time), one side after the other. Output: written into a temp folder
 * beside `out` and renamed at the end, so a failure leaves nothing (and nothing is ever written elsewhere).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors';
import { forceGc } from '../gc';
import { hashFileInto } from '../io/content-hash';
import { openCheckpoint } from '../weights/checkpoint';
import type { ClipConfig } from '../config/clip';
import {
  abandonConverting,
  cleanStalePartials,
  DEFAULT_SHARD_BYTES,
  finishConverting,
  markConverting,
  readManifest,
  StorageDtype,
  writeConverted,
} from '../weights/converted';
import { familyOf } from '../weights/family';
import { numel } from '../weights/types';
import { defaultWeightLayout } from '../tensor/linear';
import { OpenedWeights, openWeights, resolveModelPath } from './load';
import { ClipModel, disposeOutput, logitsFromEmbeds } from './model';
import type { EncoderOutput, Hooks } from './types';

export interface ConvertProgress {
  stage: 'hash' | 'read' | 'write' | 'verify' | 'done';
  /** Units done / total within the stage (bytes for hash, tensors for write, steps for verify). */
  done: number;
  total: number;
  message?: string;
}

export interface ConvertOptions {
  /** Output folder; must not exist (or be an empty folder). */
  out: string;
  /** Stored dtype (default: the source's — f16 when every floating-point weight is stored as F16, else f32). */
  dtype?: StorageDtype;
  /** Activation override, as `loadClip`. */
  act?: 'quick_gelu' | 'gelu';
  /** Geometry config for inputs that carry none, as `loadClip`'s `config`. */
  config?: string | object;
  onProgress?: (p: ConvertProgress) => void;
  /** Run the verification (default true). */
  verify?: boolean;
  /** Shard size in bytes (default 4 MiB, as tfjs). */
  shardBytes?: number;
}

export interface ConvertReport {
  input: string;
  out: string;
  /** 'ViT-B/32', 'ViT-B/16', 'ViT-L/14', 'ViT-L/14-336' or the inferred geometry. */
  family: string;
  config: ClipConfig;
  /** How the input was read: safetensors, torch (torch.save zip), torchscript, converted. */
  inputKind: string;
  dtype: StorageDtype;
  tensors: number;
  params: number;
  inputBytes: number;
  /** Shards + model.json. */
  outBytes: number;
  sha256: string;
  /** max |output − input| over image embeds, text embeds and logits on the fixed input; null without verification. */
  maxAbsDiff: number | null;
  /** The tfjs backend the verification ran on (the current one; null without verification). */
  verifyBackend: string | null;
  /** Peak resident memory of the process during the conversion (VmHWM where the OS reports it). */
  peakRssBytes: number;
  seconds: number;
}

/** Peak RSS: the kernel's high-water mark (reset at the start where allowed), else sampled at every step. */
class RssTracker {
  private peak = 0;
  private readonly hwm: boolean;
  constructor() {
    let reset = false;
    try {
      fs.writeFileSync('/proc/self/clear_refs', '5');
      reset = true;
    } catch {
      /* not Linux, or not permitted: sampling only */
    }
    this.hwm = reset;
    this.sample();
  }
  sample(): void {
    this.peak = Math.max(this.peak, this.now());
  }
  now(): number {
    return process.memoryUsage.rss();
  }
  value(): number {
    this.sample();
    if (this.hwm) {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
        if (m) return Math.max(this.peak, Number(m[1]) * 1024);
      } catch {
        /* fall through */
      }
    }
    return this.peak;
  }
}

/**
 * Collect garbage between the stages: a disposed model's host arrays are only returned to the OS after a
 * GC, and V8 alone may let two models' worth of dead arrays pile up before it runs one.
 */
function collectGarbage(): void {
  try {
    forceGc();
  } catch {
    /* best effort: memory is then only sampled, not trimmed */
  }
}

function sha256Files(files: string[], onBytes: (n: number) => void): string {
  const h = crypto.createHash('sha256');
  for (const f of files) hashFileInto(h, f, onBytes);
  return h.digest('hex');
}

/** Deterministic verification input: two images, two texts (EOT = the largest id, as CLIP pools). */
export function fixedInput(c: ClipConfig): { pixels: tf.Tensor4D; ids: number[][] } {
  const R = c.vision.resolution;
  const n = 2 * 3 * R * R;
  const px = new Float32Array(n);
  for (let i = 0; i < n; i++) px[i] = 1.5 * Math.sin(i * 0.3718 + Math.floor(i / (R * R)) * 1.3);
  const L = c.text.contextLength,
    V = c.text.vocabSize;
  const row = (len: number, seed: number): number[] => {
    const ids = new Array<number>(L).fill(0);
    const end = Math.min(len, L - 1);
    ids[0] = Math.max(0, V - 2);
    for (let i = 1; i < end; i++) ids[i] = (seed * 7919 + i * 104729) % Math.max(1, V - 2);
    ids[end] = V - 1;
    return ids;
  };
  return { pixels: tf.tensor4d(px, [2, 3, R, R]), ids: [row(6, 1), row(4, 2)] };
}

/**
 * Image embeds, text embeds and logits of the fixed input, run by the model's own encoders with its blocks
 * streamed (ModelOptions `blocks: 'streamed'`): the weights are on the backend one block at a time (plus the
 * embeddings and heads), because the float32 model alone is twice a float16 checkpoint and building it whole
 * could not verify such a file within the memory bound. `hooks` (tests) see both encoders' activations, e.g. to
 * measure the backend's memory while a block runs.
 */
export async function verificationOutputs(w: OpenedWeights, hooks?: Hooks): Promise<Float32Array[]> {
  const model = new ClipModel(w.config, w.weights, w.label, { weightLayout: defaultWeightLayout(), blocks: 'streamed' });
  const { pixels, ids } = fixedInput(w.config);
  let img: EncoderOutput | undefined, txt: EncoderOutput | undefined;
  try {
    img = await model.encodeImages(pixels, { tokens: true, hooks });
    txt = await model.encodeTexts(ids, { tokens: true, hooks });
    // The reference's logits, from the embeds (model.logits would run both towers again).
    const logits = logitsFromEmbeds(img.embeds, txt.embeds, model.logitScale);
    const out = [img.embeds, txt.embeds, logits].map((t) => Float32Array.from(t.dataSync() as Float32Array));
    logits.dispose();
    return out;
  } finally {
    pixels.dispose();
    for (const o of [img, txt]) if (o) disposeOutput(o);
    model.dispose();
  }
}

async function runFixed(w: OpenedWeights, onStep: () => void): Promise<Float32Array[]> {
  try {
    onStep();
    const out = await verificationOutputs(w);
    onStep();
    return out;
  } finally {
    w.close();
  }
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((x, k) => {
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs(x[i] - b[k][i]);
      if (!(d <= m)) m = d; // NaN stays NaN: a broken conversion must not look perfect
    }
  });
  return m;
}

function checkOut(out: string): void {
  if (typeof out !== 'string' || out.length === 0) throw new OptionsError('out', 'an output folder is required');
  if (fs.existsSync(out)) {
    const st = fs.statSync(out);
    if (!st.isDirectory() || fs.readdirSync(out).length > 0) {
      throw new OptionsError('out', `${out} already exists; choose a new folder (nothing is overwritten)`);
    }
  }
}

/** Convert a checkpoint file or folder into a converted folder at `opts.out`. */
export async function convertCheckpoint(input: string, opts: ConvertOptions): Promise<ConvertReport> {
  const t0 = Date.now();
  if (opts.dtype !== undefined && opts.dtype !== 'f16' && opts.dtype !== 'f32')
    throw new OptionsError('dtype', `expected 'f16' or 'f32', got ${JSON.stringify(opts.dtype)}`);
  if (opts.act !== undefined && opts.act !== 'quick_gelu' && opts.act !== 'gelu') {
    throw new OptionsError('act', `expected 'quick_gelu' or 'gelu', got ${JSON.stringify(opts.act)}`);
  }
  if (opts.shardBytes !== undefined && !(Number.isSafeInteger(opts.shardBytes) && opts.shardBytes > 0)) {
    throw new OptionsError('shardBytes', `expected a positive integer, got ${String(opts.shardBytes)}`);
  }
  const out = path.resolve(opts.out);
  checkOut(out);
  const rss = new RssTracker();
  const progress = (p: ConvertProgress): void => {
    rss.sample();
    opts.onProgress?.(p);
  };
  const src = resolveModelPath(input);

  // Which files hold the weights (for the hash and the size): open once, read nothing.
  let files: string[];
  let stored: string[];
  const st = fs.statSync(src);
  if (st.isDirectory() && fs.existsSync(path.join(src, 'model.json'))) {
    files = fs
      .readdirSync(src)
      .filter((f) => f === 'model.json' || f.endsWith('.bin'))
      .sort()
      .map((f) => path.join(src, f));
    stored = readManifest(src).weightsManifest.flatMap((g) => g.weights.map((w) => (w.quantization?.dtype === 'float16' ? 'F16' : 'F32')));
  } else {
    const c = openCheckpoint(src);
    files = c.files;
    stored = c.names.map((n) => c.storedDtype(n) ?? '');
    c.close();
  }
  // Keep the source's precision unless asked: f16 only when every floating-point weight is stored as F16
  // (BF16 and F64 do not fit f16's range or precision; f32 holds them).
  const floats = stored.filter((d) => d === 'F16' || d === 'BF16' || d === 'F32' || d === 'F64');
  const dtype: StorageDtype = opts.dtype ?? (floats.length && floats.every((d) => d === 'F16') ? 'f16' : 'f32');
  const inputBytes = files.reduce((s, f) => s + fs.statSync(f).size, 0);
  let hashed = 0;
  const sha256 = sha256Files(files, (n) => {
    hashed += n;
    progress({ stage: 'hash', done: hashed, total: inputBytes });
  });

  progress({ stage: 'read', done: 0, total: 1, message: src });
  const loaded = openWeights(src, { act: opts.act, config: opts.config });
  const { config } = loaded;
  const specs = [...loaded.weights].map(([name, t]) => ({ name, shape: t.shape.slice() }));
  const params = specs.reduce((s, x) => s + numel(x.shape), 0);
  const family = familyOf(config);
  progress({ stage: 'read', done: 1, total: 1, message: `${family}, ${params} parameters` });

  try {
    fs.mkdirSync(path.dirname(out), { recursive: true });
  } catch (e) {
    loaded.close();
    throw e;
  }
  // mkdir, not mkdtemp: the folder becomes `out` and should get the usual permissions, not 0700.
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.partial-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  cleanStalePartials(out);
  fs.mkdirSync(tmp);
  markConverting(tmp);
  try {
    let outBytes: number;
    try {
      outBytes = writeConverted(
        tmp,
        config,
        { name: path.basename(path.resolve(src)), sha256, family },
        specs,
        (name) => {
          const t = loaded.weights.get(name)!;
          loaded.weights.delete(name); // written once, then free for GC (lazy weights read it just now)
          return { dtype: t.dtype, shape: t.shape, data: t.data }; // one read of a lazy tensor
        },
        {
          dtype,
          shardBytes: opts.shardBytes ?? DEFAULT_SHARD_BYTES,
          normalisation: loaded.normalisation,
          onTensor: (name, i, n) => progress({ stage: 'write', done: i + 1, total: n, message: name }),
        },
      );
    } finally {
      loaded.close();
    }

    let maxAbsDiff: number | null = null;
    let verifyBackend: string | null = null;
    if (opts.verify !== false) {
      let step = 0;
      const tick = (): void => progress({ stage: 'verify', done: ++step, total: 4 });
      collectGarbage();
      await tf.ready(); // before the first tensor no backend may be chosen yet
      verifyBackend = tf.getBackend();
      const converted = await runFixed(openWeights(tmp), tick);
      collectGarbage();
      const original = await runFixed(openWeights(src, { act: opts.act, config: opts.config }), tick);
      maxAbsDiff = maxDiff(converted, original);
    }
    if (fs.existsSync(out)) fs.rmdirSync(out); // checked empty above
    finishConverting(tmp);
    fs.renameSync(tmp, out);
    const report: ConvertReport = {
      input: src,
      out,
      family,
      config,
      inputKind: loaded.kind,
      dtype,
      tensors: specs.length,
      params,
      inputBytes,
      outBytes,
      sha256,
      maxAbsDiff,
      verifyBackend,
      peakRssBytes: rss.value(),
      seconds: (Date.now() - t0) / 1000,
    };
    progress({ stage: 'done', done: 1, total: 1 });
    return report;
  } catch (e) {
    abandonConverting(tmp);
    throw e;
  }
}
