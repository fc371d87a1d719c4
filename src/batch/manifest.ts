/**
 * The manifest of a batch output folder: what produced it (inputs, model content hash, options, code version)
 * and how it is split into shards. The first process to start a job creates it; every later process (a rerun,
 * another `--shard i/n`, a queue worker) must find the same one, or it refuses to mix its outputs in.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { resolveModelPath } from '../clip/load';
import { InputError } from '../errors';
import { hashFileInto } from '../io/content-hash';
import { packageRoot } from '../package-root';
import { createExclusive } from './atomic';

/** Bumped whenever the layout or the content of shards changes. */
export const BATCH_FORMAT_VERSION = 1;
export const MANIFEST = 'manifest.json';

export interface ModelIdentity {
  /** As given (`toy-shapes`, a folder, a file). */
  name: string;
  /** sha256 of the source checkpoint recorded by `convert`, or of the weight files. */
  sha256: string;
  hashOf: 'source checkpoint' | 'weight files';
}

export interface Manifest {
  format: 'abe-clip-batch';
  version: number;
  kind: 'embed' | 'score';
  code: string;
  model: ModelIdentity;
  /** Everything else that changes the numbers or the layout. */
  options: Record<string, unknown>;
  inputs: { description: string; count: number; sha256: string };
  shardSize: number;
  shards: number;
  /** Per-kind plan data (e.g. byte offsets of each shard in a pairs file). */
  plan?: Record<string, unknown>;
}

export function codeVersion(): string {
  const version = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version;
  return `abe-clip ${version} batch-format ${BATCH_FORMAT_VERSION}`;
}

/** The model's content identity: the converted manifest's source sha256 when present, else a hash of its files. */
export function modelIdentity(weights: string): ModelIdentity {
  const p = resolveModelPath(weights);
  const st = fs.statSync(p);
  if (st.isDirectory() && fs.existsSync(path.join(p, 'model.json'))) {
    const j = JSON.parse(fs.readFileSync(path.join(p, 'model.json'), 'utf8')) as { source?: { sha256?: unknown } };
    if (typeof j.source?.sha256 === 'string' && /^[0-9a-f]{64}$/.test(j.source.sha256)) {
      return { name: weights, sha256: j.source.sha256, hashOf: 'source checkpoint' };
    }
  }
  const h = crypto.createHash('sha256');
  const files = st.isDirectory()
    ? fs
        .readdirSync(p)
        .filter((f) => /\.(json|bin|safetensors|pt|pth)$/.test(f))
        .sort()
        .map((f) => path.join(p, f))
    : [p];
  for (const f of files) {
    h.update(path.basename(f) + '\0');
    hashFileInto(h, f);
  }
  return { name: weights, sha256: h.digest('hex'), hashOf: 'weight files' };
}

/** A value for a one-line message: objects by their keys, long text cut. */
function short(v: unknown): string {
  if (v && typeof v === 'object' && !Array.isArray(v)) return `{${Object.keys(v).join(', ')}}`;
  const t = JSON.stringify(v) ?? 'none';
  return t.length > 60 ? t.slice(0, 57) + '…' : t;
}

/** What differs between two manifests, for the refusal message ('' when they agree). */
export function manifestDiff(a: Manifest, b: Manifest): string {
  const diffs: string[] = [];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof Manifest>;
  for (const k of keys) {
    if (k === 'model') {
      if (a.model?.sha256 !== b.model?.sha256)
        diffs.push(`model (${a.model?.name} ${a.model?.sha256?.slice(0, 12)} vs ${b.model?.name} ${b.model?.sha256?.slice(0, 12)})`);
      continue;
    }
    if (k === 'options' && a.options && b.options) {
      for (const o of new Set([...Object.keys(a.options), ...Object.keys(b.options)])) {
        if (JSON.stringify(a.options[o]) !== JSON.stringify(b.options[o]))
          diffs.push(`option ${o} (${short(a.options[o])} vs ${short(b.options[o])})`);
      }
      continue;
    }
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k]))
      diffs.push(k === 'inputs' ? `inputs (${a.inputs?.description} vs ${b.inputs?.description})` : k);
  }
  return diffs.join(', ');
}

export function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST);
  if (!fs.existsSync(file)) throw new InputError(dir, `no ${MANIFEST}: not a batch output folder (or nothing was started there)`);
  let j: Manifest;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(file, `is not valid JSON: ${(e as Error).message}`);
  }
  if (j.format !== 'abe-clip-batch') throw new InputError(file, 'is not an abe-clip batch manifest');
  if (j.version !== BATCH_FORMAT_VERSION) throw new InputError(file, `batch format ${j.version}; this build reads ${BATCH_FORMAT_VERSION}`);
  return j;
}

/**
 * Create the folder's manifest, or check that the existing one is the same job. A different model, options,
 * inputs or code version is refused with what differs: mixing them would give a table no one could trust.
 */
export function openManifest(dir: string, m: Manifest): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, MANIFEST);
  if (createExclusive(file, JSON.stringify(m, null, 1) + '\n')) return;
  const old = readManifest(dir);
  const d = manifestDiff(old, m);
  if (d) throw new InputError(dir, `holds the outputs of a different job (differs in: ${d}); use another --out folder or delete this one`);
}
