/**
 * Reusable per-image features (host arrays, so they cost no GPU memory between calls and can be cached on
 * disk) and their caches: in memory (bounded, oldest out first) and optionally on disk, keyed by the image's
 * content hash and the model's identity.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** The regions of one image for one region configuration (see regions.ts). */
export interface ImageRegions {
  /** Foreground patches before dilation, [P] 0/1. */
  foreground: Uint8Array;
  /** One [P] 0/1 mask per region, largest first. */
  masks: Uint8Array[];
  /** Normalised embedding of each region (masked image, or its token-subset pass), [count·E]. */
  embeds: Float32Array;
}

export interface ImageFeatures {
  /** sha256 of the image's float32 pixel bytes. */
  readonly key: string;
  /** Embedding size E and patches P. */
  readonly E: number;
  readonly P: number;
  /** Normalised g_I, [E]. */
  readonly embed: Float32Array;
  /** Normalised patch features by patch key (`tokens@l`, `value`, `selfself`), each [P·E]. */
  readonly patches: Record<string, Float32Array>;
  /** Regions by region key (see `regionKey`). */
  readonly regions: Record<string, ImageRegions>;
}

/**
 * `encode`: how the regions were re-encoded (`crop` keeps the key of the first version, so old caches still hit);
 * `find`: the finder's switches, named only where they differ from the first finder's (same reason).
 */
export function regionKey(
  source: string,
  maxRegions: number,
  dilation: number,
  encode: 'crop' | 'tokens' = 'crop',
  proposal: 'found' | 'random' = 'found',
  find: { background?: string; minSize?: number; split?: string; ring?: string } = {},
  start = 0,
): string {
  const extra = `${find.background && find.background !== 'median' ? `/bg-${find.background}` : ''}${find.minSize ? `/min${find.minSize}` : ''}${find.split && find.split !== 'one' ? `/split-${find.split}` : ''}${find.ring && find.ring !== 'square' ? `/ring-${find.ring}` : ''}`;
  return `${source}/max${maxRegions}/dil${dilation}${encode === 'tokens' ? '/tokens' : ''}${start ? `/from${start}` : ''}${proposal === 'random' ? '/random' : ''}${extra}`;
}

export function contentHash(data: Float32Array): string {
  return crypto
    .createHash('sha256')
    .update(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');
}

const b64 = (a: Float32Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const f32 = (s: unknown): Float32Array => {
  if (typeof s !== 'string') throw new Error('not a base64 string');
  const b = Buffer.from(s, 'base64');
  if (b.byteLength % 4) throw new Error('float32 data of a length not a multiple of 4');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const u8 = (s: unknown): Uint8Array => {
  if (typeof s !== 'string') throw new Error('not a base64 string');
  return Uint8Array.from(Buffer.from(s, 'base64'));
};

/** Disk entry format. */
const DISK_VERSION = 2;
/**
 * Version of the feature algorithm (encoder passes, patch features, regions). Part of every disk key: bump it
 * whenever a change would make previously cached features differ from freshly computed ones.
 */
export const FEATURE_ALGORITHM_VERSION = 1;

const HEX64 = /^[0-9a-f]{64}$/;
const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

/**
 * Image features in memory (bounded, oldest out) and optionally on disk.
 *
 * Disk guarantees (SECURITY.md): a cache can only cost time, never change a result.
 * - Keys are content hashes only: the folder is sha256(algorithm version, model id) — the CLI's model id is
 *   the weights' content hash — and the file is the image's pixel hash (a 64-hex `key`; any other key is kept
 *   in memory only). Nothing from a user path reaches a cache path.
 * - Every entry carries its model id, algorithm version, key, shapes and a sha256 of its payload; all are
 *   verified on read. A bad entry is deleted and recomputed, with one warning on stderr, never fatal.
 * - Writers write a unique temp file and rename it into place, so concurrent runs never see half an entry.
 */
export class FeatureCache {
  private readonly mem = new Map<string, ImageFeatures>();
  constructor(
    readonly maxEntries: number,
    readonly dir: string | null,
    private readonly warn: (message: string) => void = (m) => {
      process.stderr.write(`warning: ${m}\n`);
    },
  ) {}

  /** The entry file of `key` for this model, or null when the key is not a content hash. */
  private file(key: string, modelId: string): string | null {
    if (!this.dir || !HEX64.test(key)) return null;
    return path.join(this.dir, `m-${sha256(`${FEATURE_ALGORITHM_VERSION}\0${modelId}`).slice(0, 32)}`, `${key}.json`);
  }

  get(key: string, modelId: () => string): ImageFeatures | undefined {
    const hit = this.mem.get(key);
    if (hit) return hit;
    const id = this.dir ? modelId() : '';
    const file = this.file(key, id);
    if (!file || !fs.existsSync(file)) return undefined;
    let f: ImageFeatures;
    try {
      f = parseEntry(fs.readFileSync(file, 'utf8'), key, id);
    } catch (e) {
      this.warn(`feature cache entry ${file} is invalid (${(e as Error).message}); recomputing it`);
      try {
        fs.unlinkSync(file);
      } catch {
        /* another run may have replaced it already */
      }
      return undefined;
    }
    this.remember(f);
    return f;
  }

  put(f: ImageFeatures, modelId: () => string): void {
    this.remember(f);
    const id = this.dir ? modelId() : '';
    const file = this.file(f.key, id);
    if (!file) return;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const payload = {
      version: DISK_VERSION,
      algorithm: FEATURE_ALGORITHM_VERSION,
      modelId: id,
      key: f.key,
      E: f.E,
      P: f.P,
      embed: b64(f.embed),
      patches: Object.fromEntries(Object.entries(f.patches).map(([k, v]) => [k, b64(v)])),
      regions: Object.fromEntries(
        Object.entries(f.regions).map(([k, r]) => [k, { foreground: b64(r.foreground), masks: r.masks.map(b64), embeds: b64(r.embeds) }]),
      ),
    };
    const body = JSON.stringify(payload);
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ sha256: sha256(body), body }));
    fs.renameSync(tmp, file);
  }

  private remember(f: ImageFeatures): void {
    if (this.maxEntries <= 0) return;
    this.mem.delete(f.key);
    this.mem.set(f.key, f);
    while (this.mem.size > this.maxEntries) this.mem.delete(this.mem.keys().next().value as string);
  }

  get size(): number {
    return this.mem.size;
  }
  clear(): void {
    this.mem.clear();
  }
}

