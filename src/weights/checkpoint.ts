/**
 * One entry point for every checkpoint layout a CLIP user holds: a `.safetensors` file, a PyTorch zip
 * (`.pt`/`.bin`, torch.save or TorchScript), or a folder (Hugging Face: `config.json` + `model.safetensors`
 * [sharded with `model.safetensors.index.json`] or `pytorch_model.bin` [sharded]; open_clip:
 * `open_clip_config.json` + `open_clip_model.safetensors` / `open_clip_pytorch_model.bin`; or a folder holding
 * a single weights file). Tensors keep their source names; turning them into canonical names is `names.ts`'s job.
 * Tensors are read on demand, one at a time.
 */
import * as fs from 'fs';
import * as path from 'path';
import { WeightsFormatError } from '../errors';
import { readRegularText } from '../io/regular-file';
import { getLimits } from '../limits';
import { StoredDtype } from './dtype';
import { SafetensorsFile } from './safetensors';
import { isLegacyTorchFile, TorchCheckpoint } from './torch';
import { RawTensor, TensorMap } from './types';
import { looksLikeZip } from './zip';
import { renderValue } from '../io/render';

/** Anything we can list and read tensors from. */
export interface TensorSource {
  readonly label: string;
  readonly names: string[];
  shape(name: string): number[] | undefined;
  storedDtype(name: string): StoredDtype | undefined;
  read(name: string): RawTensor;
  close(): void;
}

export type CheckpointFormat = 'safetensors' | 'torch' | 'torchscript';

export interface Checkpoint extends TensorSource {
  format: CheckpointFormat;
  /** Which producer's layout the files say they are (a hint; names decide in the end). */
  layout: 'hf' | 'open_clip' | 'plain';
  /** Weight files read, in order (hashing, sizes). */
  files: string[];
  inputBytes: number;
  /**
   * The geometry config that came with the weights, for `canonicalize`: a folder's `config.json` (Hugging Face
   * CLIPConfig or openai-style), open_clip's `model_cfg`, or a safetensors file's `__metadata__.config`.
   */
  fileConfig?: unknown;
  /** Where `fileConfig` came from. */
  configSource?: string;
  /** Parsed `open_clip_config.json`. */
  openClipConfig?: OpenClipConfigFile;
  /** Activation the accompanying config asks for (open_clip: GELU unless `quick_gelu`; HF: `hidden_act`). */
  act?: 'quick_gelu' | 'gelu';
  imageMean?: [number, number, number];
  imageStd?: [number, number, number];
  readAll(): TensorMap;
}

export interface OpenClipConfigFile {
  model_cfg?: {
    embed_dim?: number;
    quick_gelu?: boolean;
    vision_cfg?: Record<string, unknown>;
    text_cfg?: Record<string, unknown>;
  };
  preprocess_cfg?: { mean?: number[]; std?: number[] };
}

function sourceOfSafetensors(f: SafetensorsFile): TensorSource {
  return {
    label: f.label,
    names: f.names,
    shape: (n) => f.entry(n)?.shape.slice(),
    storedDtype: (n) => f.entry(n)?.dtype,
    read: (n) => f.read(n),
    close: () => f.close(),
  };
}

/** openai-style writers (the reference data among them) put the constructor arguments in the metadata. */
function metadataConfig(f: SafetensorsFile): unknown {
  const c = f.metadata.config;
  if (typeof c !== 'string') return undefined;
  try {
    const j = JSON.parse(c);
    return j && typeof j === 'object' && !Array.isArray(j) ? j : undefined;
  } catch {
    return undefined;
  }
}

function sourceOfTorch(c: TorchCheckpoint): TensorSource {
  return {
    label: c.label,
    names: c.names,
    shape: (n) => c.shape(n),
    storedDtype: (n) => c.storedDtype(n),
    read: (n) => c.read(n),
    close: () => c.close(),
  };
}

