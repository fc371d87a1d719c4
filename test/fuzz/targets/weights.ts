/**
 * Checkpoint readers under mutation: safetensors (bytes and header JSON), zip central directories, pickle
 * opcode streams inside torch.save archives, whole torch archives through `openCheckpoint`, and converted
 * (tfjs manifest) folders. Seeds are built here or read from the vendored micro checkpoints.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openCheckpoint } from '../../../src/weights/checkpoint';
import { readConverted, writeConverted } from '../../../src/weights/converted';
import type { ClipConfig } from '../../../src/config/clip';
import { SafetensorsFile } from '../../../src/weights/safetensors';
import { TorchCheckpoint } from '../../../src/weights/torch';
import { numel, RawTensor, TensorMap } from '../../../src/weights/types';
import { ZipFile } from '../../../src/weights/zip';
import { fixturePath } from '../../helpers/paths';
import { buildTorchZip, buildZip, f16Bytes, f32Bytes, PickleWriter, stateDictPickle } from '../../weights/builders';
import type { Target } from '../harness';
import { concat, INTERESTING_U32, makeRng, mutateBytes, mutateJson, Rng } from '../mutate';

function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `abe-fuzz-${tag}-`));
}

function checkTensors(m: TensorMap | Map<string, RawTensor>): string | null {
  for (const [name, t] of m) {
    if (t.data.length !== numel(t.shape)) return `tensor '${name}': ${t.data.length} values for shape [${t.shape}]`;
    if (t.dtype === 'float32' && !(t.data instanceof Float32Array)) return `tensor '${name}': float32 without a Float32Array`;
    if (t.dtype === 'int32' && !(t.data instanceof Int32Array)) return `tensor '${name}': int32 without an Int32Array`;
  }
  return null;
}

function hexHead(b: Uint8Array, n = 48): string {
  return `${b.length} bytes: ${Buffer.from(b.subarray(0, n)).toString('hex')}${b.length > n ? '…' : ''}`;
}

// ---------------------------------------------------------------- safetensors

const ST_DTYPES: [string, number, (xs: number[]) => Uint8Array][] = [
  ['F32', 4, (xs) => f32Bytes(xs)],
  ['F16', 2, (xs) => f16Bytes(xs)],
  [
    'BF16',
    2,
    (xs) => {
      const u = new Uint16Array(xs.length);
      const f = new Float32Array(xs);
      const w = new Uint32Array(f.buffer);
      w.forEach((v, i) => {
        u[i] = v >>> 16;
      });
      return new Uint8Array(u.buffer);
    },
  ],
  ['F64', 8, (xs) => new Uint8Array(Float64Array.from(xs).buffer)],
  ['I32', 4, (xs) => new Uint8Array(Int32Array.from(xs.map(Math.round)).buffer)],
  ['I64', 8, (xs) => new Uint8Array(BigInt64Array.from(xs.map((x) => BigInt(Math.round(x)))).buffer)],
];

interface StSeed {
  header: Record<string, unknown>;
  data: Uint8Array;
}

function stSeed(r: Rng, n: number): StSeed {
  const header: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  let off = 0;
  for (let i = 0; i < n; i++) {
    const [dt, , enc] = ST_DTYPES[r.int(ST_DTYPES.length)];
    const shape = Array.from({ length: r.int(4) }, () => 1 + r.int(4));
    const xs = Array.from({ length: numel(shape) }, () => (r() - 0.5) * 100);
    const b = enc(xs);
    header[`t${i}.weight`] = { dtype: dt, shape, data_offsets: [off, off + b.length] };
    parts.push(b);
    off += b.length;
  }
  if (r.chance(0.5)) header.__metadata__ = { format: 'pt', config: '{"embed_dim": 8}' };
  return { header, data: concat(...parts) };
}

function stBytes(header: unknown, data: Uint8Array, lenDelta = 0, lenOverride?: bigint): Uint8Array {
  const json = Buffer.from(JSON.stringify(header) ?? 'null', 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lenOverride ?? BigInt(Math.max(0, json.length + lenDelta)));
  return concat(len, json, data);
}

function runSafetensors(bytes: Uint8Array): { names: number; tensors: TensorMap } {
  const f = SafetensorsFile.fromBuffer(bytes, '<fuzz>');
  try {
    const tensors = f.readAll();
    return { names: f.names.length, tensors };
  } finally {
    f.close();
  }
}

const checkSt = (res: unknown): string | null => checkTensors((res as { tensors: TensorMap }).tensors);

export const safetensorsBytes: Target<Uint8Array, Uint8Array[]> = {
  name: 'safetensors-bytes',
  setup() {
    const r = makeRng(7);
    return Array.from({ length: 8 }, (_, i) => {
      const s = stSeed(r, 1 + i);
      return stBytes(s.header, s.data);
    });
  },
  generate(r, seeds) {
    const s = r.pick(seeds);
    const jsonEnd = 8 + Number(Buffer.from(s.subarray(0, 8)).readBigUInt64LE());
    if (r.chance(0.2) && s.length > jsonEnd) {
      const b = Uint8Array.from(s);
      for (let k = 1 + r.int(8); k > 0; k--) b[jsonEnd + r.int(s.length - jsonEnd)] = r.int(256);
      return b;
    }
    return mutateBytes(r, s, r.pick(seeds), [0, 1, 4, 7, 8, jsonEnd - 1, jsonEnd, s.length - 1]);
  },
  run: runSafetensors,
  check: checkSt,
  describe: (b) => hexHead(b, 96),
};

export const safetensorsHeader: Target<Uint8Array, null> = {
  name: 'safetensors-header',
  setup: () => null,
  generate(r) {
    const seed = stSeed(r, 1 + r.int(5));
    let header: unknown = seed.header;
    const entries = Object.keys(seed.header).filter((k) => k !== '__metadata__');
    // Targeted edits of the fields a reader trusts most, then generic JSON edits.
    // Some cases keep the header valid and only scramble the data (NaN/Inf/subnormal halves, I64 overflow).
    if (r.chance(0.2))
      return stBytes(
        header,
        seed.data.map((x) => (r.chance(0.3) ? r.int(256) : x)),
      );
    for (let k = r.int(3); k >= 0; k--) {
      if (!header || typeof header !== 'object') break;
      const e = (header as Record<string, Record<string, unknown>>)[r.pick(entries)];
      if (!e || typeof e !== 'object') continue;
      switch (r.int(8)) {
        case 0:
          e.data_offsets = [r.pick([0, -1, 2 ** 53, 2 ** 60, 1e300, 4, 1.5]), r.pick([0, 8, -8, 2 ** 32, 2 ** 64, 1e300, 3.5])];
          break;
        case 1:
          e.shape = r.pick([[-1], [2 ** 31, 2 ** 31], [1e6, 1e6, 1e6], [0], [], [1.5], ['1'], [NaN], [2 ** 53], [65536, 65536, 0], null]);
          break;
        case 2:
          e.dtype = r.pick(['U8', 'F8_E4M3', 'f32', 'I16', 'BOOL', '', null, 4, 'F64', 'I64', 'BF16']);
          break;
        case 3:
          if (Array.isArray(e.data_offsets)) e.data_offsets.reverse();
          break;
        case 4:
          if (Array.isArray(e.data_offsets)) e.data_offsets = [e.data_offsets[0], e.data_offsets[1] + r.pick([-1, 1, 4, -4])];
          break;
        case 5:
          delete e[r.pick(['dtype', 'shape', 'data_offsets'])];
          break;
        case 6:
          (header as Record<string, unknown>)[r.pick(['__metadata__', 'x', ''])] = r.pick([
            null,
            1,
            'x',
            [],
            { a: 1 },
            { a: 'b' },
            { config: '{' },
          ]);
          break;
        default:
          header = mutateJson(r, header);
          break;
      }
    }
    let data = seed.data;
    if (r.chance(0.2)) data = data.slice(0, r.int(data.length + 1));
    if (r.chance(0.1)) data = concat(data, new Uint8Array(1 + r.int(16)));
    const override = r.chance(0.1) ? r.pick([0n, 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 53n + 1n, 0xffffffffn]) : undefined;
    const json = r.chance(0.05) ? '{"a": ' + '['.repeat(r.int(5000)) : undefined;
    if (json !== undefined) return concat(lenPrefix(json.length), Buffer.from(json), data);
    return stBytes(header, data, r.chance(0.1) ? r.pick([-2, -1, 1, 2, 100]) : 0, override);
  },
  run: runSafetensors,
  check: checkSt,
  describe: (b) =>
    Buffer.from(b.subarray(8, Math.min(b.length, 8 + 400)))
      .toString('utf8')
      .replace(/[^\x20-\x7e]/g, '.'),
};

function lenPrefix(n: number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

// ---------------------------------------------------------------- zip

interface FileCtx {
  dir: string;
  file: string;
  seeds: Uint8Array[];
}

function zipSeeds(): Uint8Array[] {
  const text = (s: string) => new Uint8Array(Buffer.from(s));
  return [
    buildZip([
      { name: 'a/data.pkl', data: text('hello') },
      { name: 'a/data/0', data: new Uint8Array(64).fill(7), deflate: true },
    ]),
    buildZip([
      { name: 'x', data: new Uint8Array(0) },
      { name: 'y/z', data: text('z'.repeat(300)), deflate: true },
      { name: 'w', data: text('w') },
    ]),
    buildZip([{ name: 'one', data: Uint8Array.from({ length: 200 }, (_, i) => i) }]),
  ];
}

/** Offsets of the length/offset fields of every zip record in `b` (EOCD, central and local headers). */
function zipHotOffsets(b: Uint8Array): number[] {
  const hot: number[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i + 4 <= b.length; i++) {
    const sig = dv.getUint32(i, true);
    if (sig === 0x06054b50) hot.push(i + 4, i + 6, i + 8, i + 10, i + 12, i + 16, i + 20);
    else if (sig === 0x02014b50) hot.push(i + 8, i + 10, i + 16, i + 20, i + 24, i + 28, i + 30, i + 32, i + 42);
    else if (sig === 0x04034b50) hot.push(i + 6, i + 8, i + 14, i + 18, i + 22, i + 26, i + 28);
  }
  return hot;
}

