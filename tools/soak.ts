/**
 * Soak test: many encode/score calls with mixed valid and invalid inputs, checking that memory stays flat.
 * Models: the vendored micro CLIP (test/fixtures/micro) and, when present, the bundled toy-shapes model
 * (weights/toy-shapes), scored through AbeScorer. Invalid calls must throw typed errors; anything else aborts.
 * After a warm-up, tf.memory() tensors and bytes and process RSS are recorded; at the end (after GC) each
 * must be within ±5% of its value after warm-up (tensors: exactly equal).
 *
 *   npx ts-node --transpile-only tools/soak.ts [--calls 10000] [--warmup 500] [--no-toy] [--backend cpu|wasm]
 */
import * as fs from 'fs';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import * as tf from '@tensorflow/tfjs';
import { AbeScorer } from '../src/abe';
import { initBackend } from '../src/backend';
import { loadClip } from '../src/clip/load';
import { ClipModel, createClip, disposeOutput } from '../src/clip/model';
import { isTypedError } from '../src/errors';
import { canonicalize } from '../src/weights/names';
import { readSafetensors } from '../src/weights/safetensors';
import { rng } from '../src/random';

const ROOT = path.resolve(__dirname, '..');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

interface Snapshot {
  tensors: number;
  bytes: number;
  rssMB: number;
  heapMB: number;
}

function snapshot(): Snapshot {
  for (let i = 0; i < 3; i++) gc();
  const m = tf.memory();
  const u = process.memoryUsage();
  return { tensors: m.numTensors, bytes: m.numBytes, rssMB: u.rss / 2 ** 20, heapMB: u.heapUsed / 2 ** 20 };
}

function loadMicro(): ClipModel {
  const dir = path.join(ROOT, 'test', 'fixtures', 'micro');
  const { tensors } = readSafetensors(path.join(dir, 'openai.safetensors'));
  const hfConfig = JSON.parse(fs.readFileSync(path.join(dir, 'hf_config.json'), 'utf8'));
  const { config, weights } = canonicalize(tensors, { source: 'openai.safetensors', hfConfig });
  return createClip(config, weights);
}

const CAPTIONS = [
  'a red cube and a blue sphere',
  'a blue cube and a red sphere',
  'a small green cylinder',
  'two yellow spheres',
  'a purple cube to the left of an orange cone',
  'the big gray sphere',
  'a cube',
  '!!!',
];

type Call = { kind: string; valid: boolean; run: () => Promise<void> };

