/**
 * Checkpoint names → the one canonical layout: the state_dict names of openai/CLIP `clip.model.CLIP`
 * (tables in the reference README). OpenAI and open_clip checkpoints already use these names; Hugging Face
 * `CLIPModel` checkpoints are renamed here (q/k/v joined into in_proj, projections transposed).
 * Also the one place that knows which canonical tensors a config implies, and their shapes.
 */
import { WeightsFormatError } from '../errors';
import { concatRows, transpose2d } from '../tensor/host';
import { ClipConfig, configProblems, PartialClipConfig, TextConfig, VisionConfig } from '../config/clip';
import { inferConfigFromShapes, parseConfigJson } from './config';
import { RawTensor, TensorMap } from './types';

export type CheckpointLayout = 'openai' | 'hf';

export interface CanonicalizeOptions {
  /** File or folder the tensors came from; named in every error. */
  source: string;
  /** A parsed config.json (Hugging Face CLIPConfig, open_clip or openai-style); its geometry must match the shapes. */
  hfConfig?: unknown;
  /** Activation override (default: the config's, else QuickGELU). */
  act?: ClipConfig['vision']['act'];
  /** Head-count overrides (default: the config's, else width / 64 as openai/CLIP `build_model`). */
  heads?: { vision?: number; text?: number };
}

export interface Canonical {
  config: ClipConfig;
  weights: TensorMap;
  layout: CheckpointLayout;
}

/** Names some checkpoints carry that are not weights (buffers, scalars of TorchScript state dicts). */
const IGNORED_OPENAI = new Set(['input_resolution', 'context_length', 'vocab_size', 'attn_mask']);
const IGNORED_HF = /^(text_model|vision_model)\.embeddings\.position_ids$/;

/** Each block tensor's shape from the tower's width w and MLP hidden width h. */
const BLOCK_PARTS: Record<string, (w: number, h: number) => number[]> = {
  'attn.in_proj_weight': (w) => [3 * w, w],
  'attn.in_proj_bias': (w) => [3 * w],
  'attn.out_proj.weight': (w) => [w, w],
  'attn.out_proj.bias': (w) => [w],
  'ln_1.weight': (w) => [w],
  'ln_1.bias': (w) => [w],
  'mlp.c_fc.weight': (w, h) => [h, w],
  'mlp.c_fc.bias': (_w, h) => [h],
  'mlp.c_proj.weight': (w, h) => [w, h],
  'mlp.c_proj.bias': (w) => [w],
  'ln_2.weight': (w) => [w],
  'ln_2.bias': (w) => [w],
};

export const VISION_BLOCK_PREFIX = 'visual.transformer.resblocks.';
export const TEXT_BLOCK_PREFIX = 'transformer.resblocks.';

/** Every canonical tensor a config implies, with its shape, in the reference's order. */
export function canonicalShapes(c: ClipConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const wv = c.vision.width, wt = c.text.width, p = c.vision.patchSize;
  const grid = c.vision.resolution / p;
  m.set('visual.conv1.weight', [wv, 3, p, p]);
  m.set('visual.class_embedding', [wv]);
  m.set('visual.positional_embedding', [1 + grid * grid, wv]);
  m.set('visual.ln_pre.weight', [wv]);
  m.set('visual.ln_pre.bias', [wv]);
  for (let i = 0; i < c.vision.layers; i++) {
    for (const [k, f] of Object.entries(BLOCK_PARTS)) m.set(`${VISION_BLOCK_PREFIX}${i}.${k}`, f(wv, c.vision.mlpWidth));
  }
  m.set('visual.ln_post.weight', [wv]);
  m.set('visual.ln_post.bias', [wv]);
  m.set('visual.proj', [wv, c.embedDim]);
  m.set('token_embedding.weight', [c.text.vocabSize, wt]);
  m.set('positional_embedding', [c.text.contextLength, wt]);
  for (let i = 0; i < c.text.layers; i++) {
    for (const [k, f] of Object.entries(BLOCK_PARTS)) m.set(`${TEXT_BLOCK_PREFIX}${i}.${k}`, f(wt, c.text.mlpWidth));
  }
  m.set('ln_final.weight', [wt]);
  m.set('ln_final.bias', [wt]);
  m.set('text_projection', [wt, c.embedDim]);
  m.set('logit_scale', []);
  return m;
}