function openWeightsFile(file: string): { src: TensorSource; format: CheckpointFormat; metadataConfig?: unknown } {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new WeightsFormatError(file, 'no such file');
  }
  if (!st.isFile()) throw new WeightsFormatError(file, 'not a regular file');
  if (file.endsWith('.safetensors')) {
    const f = SafetensorsFile.open(file);
    return { src: sourceOfSafetensors(f), format: 'safetensors', metadataConfig: metadataConfig(f) };
  }
  if (looksLikeZip(file)) {
    const c = TorchCheckpoint.open(file);
    return { src: sourceOfTorch(c), format: c.kind === 'torchscript' ? 'torchscript' : 'torch' };
  }
  if (isLegacyTorchFile(file)) {
    throw new WeightsFormatError(file, 'legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with a recent PyTorch or as safetensors');
  }
  // A .safetensors-format file under another name still opens by content.
  try {
    return { src: sourceOfSafetensors(SafetensorsFile.open(file)), format: 'safetensors' };
  } catch {
    throw new WeightsFormatError(file, 'not a safetensors file, a PyTorch zip checkpoint or a TorchScript archive');
  }
}

/** Several files presented as one source, each tensor routed to its file (sharded checkpoints). */
function composite(label: string, parts: TensorSource[], route: Map<string, number>): TensorSource {
  const part = (n: string): TensorSource | undefined => {
    const i = route.get(n);
    return i === undefined ? undefined : parts[i];
  };
  return {
    label,
    names: [...route.keys()],
    shape: (n) => part(n)?.shape(n),
    storedDtype: (n) => part(n)?.storedDtype(n),
    read: (n) => {
      const p = part(n);
      if (!p) throw new WeightsFormatError(label, `no tensor named '${n}'`);
      return p.read(n);
    },
    close: () => { for (const p of parts) p.close(); },
  };
}

function readJson(file: string): unknown {
  const text = readRegularText(file, (p) => new WeightsFormatError(file, p), getLimits().maxHeaderBytes, 'maxHeaderBytes');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new WeightsFormatError(file, `not valid JSON (${(e as Error).message})`);
  }
}

/** A shard path from an index file, refused unless it stays inside the index's folder (lexically). */
export function shardPathInside(dir: string, rel: unknown, indexFile: string): string {
  if (typeof rel !== 'string' || rel.length === 0) throw new WeightsFormatError(indexFile, `shard path ${renderValue(rel)} is not a file name`);
  if (path.isAbsolute(rel) || path.win32.isAbsolute(rel) || rel.includes('\0')) {
    throw new WeightsFormatError(indexFile, `shard path '${rel}' is absolute; shards must be inside ${dir}`);
  }
  const resolved = path.resolve(dir, rel);
  const r = path.relative(path.resolve(dir), resolved);
  if (r === '' || r.startsWith('..') || path.isAbsolute(r) || rel.split(/[\\/]/).includes('..')) {
    throw new WeightsFormatError(indexFile, `shard path '${rel}' points outside its folder ${dir}`);
  }
  return resolved;
}

function openIndexed(dir: string, indexFile: string): { src: TensorSource; format: CheckpointFormat; files: string[] } {
  const idx = readJson(indexFile) as { weight_map?: unknown };
  const wm = idx?.weight_map;
  if (!wm || typeof wm !== 'object' || Array.isArray(wm)) throw new WeightsFormatError(indexFile, 'no weight_map object');
  const files: string[] = [];
  const fileIndex = new Map<string, number>();
  const route = new Map<string, number>();
  for (const [name, rel] of Object.entries(wm as Record<string, unknown>)) {
    const file = shardPathInside(dir, rel, indexFile);
    let i = fileIndex.get(file);
    if (i === undefined) {
      if (!fs.existsSync(file)) throw new WeightsFormatError(indexFile, `shard '${rel as string}' (for '${name}') is missing`);
      i = files.length;
      files.push(file);
      fileIndex.set(file, i);
    }
    route.set(name, i);
  }
  if (files.length === 0) throw new WeightsFormatError(indexFile, 'weight_map is empty');
  const parts: TensorSource[] = [];
  let format: CheckpointFormat = 'safetensors';
  try {
    for (const f of files) {
      const o = openWeightsFile(f);
      parts.push(o.src);
      format = o.format;
    }
  } catch (e) {
    for (const p of parts) p.close();
    throw e;
  }
  for (const [name, i] of route) {
    if (parts[i].shape(name) === undefined) {
      for (const p of parts) p.close();
      throw new WeightsFormatError(files[i], `tensor '${name}' listed in ${path.basename(indexFile)} is not in this shard`);
    }
  }
  return { src: composite(dir, parts, route), format, files };
}