export const zipTarget: Target<Uint8Array, FileCtx> = {
  name: 'zip',
  setup() {
    const dir = tmpDir('zip');
    return { dir, file: path.join(dir, 'case.zip'), seeds: zipSeeds() };
  },
  generate(r, ctx) {
    const s = r.pick(ctx.seeds);
    return mutateBytes(r, s, r.pick(ctx.seeds), zipHotOffsets(s));
  },
  run(bytes, ctx) {
    fs.writeFileSync(ctx.file, bytes);
    const z = ZipFile.open(ctx.file);
    try {
      return z.entries.map((e) => ({ size: e.size, got: z.read(e.name, 1 << 20).length }));
    } finally {
      z.close();
    }
  },
  check: (res) => {
    for (const e of res as { size: number; got: number }[])
      if (e.size !== e.got) return `entry read ${e.got} bytes, directory says ${e.size}`;
    return null;
  },
  describe: (b) => hexHead(b, 64),
  teardown: (ctx) => fs.rmSync(ctx.dir, { recursive: true, force: true }),
};

// ---------------------------------------------------------------- pickle (inside torch.save archives)

/** Argument length of each opcode we can step over: fixed bytes, or [length-prefix bytes] for counted ones. */
const FIXED: Record<number, number> = {
  0x80: 1,
  0x95: 8,
  0x4a: 4,
  0x4b: 1,
  0x4d: 2,
  0x47: 8,
  0x71: 1,
  0x72: 4,
  0x68: 1,
  0x6a: 4,
};
const COUNTED: Record<number, number> = { 0x8a: 1, 0x8b: 4, 0x58: 4, 0x8c: 1, 0x8d: 8, 0x42: 4, 0x43: 1, 0x8e: 8, 0x54: 4, 0x55: 1 };