/** A canonical tensor as found in the checkpoint: its source names, shape, and how to build its data. */
interface Pending {
  from: string[];
  shape: number[];
  dtypeOk: boolean;
  build(): RawTensor;
}

// ---------------------------------------------------------------- Hugging Face → canonical
const HF_SIMPLE: [RegExp, string, boolean?][] = [
  // [pattern, replacement, transpose]
  [/^text_model\.embeddings\.token_embedding\.weight$/, 'token_embedding.weight'],
  [/^text_model\.embeddings\.position_embedding\.weight$/, 'positional_embedding'],
  [/^text_model\.final_layer_norm\.(weight|bias)$/, 'ln_final.$1'],
  [/^text_projection\.weight$/, 'text_projection', true],
  [/^vision_model\.embeddings\.class_embedding$/, 'visual.class_embedding'],
  [/^vision_model\.embeddings\.patch_embedding\.weight$/, 'visual.conv1.weight'],
  [/^vision_model\.embeddings\.position_embedding\.weight$/, 'visual.positional_embedding'],
  [/^vision_model\.pre_layrnorm\.(weight|bias)$/, 'visual.ln_pre.$1'],
  [/^vision_model\.post_layernorm\.(weight|bias)$/, 'visual.ln_post.$1'],
  [/^visual_projection\.weight$/, 'visual.proj', true],
  [/^logit_scale$/, 'logit_scale'],
];
const HF_LAYER = /^(text_model|vision_model)\.encoder\.layers\.(\d+)\.(.+)$/;
const HF_LAYER_PARTS: Record<string, string> = {
  'self_attn.out_proj.weight': 'attn.out_proj.weight',
  'self_attn.out_proj.bias': 'attn.out_proj.bias',
  'layer_norm1.weight': 'ln_1.weight',
  'layer_norm1.bias': 'ln_1.bias',
  'layer_norm2.weight': 'ln_2.weight',
  'layer_norm2.bias': 'ln_2.bias',
  'mlp.fc1.weight': 'mlp.c_fc.weight',
  'mlp.fc1.bias': 'mlp.c_fc.bias',
  'mlp.fc2.weight': 'mlp.c_proj.weight',
  'mlp.fc2.bias': 'mlp.c_proj.bias',
};
const HF_QKV = /^self_attn\.([qkv])_proj\.(weight|bias)$/;

/** The Hugging Face name(s) of a canonical tensor, for error messages. */
function hfNamesOf(canonical: string): string[] {
  const m = /^(visual\.)?transformer\.resblocks\.(\d+)\.(.+)$/.exec(canonical);
  if (m) {
    const tower = m[1] ? 'vision_model' : 'text_model';
    const pre = `${tower}.encoder.layers.${m[2]}.`;
    const qkv = /^attn\.in_proj_(weight|bias)$/.exec(m[3]);
    if (qkv) return ['q', 'k', 'v'].map((x) => `${pre}self_attn.${x}_proj.${qkv[1]}`);
    const hf = Object.entries(HF_LAYER_PARTS).find(([, c]) => c === m[3]);
    return [hf ? pre + hf[0] : canonical];
  }
  for (const [re, rep] of HF_SIMPLE) {
    const src = re.source.replace(/^\^|\$$/g, '').replace(/\\\./g, '.');
    const group = /\((weight\|bias)\)/.exec(src);
    if (group) {
      const suffix = canonical.split('.').pop()!;
      if (rep.replace('$1', suffix) === canonical) return [src.replace('(weight|bias)', suffix)];
    } else if (rep === canonical) return [src];
  }
  return [canonical];
}

function raw(name: string, t: RawTensor): Pending {
  return { from: [name], shape: t.shape, dtypeOk: t.dtype === 'float32', build: () => t };
}

function transposed(name: string, t: RawTensor): Pending {
  const ok = t.shape.length === 2;
  return {
    from: [name],
    shape: ok ? [t.shape[1], t.shape[0]] : t.shape,
    dtypeOk: t.dtype === 'float32',
    build: () => ({ dtype: 'float32', shape: [t.shape[1], t.shape[0]], storedAs: t.storedAs,
      data: transpose2d(t.data as Float32Array, t.shape[0], t.shape[1]) }),
  };
}