function asTriple(v: unknown): [number, number, number] | undefined {
  return Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x))
    ? [v[0], v[1], v[2]] : undefined;
}

function describeFolder(dir: string): string {
  let list: string[] = [];
  try { list = fs.readdirSync(dir); } catch { /* reported by the caller */ }
  return list.length ? list.slice(0, 12).join(', ') + (list.length > 12 ? ', …' : '') : '(empty)';
}

function openFolder(dir: string): Omit<Checkpoint, 'readAll'> {
  const has = (f: string): boolean => fs.existsSync(path.join(dir, f));
  const at = (f: string): string => path.join(dir, f);
  let fileConfig: unknown;
  let configSource: string | undefined;
  let hfConfig: Record<string, unknown> | undefined;
  let openClipConfig: OpenClipConfigFile | undefined;
  let layout: Checkpoint['layout'] = 'plain';
  let act: Checkpoint['act'];
  let imageMean: Checkpoint['imageMean'];
  let imageStd: Checkpoint['imageStd'];
  if (has('config.json')) {
    const c = readJson(at('config.json')) as Record<string, unknown>;
    if (!c || typeof c !== 'object' || Array.isArray(c)) throw new WeightsFormatError(at('config.json'), 'not a JSON object');
    fileConfig = c;
    configSource = at('config.json');
    if ('model_type' in c || 'text_config' in c || 'vision_config' in c) {
      hfConfig = c;
      layout = 'hf';
      if (c.model_type !== undefined && c.model_type !== 'clip') {
        throw new WeightsFormatError(at('config.json'), `model_type ${renderValue(c.model_type)} is not supported (only CLIP ViT models)`);
      }
    }
  }
  let candidates: string[];
  if (has('open_clip_config.json')) {
    openClipConfig = readJson(at('open_clip_config.json')) as OpenClipConfigFile;
    layout = 'open_clip';
    const mc = openClipConfig?.model_cfg;
    if (!mc || typeof mc !== 'object') throw new WeightsFormatError(at('open_clip_config.json'), 'no model_cfg');
    if (mc.text_cfg && ('hf_model_name' in mc.text_cfg)) {
      throw new WeightsFormatError(at('open_clip_config.json'), `text tower ${renderValue(mc.text_cfg.hf_model_name)} (a Hugging Face text model) is not supported`);
    }
    if (mc.vision_cfg && ('timm_model_name' in mc.vision_cfg) && mc.vision_cfg.timm_model_name) {
      throw new WeightsFormatError(at('open_clip_config.json'), `vision tower ${renderValue(mc.vision_cfg.timm_model_name)} (a timm model) is not supported`);
    }
    // open_clip's CLIP uses nn.GELU unless the config says quick_gelu (OpenAI-trained weights).
    act = mc.quick_gelu ? 'quick_gelu' : 'gelu';
    fileConfig = mc;
    configSource = at('open_clip_config.json');
    imageMean = asTriple(openClipConfig.preprocess_cfg?.mean);
    imageStd = asTriple(openClipConfig.preprocess_cfg?.std);
    candidates = ['open_clip_model.safetensors', 'open_clip_pytorch_model.bin'];
  } else {
    candidates = ['model.safetensors.index.json', 'model.safetensors', 'pytorch_model.bin.index.json', 'pytorch_model.bin'];
  }
  if (!openClipConfig && has('preprocessor_config.json')) {
    // Hugging Face's CLIPImageProcessor settings: the normalisation the model was trained with.
    const pc = readJson(at('preprocessor_config.json')) as { image_mean?: unknown; image_std?: unknown } | null;
    if (!pc || typeof pc !== 'object' || Array.isArray(pc)) throw new WeightsFormatError(at('preprocessor_config.json'), 'not a JSON object');
    for (const [k, v] of [['image_mean', pc.image_mean], ['image_std', pc.image_std]] as const) {
      const t = asTriple(v);
      if (v !== undefined && (!t || (k === 'image_std' && t.some((x) => x <= 0)))) {
        throw new WeightsFormatError(at('preprocessor_config.json'), `${k} must be 3 finite numbers${k === 'image_std' ? ' > 0' : ''}, got ${renderValue(v)}`);
      }
    }
    imageMean = asTriple(pc.image_mean);
    imageStd = asTriple(pc.image_std);
  }
  if (hfConfig && !act) {
    const h = hfConfig as { text_config?: { hidden_act?: unknown }; vision_config?: { hidden_act?: unknown } };
    const a = h.vision_config?.hidden_act ?? h.text_config?.hidden_act;
    if (a === 'gelu' || a === 'quick_gelu') act = a;
    else if (a !== undefined) throw new WeightsFormatError(at('config.json'), `hidden_act ${renderValue(a)} is not supported`);
  }
  let chosen = candidates.find(has);
  if (!chosen) {
    // Fall back to a folder holding exactly one weights file.
    const files = fs.readdirSync(dir).filter((f) => /\.(safetensors|pt|bin|pth)$/.test(f));
    if (files.length === 1) chosen = files[0];
    else {
      throw new WeightsFormatError(dir, files.length
        ? `holds several weight files (${files.join(', ')}) and no index or known file name`
        : `no checkpoint found (expected model.safetensors, pytorch_model.bin, open_clip_model.safetensors, model.json…; found ${describeFolder(dir)})`);
    }
  }
  let src: TensorSource;
  let format: CheckpointFormat;
  let files: string[];
  if (chosen.endsWith('.index.json')) {
    ({ src, format, files } = openIndexed(dir, at(chosen)));
  } else {
    let meta: unknown;
    ({ src, format, metadataConfig: meta } = openWeightsFile(at(chosen)));
    files = [at(chosen)];
    if (fileConfig === undefined && meta !== undefined) {
      fileConfig = meta;
      configSource = `${at(chosen)} (__metadata__.config)`;
    }
  }
  const inputBytes = files.reduce((s, f) => s + fs.statSync(f).size, 0);
  return {
    ...src, label: dir, names: src.names, shape: src.shape, storedDtype: src.storedDtype, read: src.read, close: src.close,
    format, layout, files, inputBytes, fileConfig, configSource, openClipConfig, act, imageMean, imageStd,
  };
}