/** Split a pickle into opcode records (byte ranges), so mutations can move whole instructions. */
export function splitOps(b: Uint8Array): Uint8Array[] {
  const ops: Uint8Array[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = 0;
  while (p < b.length) {
    const op = b[p];
    let end = p + 1;
    if (op in FIXED) end += FIXED[op];
    else if (op in COUNTED) {
      const w = COUNTED[op];
      if (end + w > b.length) {
        end = b.length;
      } else {
        const n = w === 1 ? b[end] : w === 4 ? dv.getUint32(end, true) : Number(dv.getBigUint64(end, true));
        end += w + n;
      }
    } else if (op === 0x63) {
      // GLOBAL: two lines
      for (let k = 0; k < 2; k++) {
        const nl = b.indexOf(0x0a, end);
        end = nl < 0 ? b.length : nl + 1;
      }
    }
    end = Math.min(end, b.length);
    ops.push(b.subarray(p, end));
    p = end;
  }
  return ops;
}

/** Instructions an attacker would use, and ones the unpickler refuses. */
const EVIL_OPS: Uint8Array[] = [
  Buffer.from('cos\nsystem\n', 'latin1'),
  Buffer.from('cbuiltins\neval\n', 'latin1'),
  Buffer.from('c__builtin__\ngetattr\n', 'latin1'),
  Buffer.from('ctorch\nload\n', 'latin1'),
  Buffer.from('ccollections\nOrderedDict\n', 'latin1'),
  Buffer.from('ctorch._utils\n_rebuild_tensor_v2\n', 'latin1'),
  Buffer.from('ctorch\nFloatStorage\n', 'latin1'),
  Buffer.from('ctorch\nByteStorage\n', 'latin1'),
  Buffer.from('c__torch__.M\nM\n', 'latin1'),
  Buffer.from('ctorch.nn.modules.linear\nLinear\n', 'latin1'),
  Buffer.from('\x8c\x02os\x8c\x06system\x93', 'latin1'),
  ...[
    0x52, 0x81, 0x62, 0x51, 0x50, 0x69, 0x6f, 0x92, 0x82, 0x83, 0x84, 0x49, 0x4c, 0x46, 0x53, 0x56, 0x67, 0x70, 0x8f, 0x90, 0x91, 0x96,
    0x97, 0x98, 0x28, 0x30, 0x31, 0x32, 0x2e, 0x74, 0x85, 0x86, 0x87, 0x61, 0x65, 0x6c, 0x64, 0x73, 0x75, 0x93, 0x94, 0x29, 0x5d, 0x7d,
    0x4e, 0x88, 0x89,
  ].map((o) => Uint8Array.of(o)),
  Uint8Array.of(0x68, 0xff),
  Uint8Array.of(0x6a, 0xff, 0xff, 0xff, 0x7f),
  Uint8Array.of(0x71, 0),
  Uint8Array.of(0x8b, 0xff, 0xff, 0xff, 0xff),
  Uint8Array.of(0x58, 0xff, 0xff, 0xff, 0x7f),
  Uint8Array.of(0x8d, 0, 0, 0, 0, 0, 0, 0, 0x80),
  Uint8Array.of(0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
  Uint8Array.of(0x80, 9),
  Uint8Array.of(0x80, 0),
  Uint8Array.of(0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 0x80),
  Uint8Array.of(0x47, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0),
];

interface TorchSeed {
  top: string;
  pickle: Uint8Array;
  storages: Record<string, Uint8Array>;
}

function torchSeeds(): TorchSeed[] {
  const st = (n: number, v = 0.5) => f32Bytes(Array.from({ length: n }, (_, i) => v * i));
  const seeds: TorchSeed[] = [
    {
      top: 'archive',
      pickle: stateDictPickle([
        { name: 'a.weight', storageKey: '0', storageNumel: 6, shape: [2, 3] },
        { name: 'a.bias', storageKey: '1', storageNumel: 3, shape: [3] },
        { name: 'b.t', storageKey: '0', storageNumel: 6, shape: [3, 2], stride: [1, 3] },
      ]),
      storages: { 0: st(6), 1: st(3) },
    },
    {
      top: 'm',
      pickle: stateDictPickle(
        [
          { name: 'x', storageKey: '0', storageType: 'HalfStorage', storageNumel: 4, shape: [4] },
          { name: 'y', storageKey: '1', storageType: 'LongStorage', storageNumel: 2, shape: [2] },
        ],
        'state_dict',
      ),
      storages: { 0: f16Bytes([1, 2, 3, 4]), 1: new Uint8Array(new BigInt64Array([5n, -7n]).buffer) },
    },
  ];
  // A TorchScript-style module tree: NEWOBJ of __torch__ classes with BUILD state holding tensors.
  const p = new PickleWriter();
  p.global('__torch__.Model', 'Model').emptyTuple().newobj().emptyDict().mark().str('w');
  p.global('torch._utils', '_rebuild_tensor_v2')
    .mark()
    .mark()
    .str('storage')
    .global('torch', 'FloatStorage')
    .str('0')
    .str('cpu')
    .int(4)
    .tuple()
    .persid()
    .int(0)
    .intTuple([2, 2])
    .intTuple([2, 1])
    .op(0x89)
    .global('collections', 'OrderedDict')
    .emptyTuple()
    .reduce()
    .tuple()
    .reduce();
  p.str('sub').global('__torch__.Sub', 'Sub').emptyTuple().newobj().emptyDict().build();
  p.setitems().build().stop();
  seeds.push({ top: 'code', pickle: p.bytes(), storages: { 0: st(4) } });
  // The real TorchScript data.pkl of the vendored micro checkpoint (storages left out: the reader must
  // refuse the missing entries cleanly after unpickling).
  try {
    const z = ZipFile.open(fixturePath('checkpoints', 'model.jit.pt'));
    try {
      const pk = z.entries.find((e) => /^[^/]+\/data\.pkl$/.test(e.name));
      if (pk) seeds.push({ top: pk.name.split('/')[0], pickle: z.read(pk.name), storages: {} });
    } finally {
      z.close();
    }
  } catch {
    /* fixture absent: the built seeds still cover the grammar */
  }
  return seeds;
}

interface TorchCtx {
  dir: string;
  file: string;
  seeds: TorchSeed[];
}

function mutatePickle(r: Rng, pk: Uint8Array): Uint8Array {
  if (r.chance(0.3)) return mutateBytes(r, pk, undefined, [0, 1, pk.length - 1]);
  const ops = splitOps(pk);
  for (let k = 1 + r.int(3); k > 0; k--) {
    const i = r.int(ops.length + 1);
    switch (r.int(6)) {
      case 0:
        ops.splice(i, 0, r.pick(EVIL_OPS));
        break;
      case 1:
        if (ops.length) ops.splice(Math.min(i, ops.length - 1), 1);
        break;
      case 2:
        if (ops.length) ops.splice(i, 0, ops[r.int(ops.length)]);
        break;
      case 3:
        if (ops.length > 1) {
          const a = r.int(ops.length),
            b = r.int(ops.length);
          [ops[a], ops[b]] = [ops[b], ops[a]];
        }
        break;
      case 4:
        if (ops.length) {
          const j = r.int(ops.length);
          ops[j] = mutateBytes(r, ops[j], undefined, [0, 1], 2);
        }
        break;
      default:
        if (ops.length) ops.splice(r.int(ops.length), 0, ...ops.slice(r.int(ops.length)).slice(0, 1 + r.int(8)));
        break;
    }
  }
  return concat(...ops);
}

function runTorch(bytes: Uint8Array, ctx: TorchCtx): TensorMap {
  fs.writeFileSync(ctx.file, bytes);
  const c = TorchCheckpoint.open(ctx.file);
  try {
    return c.readAll();
  } finally {
    c.close();
  }
}

export const pickleTarget: Target<Uint8Array, TorchCtx> = {
  name: 'pickle',
  setup() {
    const dir = tmpDir('pickle');
    return { dir, file: path.join(dir, 'case.pt'), seeds: torchSeeds() };
  },
  generate(r, ctx) {
    const s = r.pick(ctx.seeds);
    return new Uint8Array(buildTorchZip(s.top, Buffer.from(mutatePickle(r, s.pickle)), s.storages));
  },
  run: runTorch,
  check: (res) => checkTensors(res as TensorMap),
  describe: (b) => {
    const i = Buffer.from(b).indexOf('data.pkl');
    return `zip ${b.length} bytes; pickle: ${Buffer.from(b.subarray(i + 8, i + 8 + 160)).toString('hex')}`;
  },
  teardown: (ctx) => fs.rmSync(ctx.dir, { recursive: true, force: true }),
};

export const torchFile: Target<Uint8Array, TorchCtx & { zips: Uint8Array[] }> = {
  name: 'torch-file',
  setup() {
    const dir = tmpDir('torch');
    const seeds = torchSeeds().filter((s) => Object.keys(s.storages).length > 0);
    return {
      dir,
      file: path.join(dir, 'case.pt'),
      seeds,
      zips: seeds.map((s) => new Uint8Array(buildTorchZip(s.top, Buffer.from(s.pickle), s.storages))),
    };
  },
  generate(r, ctx) {
    const s = r.pick(ctx.zips);
    return mutateBytes(r, s, r.pick(ctx.zips), zipHotOffsets(s));
  },
  run(bytes, ctx) {
    // The public path: sniffing, then the torch reader (or the safetensors fallback).
    fs.writeFileSync(ctx.file, bytes);
    const c = openCheckpoint(ctx.file);
    try {
      return c.readAll();
    } finally {
      c.close();
    }
  },
  check: (res) => checkTensors(res as TensorMap),
  describe: (b) => hexHead(b, 64),
  teardown: (ctx) => fs.rmSync(ctx.dir, { recursive: true, force: true }),
};

// ---------------------------------------------------------------- converted (tfjs manifest) folders

const TINY_TOWER = { layers: 1, width: 4, heads: 1, mlpWidth: 16, act: 'quick_gelu' as const, layerNormEps: 1e-5 };
const TINY: ClipConfig = {
  embedDim: 4,
  vision: { ...TINY_TOWER, resolution: 8, patchSize: 4 },
  text: { ...TINY_TOWER, contextLength: 4, vocabSize: 10 },
};

interface ConvertedCtx {
  dir: string;
  manifest: Record<string, unknown>;
  shards: Map<string, Uint8Array>;
}
interface ConvertedCase {
  manifest: unknown;
  raw?: string;
  shards: [string, Uint8Array][];
}

export const convertedTarget: Target<ConvertedCase, ConvertedCtx> = {
  name: 'converted-manifest',
  setup() {
    const seedDir = tmpDir('conv-seed');
    const specs = [
      { name: 'a', shape: [3, 5] },
      { name: 'b', shape: [7] },
      { name: 'c', shape: [] as number[] },
      { name: 'd', shape: [2, 0] },
      { name: 'e', shape: [40] },
    ];
    const data = new Map(
      specs.map((s) => [
        s.name,
        { dtype: 'float32' as const, shape: s.shape, data: Float32Array.from({ length: numel(s.shape) }, (_, i) => i / 3) },
      ]),
    );
    writeConverted(seedDir, TINY, { name: 'seed', sha256: '0'.repeat(64), family: 'tiny' }, specs, (n) => data.get(n)!, {
      dtype: 'f16',
      shardBytes: 32,
    });
    const manifest = JSON.parse(fs.readFileSync(path.join(seedDir, 'model.json'), 'utf8'));
    const shards = new Map<string, Uint8Array>();
    for (const f of fs.readdirSync(seedDir)) if (f !== 'model.json') shards.set(f, fs.readFileSync(path.join(seedDir, f)));
    fs.rmSync(seedDir, { recursive: true, force: true });
    return { dir: tmpDir('conv'), manifest, shards };
  },
  generate(r, ctx) {
    const m = structuredClone(ctx.manifest) as {
      weightsManifest: { paths: string[]; weights: Record<string, unknown>[] }[];
      config: Record<string, unknown>;
    };
    const g = m.weightsManifest[0];
    for (let k = r.int(3); k >= 0; k--) {
      switch (r.int(9)) {
        case 0:
          g.paths[r.int(g.paths.length)] = r.pick([
            '../model.json',
            '/etc/passwd',
            '..',
            '.',
            '',
            'a/b.bin',
            'missing.bin',
            'x\u0000y',
            'model.json',
            'C:\\x.bin',
          ]);
          break;
        case 1:
          r.pick(g.weights).shape = r.pick([[-1], [2 ** 40], [1e6, 1e6], [1.5], [NaN], [], [0], [2 ** 30], null, 'x']);
          break;
        case 2:
          r.pick(g.weights).dtype = r.pick(['float16', 'int32', 'uint8', null, 'float32']);
          break;
        case 3:
          r.pick(g.weights).quantization = r.pick([
            undefined,
            { dtype: 'uint8', scale: 1, min: 0 },
            { dtype: 'float16' },
            null,
            'float16',
            { dtype: 'float16', x: 1 },
          ]);
          break;
        case 4:
          m.config[r.pick(Object.keys(m.config))] = r.pick([0, -1, 1.5, 'x', null, 2 ** 60, NaN]);
          break;
        case 5:
          g.weights.push(structuredClone(r.pick(g.weights)));
          break;
        case 6:
          g.paths.push(r.pick(g.paths));
          break;
        case 7:
          (m as Record<string, unknown>)[r.pick(['format', 'version', 'source', 'weightsManifest'])] = r.pick([null, 2, 'x', [], {}]);
          break;
        default:
          return { manifest: mutateJson(r, m), shards: shardsFor(r, ctx) };
      }
    }
    if (r.chance(0.05))
      return {
        manifest: null,
        raw: r.pick(['', '{', 'null', '[]', '{"format":"abe-clip-weights"', '\ufeff{}', '{"a":' + '['.repeat(10000)]),
        shards: shardsFor(r, ctx),
      };
    return { manifest: m, shards: shardsFor(r, ctx) };
  },
  run(c, ctx) {
    for (const f of fs.readdirSync(ctx.dir)) fs.rmSync(path.join(ctx.dir, f), { recursive: true, force: true });
    fs.writeFileSync(path.join(ctx.dir, 'model.json'), c.raw ?? JSON.stringify(c.manifest) ?? 'null');
    for (const [n, b] of c.shards) fs.writeFileSync(path.join(ctx.dir, n), b);
    return readConverted(ctx.dir).weights;
  },
  check: (res) => checkTensors(res as TensorMap),
  describe: (c) =>
    (c.raw ?? JSON.stringify(c.manifest)).slice(0, 500) + ` shards=${c.shards.map(([n, b]) => `${n}:${b.length}`).join(',')}`,
  teardown: (ctx) => fs.rmSync(ctx.dir, { recursive: true, force: true }),
};

function shardsFor(r: Rng, ctx: ConvertedCtx): [string, Uint8Array][] {
  const out = [...ctx.shards.entries()];
  if (r.chance(0.15)) out.splice(r.int(out.length), 1);
  if (r.chance(0.15)) {
    const i = r.int(out.length);
    out[i] = [out[i][0], out[i][1].slice(0, r.int(out[i][1].length + 1))];
  }
  if (r.chance(0.1)) {
    const i = r.int(out.length);
    out[i] = [out[i][0], concat(out[i][1], new Uint8Array(r.pick(INTERESTING_U32.filter((x) => x < 5000))))];
  }
  return out;
}
