/**
 * Memory check for `convertCheckpoint`: writes a ViT-B/32-geometry random float32 safetensors file
 * (OpenAI names, ≈ 605 MB) to a temp folder, converts it in a fresh child process, and prints the file
 * size, the child's peak RSS, their ratio and the time. Not part of `npm test`.
 *
 *   npx ts-node --transpile-only tools/make-random-checkpoint.ts [--dtype f16|f32] [--backend cpu|wasm]
 *       [--input-dtype f32|f16] [--dir FOLDER] [--keep] [--no-verify] [--help]
 * `--input-dtype f16` writes the checkpoint itself in float16 (≈ 302 MB, as OpenAI's released .pt files store it).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KNOWN_FAMILIES } from '../src/weights/family';
import { canonicalShapes } from '../src/weights/names';
import { floatToHalf } from '../src/weights/dtype';
import { FlagSpec, parseFlags } from '../src/cli/args';
import { UsageError } from '../src/errors';
import { runMain } from './run-main';

const B32 = KNOWN_FAMILIES['ViT-B/32'];

/** Plausible magnitudes, so the verification forward pass stays finite: LN gains ≈ 1, small weights. */
function scaleFor(name: string): { base: number; amp: number } {
  if (name === 'logit_scale') return { base: Math.log(100), amp: 0 };
  if (/ln_|ln_final|ln_pre|ln_post/.test(name) && name.endsWith('.weight')) return { base: 1, amp: 0.05 };
  if (name.endsWith('bias')) return { base: 0, amp: 0.01 };
  return { base: 0, amp: 0.03 };
}