async function main(): Promise<void> {
  const calls = Number(arg('calls', '10000'));
  const warmup = Number(arg('warmup', '500'));
  const useToy = !process.argv.includes('--no-toy') && fs.existsSync(path.join(ROOT, 'weights', 'toy-shapes', 'model.json'));
  const backend = await initBackend(process.argv.includes('--backend') ? { backend: arg('backend', 'cpu') } : {});
  console.log(`backend ${backend.name}; ${calls} calls (${warmup} warm-up); models: micro${useToy ? ' + toy-shapes' : ''}`);

  const micro = loadMicro();
  const toy = useToy ? await loadClip('toy-shapes') : null;
  // A bounded feature cache: with fresh pixels every call, an unbounded one would be growth by design.
  const scorer = toy ? new AbeScorer(toy, 'abe', { maxEntries: 64 }) : null;
  const r = rng(12345);
  const mc = micro.config,
    R = mc.vision.resolution,
    L = mc.text.contextLength;
  const pixels = (n: number, res: number) =>
    tf.tensor4d(
      Float32Array.from({ length: n * 3 * res * res }, () => r() * 4 - 2),
      [n, 3, res, res],
    );
  const ids = (n: number, bad: boolean) =>
    Array.from({ length: n }, () => {
      const row = Array.from({ length: L }, () => 1 + Math.floor(r() * (mc.text.vocabSize - 3)));
      row[L - 1 - Math.floor(r() * 4)] = mc.text.vocabSize - 1; // EOT
      if (bad) row[Math.floor(r() * L)] = r() < 0.5 ? -1 : mc.text.vocabSize + 5;
      return row;
    });
  const expectTyped = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      if (isTypedError(e)) return;
      throw e;
    }
    throw new Error('an invalid call did not throw');
  };

  const make = (): Call => {
    const k = Math.floor(r() * (toy ? 10 : 7));
    switch (k) {
      case 0:
        return {
          kind: 'micro.encodeImages',
          valid: true,
          run: async () => {
            const p = pixels(1 + Math.floor(r() * 2), R);
            try {
              disposeOutput(await micro.encodeImages(p, { hiddenStates: r() < 0.3 }));
            } finally {
              p.dispose();
            }
          },
        };
      case 1:
        return {
          kind: 'micro.encodeImages',
          valid: false,
          run: async () => {
            const p = pixels(1, R + 8);
            try {
              await expectTyped(micro.encodeImages(p));
            } finally {
              p.dispose();
            }
          },
        };
      case 2:
        return {
          kind: 'micro.encodeTexts',
          valid: true,
          run: async () => disposeOutput(await micro.encodeTexts(ids(1 + Math.floor(r() * 3), false), { batchSize: 2 })),
        };
      case 3:
        return { kind: 'micro.encodeTexts', valid: false, run: () => expectTyped(micro.encodeTexts(ids(2, true))) };
      case 4:
        return {
          kind: 'micro.logits',
          valid: true,
          run: async () => {
            const p = pixels(2, R);
            try {
              const l = await micro.logits(p, ids(2, false));
              tf.dispose([l.logitsPerImage, l.logitsPerText]);
            } finally {
              p.dispose();
            }
          },
        };
      case 5:
        return {
          kind: 'micro.logits',
          valid: false,
          run: async () => {
            const p = pixels(2, R);
            try {
              await expectTyped(micro.logits(p, ids(1, true)));
            } finally {
              p.dispose();
            }
          },
        };
      case 6:
        return {
          kind: 'micro.encodeImages',
          valid: false,
          run: async () => {
            const p = pixels(1, R);
            try {
              await expectTyped(micro.encodeImages(p, { batchSize: 0 }));
            } finally {
              p.dispose();
            }
          },
        };
      case 7:
        return {
          kind: 'toy.scoreMatrix',
          valid: true,
          run: async () => {
            const p = pixels(1, toy!.config.vision.resolution);
            try {
              await scorer!.scoreMatrix(p, [CAPTIONS[Math.floor(r() * CAPTIONS.length)], CAPTIONS[Math.floor(r() * CAPTIONS.length)]]);
            } finally {
              p.dispose();
            }
          },
        };
      case 8:
        return {
          kind: 'toy.scoreMatrix',
          valid: false,
          run: async () => {
            const p = pixels(1, toy!.config.vision.resolution);
            try {
              await expectTyped(scorer!.scoreMatrix(p, [CAPTIONS[0]], r() < 0.5 ? { topK: 0 } : { fuse: 'nope' as never }));
            } finally {
              p.dispose();
            }
          },
        };
      default:
        return {
          kind: 'toy.encodeTexts',
          valid: r() < 0.5,
          run: async () => {
            if (r() < 0.5) disposeOutput(await toy!.encodeTexts([CAPTIONS[Math.floor(r() * CAPTIONS.length)]]));
            else await expectTyped(toy!.encodeTexts([CAPTIONS[0], 42 as unknown as string]));
          },
        };
    }
  };

  const counts = new Map<string, { valid: number; invalid: number }>();
  let start: Snapshot | null = null;
  const t0 = Date.now();
  let tWarm = t0;
  for (let i = 0; i < calls; i++) {
    if (i === warmup) {
      start = snapshot();
      tWarm = Date.now();
    }
    const c = make();
    // Kernels that leak a tensor on a 'failed' path would show here; the check is per call.
    const before = tf.memory().numTensors;
    await c.run();
    if (tf.memory().numTensors !== before && i >= warmup)
      throw new Error(`call ${i} (${c.kind}, ${c.valid ? 'valid' : 'invalid'}) changed numTensors ${before} → ${tf.memory().numTensors}`);
    const e = counts.get(c.kind) ?? { valid: 0, invalid: 0 };
    if (c.valid) e.valid++;
    else e.invalid++;
    counts.set(c.kind, e);
    if ((i + 1) % 1000 === 0) {
      const m = tf.memory();
      console.log(
        `  ${i + 1} calls, ${((Date.now() - t0) / 1000).toFixed(0)} s: tensors ${m.numTensors}, ${(m.numBytes / 2 ** 20).toFixed(2)} MiB, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
      );
    }
  }
  const end = snapshot();
  const s = start ?? end;
  const secs = (Date.now() - tWarm) / 1000;
  console.log('\ncalls by kind (valid / invalid):');
  for (const [k, v] of [...counts].sort()) console.log(`  ${k.padEnd(20)} ${String(v.valid).padStart(5)} / ${v.invalid}`);
  const pct = (a: number, b: number) => (b === 0 ? (a === 0 ? 0 : Infinity) : ((a - b) / b) * 100);
  const rows: [string, number, number, number][] = [
    ['tf tensors', s.tensors, end.tensors, pct(end.tensors, s.tensors)],
    ['tf bytes (MiB)', s.bytes / 2 ** 20, end.bytes / 2 ** 20, pct(end.bytes, s.bytes)],
    ['process RSS (MiB)', s.rssMB, end.rssMB, pct(end.rssMB, s.rssMB)],
    ['JS heap used (MiB)', s.heapMB, end.heapMB, pct(end.heapMB, s.heapMB)],
  ];
  console.log(`\n${calls - warmup} calls after warm-up in ${secs.toFixed(0)} s (${((calls - warmup) / secs).toFixed(1)} calls/s)`);
  console.log('                       after warm-up        end     change');
  for (const [name, a, b, p] of rows)
    console.log(`  ${name.padEnd(20)} ${a.toFixed(2).padStart(12)} ${b.toFixed(2).padStart(10)} ${(p >= 0 ? '+' : '') + p.toFixed(2)}%`);
  const flat = end.tensors === s.tensors && Math.abs(pct(end.bytes, s.bytes)) <= 5 && Math.abs(pct(end.rssMB, s.rssMB)) <= 5;
  console.log(flat ? '\nFLAT: tensors equal, bytes and RSS within ±5%' : '\nNOT FLAT: memory grew beyond ±5% (or tensors changed)');
  micro.dispose();
  toy?.dispose();
  process.exit(flat ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
