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

/** `encode`: how the regions were re-encoded (`crop` keeps the key of the first version, so old caches still hit). */
export function regionKey(source: string, maxRegions: number, dilation: number, encode: 'crop' | 'tokens' = 'crop', proposal: 'found' | 'random' = 'found'): string {
  return `${source}/max${maxRegions}/dil${dilation}${encode === 'tokens' ? '/tokens' : ''}${proposal === 'random' ? '/random' : ''}`;
}

export function contentHash(data: Float32Array): string {
  return crypto.createHash('sha256').update(Buffer.from(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
}

const b64 = (a: Float32Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const f32 = (s: string) => { const b = Buffer.from(s, 'base64'); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
const u8 = (s: string) => Uint8Array.from(Buffer.from(s, 'base64'));

const DISK_VERSION = 1;

export class FeatureCache {
  private readonly mem = new Map<string, ImageFeatures>();
  constructor(readonly maxEntries: number, readonly dir: string | null) {}

  get(key: string, modelId: () => string): ImageFeatures | undefined {
    const hit = this.mem.get(key);
    if (hit) return hit;
    if (!this.dir) return undefined;
    const file = path.join(this.dir, modelId(), `${key}.json`);
    if (!fs.existsSync(file)) return undefined;
    try {
      const j = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (j.version !== DISK_VERSION || j.key !== key) return undefined;
      const f: ImageFeatures = {
        key, E: j.E, P: j.P, embed: f32(j.embed),
        patches: Object.fromEntries(Object.entries(j.patches as Record<string, string>).map(([k, v]) => [k, f32(v)])),
        regions: Object.fromEntries(Object.entries(j.regions as Record<string, { foreground: string; masks: string[]; embeds: string }>)
          .map(([k, r]) => [k, { foreground: u8(r.foreground), masks: r.masks.map(u8), embeds: f32(r.embeds) }])),
      };
      this.remember(f);
      return f;
    } catch {
      return undefined; // a damaged cache file is recomputed and overwritten
    }
  }

  put(f: ImageFeatures, modelId: () => string): void {
    this.remember(f);
    if (!this.dir) return;
    const dir = path.join(this.dir, modelId());
    fs.mkdirSync(dir, { recursive: true });
    const j = {
      version: DISK_VERSION, key: f.key, E: f.E, P: f.P, embed: b64(f.embed),
      patches: Object.fromEntries(Object.entries(f.patches).map(([k, v]) => [k, b64(v)])),
      regions: Object.fromEntries(Object.entries(f.regions).map(([k, r]) => [k, { foreground: b64(r.foreground), masks: r.masks.map(b64), embeds: b64(r.embeds) }])),
    };
    const file = path.join(dir, `${f.key}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(j));
    fs.renameSync(tmp, file);
  }

  private remember(f: ImageFeatures): void {
    this.mem.delete(f.key);
    this.mem.set(f.key, f);
    while (this.mem.size > this.maxEntries) this.mem.delete(this.mem.keys().next().value as string);
  }

  get size(): number { return this.mem.size; }
  clear(): void { this.mem.clear(); }
}