/** Stream the file: header, then each tensor generated and written in 4 MB pieces. */
function writeRandomCheckpoint(file: string, stored: 'F32' | 'F16'): number {
  const shapes = canonicalShapes(B32);
  const width = stored === 'F16' ? 2 : 4;
  const header: Record<string, unknown> = {
    __metadata__: { format: 'pt', source: 'tools/make-random-checkpoint.ts (random ViT-B/32 geometry)' },
  };
  let off = 0;
  for (const [name, shape] of shapes) {
    const bytes = shape.reduce((a, b) => a * b, 1) * width;
    header[name] = { dtype: stored, shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  while (json.length % 8) json += ' ';
  const fd = fs.openSync(file, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    fs.writeSync(fd, len);
    fs.writeSync(fd, json);
    let s = 0x9e3779b9;
    const chunk = new Float32Array(1 << 20);
    const half = new Uint16Array(chunk.length);
    for (const [name, shape] of shapes) {
      const { base, amp } = scaleFor(name);
      let left = shape.reduce((a, b) => a * b, 1);
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        for (let i = 0; i < n; i++) {
          s ^= s << 13;
          s ^= s >>> 17;
          s ^= s << 5; // xorshift32
          chunk[i] = base + amp * (((s >>> 0) / 4294967296) * 2 - 1);
        }
        if (stored === 'F16') {
          for (let i = 0; i < n; i++) half[i] = floatToHalf(chunk[i]);
          fs.writeSync(fd, new Uint8Array(half.buffer, 0, n * 2));
        } else {
          fs.writeSync(fd, new Uint8Array(chunk.buffer, 0, n * 4));
        }
        left -= n;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return fs.statSync(file).size;
}

async function child(input: string, out: string, dtype: 'f16' | 'f32', backend: string, verify: boolean): Promise<void> {
  const { initBackend } = await import('../src/backend');
  await initBackend({ backend });
  const { convertCheckpoint } = await import('../src/clip/convert');
  const r = await convertCheckpoint(input, { out, dtype, verify });
  process.stdout.write(JSON.stringify({ ...r, config: undefined }) + '\n');
}

const FLAGS: FlagSpec[] = [
  {
    name: 'dtype',
    type: 'string',
    choices: ['f16', 'f32'],
    default: 'f16',
    placeholder: 'f16|f32',
    help: 'precision of the converted output',
  },
  {
    name: 'input-dtype',
    type: 'string',
    choices: ['f16', 'f32'],
    default: 'f32',
    placeholder: 'f16|f32',
    help: "precision of the random checkpoint itself (f16 ≈ 302 MB, as OpenAI's .pt files)",
  },
  {
    name: 'dir',
    type: 'string',
    placeholder: 'FOLDER',
    help: 'where to write (and keep) the files (default: a temporary folder, removed after)',
  },
  { name: 'keep', type: 'boolean', help: 'keep the temporary folder' },
  { name: 'no-verify', type: 'boolean', help: 'skip the verification forward pass' },
];

const HELP = [
  'tools/make-random-checkpoint.ts — memory check of convertCheckpoint on a random ViT-B/32-geometry checkpoint',
  '',
  'Writes a ≈ 605 MB float32 safetensors file (OpenAI names), converts it in a child process and prints the',
  "file size, the child's peak RSS and their ratio (limit 1.5×), and the time (minutes on 2 cores).",
  '',
  'Usage: npx ts-node --transpile-only tools/make-random-checkpoint.ts [options]',
  '',
  'Options:',
  ...FLAGS.map(
    (f) =>
      `  --${f.name}${f.type === 'boolean' ? '' : ' ' + f.placeholder}`.padEnd(26) +
      f.help +
      (f.default !== undefined ? ` (default ${f.default})` : ''),
  ),
  '  --backend NAME'.padEnd(26) + 'backend of the conversion child (default cpu)',
  '  --help'.padEnd(26) + 'show this help and exit',
  '',
].join('\n');

type ToolFlags = {
  dtype: 'f16' | 'f32';
  'input-dtype': 'f16' | 'f32';
  dir?: string;
  keep?: boolean;
  'no-verify'?: boolean;
  backend?: string;
  help?: boolean;
};

/**
 * The command line, checked before anything is written: `--help` prints the help (0), an unknown flag or a
 * bad value is a usage error (2); otherwise the run.
 */
export async function toolMain(
  argv: string[],
  out: { write(s: string): unknown } = process.stdout,
  err: { write(s: string): unknown } = process.stderr,
): Promise<number> {
  let f: ToolFlags;
  try {
    f = parseFlags(argv, FLAGS) as unknown as ToolFlags;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err.write(`make-random-checkpoint: error: ${e.message}\nRun it with --help for usage.\n`);
    return 2;
  }
  if (f.help) {
    out.write(HELP);
    return 0;
  }
  await run(f);
  return 0;
}

async function run(f: ToolFlags): Promise<void> {
  const dtype = f.dtype;
  const backend = f.backend ?? 'cpu';
  const verify = !f['no-verify'];
  const dir = f.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'abe-random-b32-'));
  const stored = f['input-dtype'] === 'f16' ? 'F16' : 'F32';
  const file = path.join(dir, `random-vit-b32-${stored.toLowerCase()}.safetensors`);
  const out = path.join(dir, `converted-${dtype}`);
  try {
    let t = Date.now();
    const size = fs.existsSync(file) ? fs.statSync(file).size : writeRandomCheckpoint(file, stored);
    console.log(`checkpoint   ${file}: ${(size / 1e6).toFixed(1)} MB (written in ${((Date.now() - t) / 1000).toFixed(1)} s)`);
    fs.rmSync(out, { recursive: true, force: true });
    t = Date.now();
    const r = spawnSync(
      process.execPath,
      [...process.execArgv, __filename, '--child', file, out, dtype, backend, verify ? 'verify' : 'no'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 },
    );
    const wall = (Date.now() - t) / 1000;
    if (r.status !== 0) throw new Error(`conversion child failed (status ${r.status}): ${r.stdout}`);
    const rep = JSON.parse(r.stdout.trim().split('\n').pop()!);
    console.log(
      `converted    ${rep.family}, ${rep.params.toLocaleString('en-US')} parameters → ${(rep.outBytes / 1e6).toFixed(1)} MB ${dtype} (backend ${backend})`,
    );
    console.log(`verification max |Δ| = ${rep.maxAbsDiff}`);
    console.log(
      `peak RSS     ${(rep.peakRssBytes / 1e6).toFixed(1)} MB = ${(rep.peakRssBytes / size).toFixed(2)} × the checkpoint (limit 1.5×)`,
    );
    console.log(`time         ${rep.seconds.toFixed(1)} s in convertCheckpoint, ${wall.toFixed(1)} s with process start`);
  } finally {
    if (!f.keep && !f.dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  if (process.argv[2] === '--child') {
    child(process.argv[3], process.argv[4], process.argv[5] as 'f16' | 'f32', process.argv[6], process.argv[7] === 'verify').catch((e) => {
      console.error(e);
      process.exit(1);
    });
  } else {
    runMain(toolMain);
  }
}