/** Parse and verify one disk entry; throws (plain Error, caught by `get`) on any mismatch. */
function parseEntry(text: string, key: string, modelId: string): ImageFeatures {
  const outer = JSON.parse(text) as { sha256?: unknown; body?: unknown };
  if (!outer || typeof outer.body !== 'string' || typeof outer.sha256 !== 'string') throw new Error('not a cache entry');
  if (sha256(outer.body) !== outer.sha256) throw new Error('checksum mismatch');
  const j = JSON.parse(outer.body) as Record<string, unknown>;
  if (j.version !== DISK_VERSION || j.algorithm !== FEATURE_ALGORITHM_VERSION) throw new Error('written by another version');
  if (j.modelId !== modelId) throw new Error('written for another model');
  if (j.key !== key) throw new Error("holds another image's features");
  const E = j.E,
    P = j.P;
  if (!Number.isSafeInteger(E) || !Number.isSafeInteger(P) || (E as number) <= 0 || (P as number) <= 0) throw new Error('bad shape');
  const e = E as number,
    p = P as number;
  const len = (a: { length: number }, n: number, what: string) => {
    if (a.length !== n) throw new Error(`${what} has ${a.length} values, expected ${n}`);
  };
  const embed = f32(j.embed);
  len(embed, e, 'embed');
  if (!j.patches || typeof j.patches !== 'object' || !j.regions || typeof j.regions !== 'object')
    throw new Error('missing patches or regions');
  const patches: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(j.patches as Record<string, unknown>)) {
    patches[k] = f32(v);
    len(patches[k], p * e, `patches '${k}'`);
  }
  const regions: Record<string, ImageRegions> = {};
  for (const [k, v] of Object.entries(j.regions as Record<string, { foreground: unknown; masks: unknown; embeds: unknown }>)) {
    if (!v || !Array.isArray(v.masks)) throw new Error(`regions '${k}' malformed`);
    const r: ImageRegions = { foreground: u8(v.foreground), masks: v.masks.map(u8), embeds: f32(v.embeds) };
    len(r.foreground, p, `regions '${k}' foreground`);
    r.masks.forEach((m) => len(m, p, `regions '${k}' mask`));
    len(r.embeds, r.masks.length * e, `regions '${k}' embeds`);
    regions[k] = r;
  }
  return { key, E: e, P: p, embed, patches, regions };
}
