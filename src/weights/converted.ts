/**
 * Our converted format: a tfjs-style weights manifest (`model.json`) plus binary shards, so the same folder
 * loads in Node (here, validated) and in a browser through `tf.io.loadWeights(manifest.weightsManifest, url)`.
 *
 *   { format: 'abe-clip-weights', version: 1, config: FileConfig, source: {name, sha256, family},
 *     weightsManifest: [{ paths: ['group1-shard1of3.bin', …],
 *                         weights: [{name, shape, dtype: 'float32', quantization?: {dtype: 'float16'}}] }] }
 *
 * As in tfjs, a group's shards are one byte stream cut into pieces; a tensor may straddle two shards.
 * float16 storage is tfjs's own 'float16' quantization, which `tf.io.decodeWeights` expands to float32.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { WeightsFormatError } from '../errors';
import { openRegularFile, readRegularText, NO_SUCH_FILE } from '../io/regular-file';
import { getLimits, STRUCTURE_LIMITS } from '../limits';
import { ClipConfig, configProblems, DEFAULT_MLP_RATIO, PreprocessConfig, Triple } from '../config/clip';
import { checkFinite, decode, floatToHalf } from './dtype';
import { numel, RawTensor, TensorMap } from './types';
import { renderValue } from '../io/render';

export const MANIFEST_FILE = 'model.json';
export const FORMAT_NAME = 'abe-clip-weights';
export const FORMAT_VERSION = 1;
/** Shard size of tfjs's own converter. */
export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: { dtype: 'float16' };
}

export interface WeightsGroup {
  paths: string[];
  weights: WeightSpec[];
}

export interface SourceInfo {
  /** File or folder name the weights came from (base name, no local path). */
  name: string;
  /** sha256 of the weights file; for several shards, of their bytes concatenated in index order. */
  sha256: string;
  /** 'ViT-B/32', … or the inferred geometry. */
  family: string;
}

/**
 * The config as `model.json` stores it (flat, version 1 of the format; stable so that folders written by any
 * version of this library stay readable). `src/config/clip.ts` holds the nested form the code uses.
 */
export interface FileConfig {
  embedDim: number;
  imageResolution: number;
  visionLayers: number;
  visionWidth: number;
  visionHeads: number;
  visionPatchSize: number;
  contextLength: number;
  vocabSize: number;
  textWidth: number;
  textHeads: number;
  textLayers: number;
  act: ClipConfig['vision']['act'];
  layerNormEps: number;
  /** Only when not 4 × the width. */
  visionMlpWidth?: number;
  textMlpWidth?: number;
  /** Only when the text tower's differ from the vision tower's (`act`, `layerNormEps`). */
  textAct?: ClipConfig['text']['act'];
  textLayerNormEps?: number;
  /** Only when not CLIP's. */
  imageMean?: Triple;
  imageStd?: Triple;
}

/** Image normalisation a checkpoint states (absent: CLIP's, src/image/constants.ts). */
export type Normalisation = Partial<Pick<PreprocessConfig, 'mean' | 'std'>>;

/** The nested config (and normalisation) → the manifest's flat form. */
export function toFileConfig(c: ClipConfig, norm: Normalisation = {}): FileConfig {
  const v = c.vision, t = c.text;
  const f: FileConfig = {
    embedDim: c.embedDim, imageResolution: v.resolution, visionLayers: v.layers, visionWidth: v.width, visionHeads: v.heads,
    visionPatchSize: v.patchSize, contextLength: t.contextLength, vocabSize: t.vocabSize, textWidth: t.width, textHeads: t.heads,
    textLayers: t.layers, act: v.act, layerNormEps: v.layerNormEps,
  };
  if (v.mlpWidth !== DEFAULT_MLP_RATIO * v.width) f.visionMlpWidth = v.mlpWidth;
  if (t.mlpWidth !== DEFAULT_MLP_RATIO * t.width) f.textMlpWidth = t.mlpWidth;
  if (t.act !== v.act) f.textAct = t.act;
  if (t.layerNormEps !== v.layerNormEps) f.textLayerNormEps = t.layerNormEps;
  if (norm.mean) f.imageMean = [...norm.mean];
  if (norm.std) f.imageStd = [...norm.std];
  return f;
}

