/**
 * ABE image features (the host arrays of `ImageFeatures`, src/abe/README.md) of one shard in one binary file:
 * `ABEFEAT\0`, a uint32 header length, a JSON header (version, and per image its key, E, P and the byte range
 * of every array), then the arrays, each 4-byte aligned. Read back into `ImageFeatures` for scoring.
 */
import type { ImageFeatures, ImageRegions } from '../abe/features';
import { InputError } from '../errors';

export const FEATURES_FILE_VERSION = 1;
const MAGIC = 'ABEFEAT\0';
type Range = [number, number];
interface Entry {
  key: string;
  E: number;
  P: number;
  embed: Range;
  patches: Record<string, Range>;
  regions: Record<string, { foreground: Range; masks: Range[]; embeds: Range }>;
}

export function encodeFeatures(feats: readonly ImageFeatures[]): Buffer {
  const blobs: Buffer[] = [];
  let off = 0;
  const put = (a: Float32Array | Uint8Array): Range => {
    const b = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const start = off;
    blobs.push(b);
    off += b.length;
    const pad = (4 - (off % 4)) % 4;
    if (pad) {
      blobs.push(Buffer.alloc(pad));
      off += pad;
    }
    return [start, b.length];
  };
  const items: Entry[] = feats.map((f) => ({
    key: f.key,
    E: f.E,
    P: f.P,
    embed: put(f.embed),
    patches: Object.fromEntries(Object.entries(f.patches).map(([k, v]) => [k, put(v)])),
    regions: Object.fromEntries(
      Object.entries(f.regions).map(([k, r]) => [k, { foreground: put(r.foreground), masks: r.masks.map(put), embeds: put(r.embeds) }]),
    ),
  }));
  let header = Buffer.from(JSON.stringify({ version: FEATURES_FILE_VERSION, items }));
  header = Buffer.concat([header, Buffer.alloc((4 - ((MAGIC.length + 4 + header.length) % 4)) % 4, 0x20)]);
  const pre = Buffer.alloc(MAGIC.length + 4);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(header.length, MAGIC.length);
  return Buffer.concat([pre, header, ...blobs]);
}

export function decodeFeatures(buf: Buffer, label: string): ImageFeatures[] {
  if (buf.length < 12 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new InputError(label, 'not an ABE features file');
  const hlen = buf.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4 + hlen;
  let j: { version: number; items: Entry[] };
  try {
    j = JSON.parse(buf.toString('utf8', MAGIC.length + 4, start));
  } catch {
    throw new InputError(label, 'damaged features header');
  }
  if (j.version !== FEATURES_FILE_VERSION)
    throw new InputError(label, `features format ${j.version}; this build reads ${FEATURES_FILE_VERSION}`);
  const bytes = ([o, n]: Range) => {
    if (start + o + n > buf.length) throw new InputError(label, 'truncated features file');
    return buf.subarray(start + o, start + o + n);
  };
  const f32 = (r: Range) => {
    const b = bytes(r);
    const out = new Float32Array(b.length / 4);
    Buffer.from(out.buffer).set(b);
    return out;
  };
  const u8 = (r: Range) => Uint8Array.from(bytes(r));
  return j.items.map((e) => ({
    key: e.key,
    E: e.E,
    P: e.P,
    embed: f32(e.embed),
    patches: Object.fromEntries(Object.entries(e.patches).map(([k, r]) => [k, f32(r)])),
    regions: Object.fromEntries(
      Object.entries(e.regions).map(([k, r]): [string, ImageRegions] => [
        k,
        { foreground: u8(r.foreground), masks: r.masks.map(u8), embeds: f32(r.embeds) },
      ]),
    ),
  }));
}