function collectHf(tensors: TensorMap, pending: Map<string, Pending>, unexpected: string[], missing: string[]): void {
  const qkv = new Map<string, Partial<Record<'q' | 'k' | 'v', [string, RawTensor]>>>();
  for (const [name, t] of tensors) {
    if (IGNORED_HF.test(name)) continue;
    const simple = HF_SIMPLE.find(([re]) => re.test(name));
    if (simple) {
      const canon = name.replace(simple[0], simple[1]);
      pending.set(canon, simple[2] ? transposed(name, t) : raw(name, t));
      continue;
    }
    const m = HF_LAYER.exec(name);
    if (m) {
      const pre = `${m[1] === 'vision_model' ? 'visual.' : ''}transformer.resblocks.${m[2]}.`;
      const q = HF_QKV.exec(m[3]);
      if (q) {
        const canon = `${pre}attn.in_proj_${q[2]}`;
        const g = qkv.get(canon) ?? {};
        g[q[1] as 'q' | 'k' | 'v'] = [name, t];
        qkv.set(canon, g);
        continue;
      }
      if (m[3] in HF_LAYER_PARTS) {
        pending.set(pre + HF_LAYER_PARTS[m[3]], raw(name, t));
        continue;
      }
    }
    unexpected.push(name);
  }
  for (const [canon, g] of qkv) {
    const parts = (['q', 'k', 'v'] as const).map((x) => g[x]);
    if (parts.some((p) => !p)) {
      const names = hfNamesOf(canon);
      parts.forEach((p, i) => { if (!p) missing.push(names[i]); });
      continue;
    }
    const ps = parts as [string, RawTensor][];
    const s0 = ps[0][1].shape;
    const same = ps.every(([, t]) => t.shape.length === s0.length && t.shape.every((d, i) => d === s0[i]));
    pending.set(canon, {
      from: ps.map(([n]) => n),
      // Inconsistent parts get a shape no config can expect, so the shape check reports them.
      shape: same ? [3 * s0[0], ...s0.slice(1)] : [-1],
      dtypeOk: ps.every(([, t]) => t.dtype === 'float32'),
      build: () => ({ dtype: 'float32', shape: [3 * s0[0], ...s0.slice(1)], storedAs: ps[0][1].storedAs,
        data: concatRows(ps.map(([, t]) => t.data as Float32Array)) }),
    });
  }
}

function collectOpenai(tensors: TensorMap, pending: Map<string, Pending>): void {
  for (const [name, t] of tensors) {
    // open_clip checkpoints saved from DataParallel prefix every name with `module.`.
    const canon = name.startsWith('module.') ? name.slice(7) : name;
    if (IGNORED_OPENAI.has(canon)) continue;
    pending.set(canon, raw(name, t));
  }
}

/** Which naming a checkpoint uses, from its tensor names. */
export function detectLayout(names: Iterable<string>): CheckpointLayout {
  for (const n of names) {
    if (n.startsWith('vision_model.') || n.startsWith('text_model.') || n === 'visual_projection.weight') return 'hf';
  }
  return 'openai';
}

function layerCount(names: Iterable<string>, prefix: string): number {
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}(\\d+)\\.`);
  let n = 0;
  for (const name of names) {
    const m = re.exec(name);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/** Tensors whose shapes decide the geometry. */
const KEY_TENSORS: Record<string, number> = {
  'visual.conv1.weight': 4, 'visual.positional_embedding': 2, 'ln_final.weight': 1,
  'text_projection': 2, 'token_embedding.weight': 2, 'positional_embedding': 2,
};

function listed(names: string[], max = 20): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} … (${names.length} in all)` : shown;
}

/**
 * Rename a checkpoint's tensors to the canonical layout, work out (or check) the config, and validate that
 * exactly the expected tensors are present with consistent shapes.
 * @throws WeightsFormatError naming `opts.source` and every missing / unexpected / mis-shaped tensor.
 */