/** The manifest's flat config → the nested config and the stated normalisation. */
export function fromFileConfig(f: FileConfig): { config: ClipConfig; normalisation: Normalisation } {
  const config: ClipConfig = {
    embedDim: f.embedDim,
    vision: {
      layers: f.visionLayers, width: f.visionWidth, heads: f.visionHeads, mlpWidth: f.visionMlpWidth ?? DEFAULT_MLP_RATIO * f.visionWidth,
      act: f.act, layerNormEps: f.layerNormEps, resolution: f.imageResolution, patchSize: f.visionPatchSize,
    },
    text: {
      layers: f.textLayers, width: f.textWidth, heads: f.textHeads, mlpWidth: f.textMlpWidth ?? DEFAULT_MLP_RATIO * f.textWidth,
      act: f.textAct ?? f.act, layerNormEps: f.textLayerNormEps ?? f.layerNormEps, contextLength: f.contextLength, vocabSize: f.vocabSize,
    },
  };
  const normalisation: Normalisation = {};
  if (f.imageMean) normalisation.mean = [...f.imageMean];
  if (f.imageStd) normalisation.std = [...f.imageStd];
  return { config, normalisation };
}

export interface ConvertedManifest {
  format: typeof FORMAT_NAME;
  version: typeof FORMAT_VERSION;
  config: FileConfig;
  source: SourceInfo;
  weightsManifest: WeightsGroup[];
}

export type StorageDtype = 'f16' | 'f32';

const LITTLE_ENDIAN = os.endianness() === 'LE';

function bytesPerElement(spec: WeightSpec): number {
  return spec.quantization?.dtype === 'float16' ? 2 : 4;
}

/** Little-endian bytes of one tensor in the stored dtype. */
function encodeTensor(t: RawTensor, dtype: StorageDtype): Uint8Array {
  const src = t.data;
  if (dtype === 'f32') {
    if (LITTLE_ENDIAN && src instanceof Float32Array) return new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
    const out = new Uint8Array(src.length * 4);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < src.length; i++) dv.setFloat32(i * 4, src[i], true);
    return out;
  }
  const out = new Uint8Array(src.length * 2);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < src.length; i++) dv.setUint16(i * 2, floatToHalf(src[i]), true);
  return out;
}

/** Appends bytes to a stream cut into fixed-size shard files. */
class ShardWriter {
  private readonly buf: Buffer;
  private fill = 0;
  private index = 0;
  readonly paths: string[];
  bytesWritten = 0;

  constructor(private readonly dir: string, totalBytes: number, private readonly shardBytes: number, group = 1) {
    const n = Math.max(1, Math.ceil(totalBytes / shardBytes));
    this.paths = Array.from({ length: n }, (_, i) => `group${group}-shard${i + 1}of${n}.bin`);
    this.buf = Buffer.allocUnsafe(Math.min(shardBytes, Math.max(1, totalBytes)));
  }

  write(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) {
      const n = Math.min(bytes.length - off, this.buf.length - this.fill);
      this.buf.set(bytes.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === this.buf.length) this.flush();
    }
  }

  private flush(): void {
    if (this.index >= this.paths.length) throw new Error('ShardWriter: more bytes than planned');
    fs.writeFileSync(path.join(this.dir, this.paths[this.index++]), this.buf.subarray(0, this.fill));
    this.bytesWritten += this.fill;
    this.fill = 0;
  }

  finish(): void {
    if (this.fill > 0) this.flush();
    if (this.index !== this.paths.length) throw new Error(`ShardWriter: wrote ${this.index} of ${this.paths.length} planned shards`);
  }
}