/** Open a checkpoint file or folder. The caller closes it. */
export function openCheckpoint(input: string): Checkpoint {
  let st: fs.Stats;
  try {
    st = fs.statSync(input);
  } catch {
    throw new WeightsFormatError(input, 'no such file or folder');
  }
  let base: Omit<Checkpoint, 'readAll'>;
  if (st.isDirectory()) {
    base = openFolder(input);
  } else {
    const { src, format, metadataConfig: meta } = openWeightsFile(input);
    base = {
      label: input, names: src.names, shape: src.shape, storedDtype: src.storedDtype, read: src.read, close: src.close,
      format, layout: 'plain', files: [input], inputBytes: st.size,
      ...(meta !== undefined ? { fileConfig: meta, configSource: `${input} (__metadata__.config)` } : {}),
    };
  }
  return {
    ...base,
    readAll(): TensorMap {
      const out: TensorMap = new Map();
      for (const n of base.names) out.set(n, base.read(n));
      return out;
    },
  };
}

/** Open, read every tensor, close. */
export function readCheckpoint(input: string): { tensors: TensorMap; checkpoint: Omit<Checkpoint, 'read' | 'readAll'> } {
  const c = openCheckpoint(input);
  try {
    return { tensors: c.readAll(), checkpoint: c };
  } finally {
    c.close();
  }
}