export function canonicalize(tensors: TensorMap, opts: CanonicalizeOptions): Canonical {
  const { source } = opts;
  const fail = (p: string): never => { throw new WeightsFormatError(source, p); };
  const layout = detectLayout(tensors.keys());
  const pending = new Map<string, Pending>();
  const unexpected: string[] = [];
  const missing: string[] = [];
  if (layout === 'hf') collectHf(tensors, pending, unexpected, missing);
  else collectOpenai(tensors, pending);
  const nameInSource = (canon: string): string[] => (layout === 'hf' ? hfNamesOf(canon) : [canon]);

  const keyMissing = Object.keys(KEY_TENSORS).filter((k) => !pending.has(k));
  if (keyMissing.length) {
    fail(`missing tensors: ${listed([...missing, ...keyMissing.flatMap(nameInSource)])}` +
      (unexpected.length ? `; unexpected tensors: ${listed(unexpected)}` : '') + ` (is this a ${layout === 'hf' ? 'Hugging Face CLIPModel' : 'CLIP ViT'} checkpoint?)`);
  }
  for (const [k, rank] of Object.entries(KEY_TENSORS)) {
    const s = pending.get(k)!.shape;
    if (s.length !== rank) fail(`tensor '${pending.get(k)!.from.join("', '")}' has shape [${s}], expected rank ${rank}`);
  }
  const inferred = inferConfigFromShapes((n) => pending.get(n)?.shape, (p) => layerCount(pending.keys(), p));
  let fromFile: PartialClipConfig = {};
  if (opts.hfConfig !== undefined) fromFile = parseConfigJson(opts.hfConfig, source);
  // The shapes are the truth for sizes; a config file only decides what shapes cannot tell (heads, act, eps).
  const conflicts: string[] = [];
  if (fromFile.embedDim !== undefined && fromFile.embedDim !== inferred.embedDim) {
    conflicts.push(`embedDim: config says ${fromFile.embedDim}, tensors imply ${inferred.embedDim}`);
  }
  const sizes = {
    vision: ['layers', 'width', 'mlpWidth', 'resolution', 'patchSize'] as (keyof VisionConfig)[],
    text: ['layers', 'width', 'mlpWidth', 'contextLength', 'vocabSize'] as (keyof TextConfig)[],
  };
  for (const tower of ['vision', 'text'] as const) {
    const stated = (fromFile[tower] ?? {}) as Record<string, unknown>, implied = inferred[tower] as unknown as Record<string, unknown>;
    for (const k of sizes[tower]) {
      if (k === 'mlpWidth' && stated.width === undefined) continue; // a ratio without its width says nothing
      if (stated[k] !== undefined && stated[k] !== implied[k]) conflicts.push(`${tower}.${k}: config says ${stated[k]}, tensors imply ${implied[k]}`);
    }
  }
  if (conflicts.length) fail(`config does not match the tensors (${conflicts.join('; ')})`);
  const tower = <T extends VisionConfig | TextConfig>(name: 'vision' | 'text', inf: T): T => ({
    ...inf,
    ...(fromFile[name] ?? {}),
    heads: opts.heads?.[name] ?? fromFile[name]?.heads ?? inf.heads,
    act: opts.act ?? fromFile[name]?.act ?? inf.act,
  });
  const config: ClipConfig = { embedDim: inferred.embedDim, vision: tower('vision', inferred.vision), text: tower('text', inferred.text) };
  const problems = configProblems(config);
  if (problems.length) fail(`inconsistent geometry: ${problems.join('; ')}`);

  const expected = canonicalShapes(config);
  for (const name of expected.keys()) if (!pending.has(name)) missing.push(...nameInSource(name));
  for (const [name, p] of pending) if (!expected.has(name)) unexpected.push(...p.from);
  if (missing.length || unexpected.length) {
    fail([missing.length ? `missing tensors: ${listed(missing)}` : '', unexpected.length ? `unexpected tensors: ${listed(unexpected)}` : '']
      .filter(Boolean).join('; '));
  }
  const bad: string[] = [];
  for (const [name, shape] of expected) {
    const p = pending.get(name)!;
    const s = name === 'logit_scale' && p.shape.length === 1 && p.shape[0] === 1 ? [] : p.shape;
    if (s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
      bad.push(`'${p.from.join("', '")}' has shape [${p.shape}], expected [${shape}]`);
    }
    if (!p.dtypeOk) bad.push(`'${p.from.join("', '")}' is an integer tensor, expected floating point`);
  }
  if (bad.length) fail(`inconsistent shapes: ${listed(bad, 10)}`);

  const weights: TensorMap = new Map();
  for (const [name, shape] of expected) {
    const t = pending.get(name)!.build();
    weights.set(name, { ...t, shape: [...shape] });
  }
  return { config, weights, layout };
}