export interface WriteOptions {
  dtype: StorageDtype;
  shardBytes?: number;
  /** Image normalisation the checkpoint states (stored only when given). */
  normalisation?: Normalisation;
  /** Called after each tensor is written. */
  onTensor?: (name: string, index: number, count: number) => void;
}

/**
 * Write a converted folder's files into `dir` (which must exist and be empty). `get` is called once per
 * tensor, in `specs` order, so the caller can produce and drop tensors one at a time.
 * Returns the number of bytes written (shards + manifest).
 */
export function writeConverted(
  dir: string,
  config: ClipConfig,
  source: SourceInfo,
  specs: { name: string; shape: number[] }[],
  get: (name: string) => RawTensor,
  opts: WriteOptions,
): number {
  const quant = opts.dtype === 'f16' ? { dtype: 'float16' as const } : undefined;
  const weights: WeightSpec[] = specs.map((s) => ({ name: s.name, shape: s.shape.slice(), dtype: 'float32', ...(quant ? { quantization: quant } : {}) }));
  const total = weights.reduce((sum, w) => sum + numel(w.shape) * bytesPerElement(w), 0);
  const writer = new ShardWriter(dir, total, opts.shardBytes ?? DEFAULT_SHARD_BYTES);
  specs.forEach((s, i) => {
    const t = get(s.name);
    if (t.dtype !== 'float32') throw new WeightsFormatError(s.name, `tensor is ${t.dtype}; converted weights are float`);
    if (t.shape.join(',') !== s.shape.join(',') || t.data.length !== numel(s.shape)) {
      throw new WeightsFormatError(s.name, `tensor shape [${t.shape}] differs from the planned [${s.shape}]`);
    }
    writer.write(encodeTensor(t, opts.dtype));
    opts.onTensor?.(s.name, i, specs.length);
  });
  writer.finish();
  const manifest: ConvertedManifest = {
    format: FORMAT_NAME, version: FORMAT_VERSION, config: toFileConfig(config, opts.normalisation), source,
    weightsManifest: [{ paths: writer.paths, weights }],
  };
  const json = JSON.stringify(manifest, null, 1);
  fs.writeFileSync(path.join(dir, MANIFEST_FILE), json);
  return writer.bytesWritten + Buffer.byteLength(json);
}

function isPlainFileName(p: unknown): p is string {
  return typeof p === 'string' && p.length > 0 && p.length < 256 && !/[\\/\0]/.test(p) && p !== '.' && p !== '..';
}

const CONFIG_NUMBERS: (keyof FileConfig)[] = [
  'embedDim', 'imageResolution', 'visionLayers', 'visionWidth', 'visionHeads', 'visionPatchSize',
  'contextLength', 'vocabSize', 'textWidth', 'textHeads', 'textLayers',
];

function isTriple(v: unknown): boolean {
  return Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/** Parse and check `model.json` (structure only; shard sizes are checked by `readConverted`). */
export function parseManifest(json: unknown, label: string): ConvertedManifest {
  const fail = (p: string): never => { throw new WeightsFormatError(label, p); };
  if (!json || typeof json !== 'object' || Array.isArray(json)) fail('manifest is not a JSON object');
  const m = json as Record<string, unknown>;
  if (m.format !== FORMAT_NAME) fail(`format is ${renderValue(m.format)}, expected '${FORMAT_NAME}'`);
  if (m.version !== FORMAT_VERSION) fail(`version ${renderValue(m.version)} is not supported (this library reads version ${FORMAT_VERSION})`);
  const c = m.config as Record<string, unknown>;
  if (!c || typeof c !== 'object') fail('no config object');
  for (const k of CONFIG_NUMBERS) {
    if (!Number.isSafeInteger(c[k]) || (c[k] as number) <= 0) fail(`config.${k} is ${renderValue(c[k])}, not a positive integer`);
  }
  for (const k of ['visionMlpWidth', 'textMlpWidth']) {
    if (c[k] !== undefined && (!Number.isSafeInteger(c[k]) || (c[k] as number) <= 0)) fail(`config.${k} is ${renderValue(c[k])}, not a positive integer`);
  }
  for (const k of ['act', 'textAct']) {
    if ((k === 'act' || c[k] !== undefined) && c[k] !== 'quick_gelu' && c[k] !== 'gelu') fail(`config.${k} is ${renderValue(c[k])}`);
  }
  for (const k of ['layerNormEps', 'textLayerNormEps']) {
    if ((k === 'layerNormEps' || c[k] !== undefined) && (typeof c[k] !== 'number' || !((c[k] as number) > 0))) fail(`config.${k} is ${renderValue(c[k])}`);
  }
  for (const k of ['imageMean', 'imageStd']) {
    if (c[k] !== undefined && !isTriple(c[k])) fail(`config.${k} is ${renderValue(c[k])}, expected three numbers`);
  }
  const problems = configProblems(fromFileConfig(c as unknown as FileConfig).config);
  if (problems.length) fail(`bad config: ${problems.join('; ')}`);
  const s = m.source as Record<string, unknown>;
  if (!s || typeof s !== 'object' || typeof s.name !== 'string' || typeof s.sha256 !== 'string' || typeof s.family !== 'string') {
    fail('source must be {name, sha256, family} strings');
  }
  const groups = m.weightsManifest;
  if (!Array.isArray(groups) || groups.length === 0) fail('weightsManifest is not a non-empty list');
  let nWeights = 0, nPaths = 0;
  for (const g of groups as { paths?: unknown; weights?: unknown }[]) {
    if (g && Array.isArray(g.weights)) nWeights += g.weights.length;
    if (g && Array.isArray(g.paths)) nPaths += g.paths.length;
  }
  if (nWeights > STRUCTURE_LIMITS.maxWeights) fail(`lists ${nWeights} weights, more than the structural limit ${STRUCTURE_LIMITS.maxWeights}`);
  if (nPaths > STRUCTURE_LIMITS.maxShards) fail(`lists ${nPaths} shard files, more than the structural limit ${STRUCTURE_LIMITS.maxShards}`);
  const names = new Set<string>();
  const shardNames = new Set<string>();
  (groups as unknown[]).forEach((g, gi) => {
    const grp = g as Record<string, unknown>;
    if (!grp || typeof grp !== 'object') fail(`weightsManifest[${gi}] is not an object`);
    if (!Array.isArray(grp.paths) || grp.paths.length === 0) fail(`weightsManifest[${gi}].paths is not a non-empty list`);
    for (const p of grp.paths as unknown[]) {
      if (!isPlainFileName(p)) fail(`weightsManifest[${gi}].paths: ${renderValue(p)} is not a plain file name inside the folder`);
      if (shardNames.has(p as string)) fail(`shard '${p as string}' is listed twice`);
      shardNames.add(p as string);
    }
    if (!Array.isArray(grp.weights)) fail(`weightsManifest[${gi}].weights is not a list`);
    for (const w of grp.weights as unknown[]) {
      const ws = w as Record<string, unknown>;
      if (!ws || typeof ws.name !== 'string') fail(`weightsManifest[${gi}]: a weight has no name`);
      const nm = ws.name as string;
      if (names.has(nm)) fail(`weight '${nm}' is listed twice`);
      names.add(nm);
      if (!Array.isArray(ws.shape) || !ws.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) fail(`weight '${nm}': shape ${renderValue(ws.shape)}`);
      if (ws.dtype !== 'float32') fail(`weight '${nm}': dtype ${renderValue(ws.dtype)} (only float32 is used)`);
      const q = ws.quantization as Record<string, unknown> | undefined;
      if (q !== undefined && !(q && q.dtype === 'float16' && Object.keys(q).length === 1)) {
        fail(`weight '${nm}': quantization ${renderValue(q)} is not supported (only {dtype: 'float16'})`);
      }
      if (numel(ws.shape as number[]) * 4 > getLimits().maxTensorBytes) fail(`weight '${nm}' exceeds the limit maxTensorBytes`);
    }
  });
  return json as ConvertedManifest;
}

/** Read the byte range [begin, end) of the concatenation of `files` (sizes known). */
function readRange(files: { fd: number; size: number }[], begin: number, out: Uint8Array): void {
  let fileStart = 0;
  let written = 0;
  for (const f of files) {
    const fileEnd = fileStart + f.size;
    const want = begin + written;
    if (want < fileEnd && written < out.length) {
      const n = Math.min(out.length - written, fileEnd - want);
      let got = 0;
      while (got < n) {
        const r = fs.readSync(f.fd, out, written + got, n - got, want - fileStart + got);
        if (r <= 0) throw new Error('short read');
        got += r;
      }
      written += n;
    }
    fileStart = fileEnd;
    if (written === out.length) return;
  }
}

export function isConvertedFolder(dir: string): boolean {
  const f = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(f)) return false;
  try {
    const j = JSON.parse(readRegularText(f, (p) => new WeightsFormatError(f, p), getLimits().maxHeaderBytes, 'maxHeaderBytes'));
    return j && j.format === FORMAT_NAME;
  } catch {
    return false;
  }
}

/**
 * Unfinished conversions. `convert` writes into `.<out>.partial-<pid>-<hex>` holding a PARTIAL_MARKER file
 * (its pid) and renames the folder to `out` only after verification; a folder with the marker is refused by
 * every reader except the converting process itself (which verifies it), so a conversion killed at any
 * point never leaves a loadable model. Later conversions to the same `out` delete such folders whose
 * process is gone.
 */
export const PARTIAL_MARKER = '.converting';
const converting = new Set<string>();

export function markConverting(dir: string): void {
  fs.writeFileSync(path.join(dir, PARTIAL_MARKER), `${process.pid}\n`);
  converting.add(path.resolve(dir));
}

/** The conversion in `dir` is complete: drop the marker just before the folder is renamed into place. */
export function finishConverting(dir: string): void {
  converting.delete(path.resolve(dir));
  fs.rmSync(path.join(dir, PARTIAL_MARKER), { force: true });
}

export function abandonConverting(dir: string): void {
  converting.delete(path.resolve(dir));
  fs.rmSync(dir, { recursive: true, force: true });
}

function processAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Delete `.<out>.partial-*` folders beside `out` left by conversions whose process no longer runs. */
export function cleanStalePartials(out: string): string[] {
  const parent = path.dirname(path.resolve(out));
  const prefix = `.${path.basename(out)}.partial-`;
  const removed: string[] = [];
  let names: string[] = [];
  try { names = fs.readdirSync(parent); } catch { return removed; }
  for (const n of names) {
    const m = /^(\d+)-[0-9a-f]+$/.exec(n.startsWith(prefix) ? n.slice(prefix.length) : '');
    if (!m) continue;
    const dir = path.join(parent, n);
    let pid = Number(m[1]);
    try { pid = Number(fs.readFileSync(path.join(dir, PARTIAL_MARKER), 'utf8').trim()) || pid; } catch { /* marker gone: use the name's pid */ }
    if (pid === process.pid || processAlive(pid)) continue; // still converting (or a reused pid: leave it)
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

export function readManifest(dir: string): ConvertedManifest {
  const file = path.join(dir, MANIFEST_FILE);
  if (fs.existsSync(path.join(dir, PARTIAL_MARKER)) && !converting.has(path.resolve(dir))) {
    throw new WeightsFormatError(dir, 'is an unfinished conversion (a `convert` was stopped or is still running); convert again or delete it');
  }
  let json: unknown;
  try {
    json = JSON.parse(readRegularText(file, (p) => new WeightsFormatError(file, `cannot read the manifest (${p})`), getLimits().maxHeaderBytes, 'maxHeaderBytes'));
  } catch (e) {
    if (e instanceof WeightsFormatError) throw e;
    throw new WeightsFormatError(file, `cannot read the manifest (${(e as Error).message})`);
  }
  return parseManifest(json, file);
}

/** A converted folder opened for reading: manifest and shard sizes checked, tensors read one at a time. */
export interface OpenConverted {
  manifest: ConvertedManifest;
  config: ClipConfig;
  normalisation: Normalisation;
  specs: WeightSpec[];
  /** Decode one tensor to float32 (a fresh array each call). */
  read(name: string): RawTensor;
  close(): void;
}

/**
 * Open a converted folder: manifest validated, every shard present and each group's shards exactly as
 * large as its weights need. Shard files stay open until `close()`.
 */
export function openConverted(dir: string): OpenConverted {
  const manifest = readManifest(dir);
  const where = new Map<string, { spec: WeightSpec; group: number; offset: number }>();
  const groups: { fd: number; size: number }[][] = [];
  const closeAll = (): void => { for (const g of groups) for (const f of g) fs.closeSync(f.fd); groups.length = 0; };
  try {
    manifest.weightsManifest.forEach((g, gi) => {
      const files: { fd: number; size: number }[] = [];
      groups.push(files);
      for (const p of g.paths) {
        const f = path.join(dir, p);
        files.push(openRegularFile(f, (p) => new WeightsFormatError(f, p === NO_SUCH_FILE ? `shard listed in ${MANIFEST_FILE} is missing` : `shard listed in ${MANIFEST_FILE} ${p}`)));
      }
      const expected = g.weights.reduce((s, w) => s + numel(w.shape) * bytesPerElement(w), 0);
      const actual = files.reduce((s, f) => s + f.size, 0);
      if (actual !== expected) {
        throw new WeightsFormatError(path.join(dir, MANIFEST_FILE),
          `group ${gi + 1}: shards hold ${actual} bytes but the manifest's weights need ${expected}`);
      }
      let offset = 0;
      for (const w of g.weights) {
        where.set(w.name, { spec: w, group: gi, offset });
        offset += numel(w.shape) * bytesPerElement(w);
      }
    });
  } catch (e) {
    closeAll();
    throw e;
  }
  return {
    manifest,
    ...fromFileConfig(manifest.config),
    specs: manifest.weightsManifest.flatMap((g) => g.weights),
    read(name: string): RawTensor {
      const at = where.get(name);
      if (!at) throw new WeightsFormatError(dir, `no weight named '${name}'`);
      const files = groups[at.group];
      if (!files) throw new WeightsFormatError(dir, 'read after close()');
      const n = numel(at.spec.shape);
      let data: Float32Array;
      if (at.spec.quantization?.dtype === 'float16') {
        const raw = new Uint8Array(n * 2);
        readRange(files, at.offset, raw);
        data = decode(raw, 'F16', () => { throw new Error('unreachable'); }) as Float32Array;
      } else {
        data = new Float32Array(n);
        const raw = new Uint8Array(data.buffer);
        readRange(files, at.offset, raw);
        if (!LITTLE_ENDIAN) {
          const dv = new DataView(raw.buffer);
          for (let i = 0; i < n; i++) data[i] = dv.getFloat32(i * 4, true);
        }
      }
      checkFinite(data, path.join(dir, MANIFEST_FILE), name);
      return { dtype: 'float32', shape: at.spec.shape.slice(), data, storedAs: at.spec.quantization ? 'F16' : 'F32' };
    },
    close: closeAll,
  };
}

/** Load a whole converted folder into memory (see `openConverted` for one tensor at a time). */
export function readConverted(dir: string): { manifest: ConvertedManifest; config: ClipConfig; normalisation: Normalisation; weights: TensorMap } {
  const c = openConverted(dir);
  try {
    const weights: TensorMap = new Map();
    for (const s of c.specs) weights.set(s.name, c.read(s.name));
    return { manifest: c.manifest, config: c.config, normalisation: c.normalisation, weights };
  } finally {
    c.close();
  }
}
