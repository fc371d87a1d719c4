/** The benchmark's report: one JSON object (stable field names) and its table rendering. */
import type { EncodeResult } from './encoders';
import type { MatmulResult } from './matmul';
import type { PreprocessResult } from './preprocess';
import type { ScoreBenchResult } from './scoring';
import type { ScoringJobResult } from './scoring-job';
import type { PeerComparison } from './peer';

export interface ModelBench {
  /** `vit-b32-random` (ViT-B/32 geometry, random weights) or `toy-shapes` (the bundled model). */
  name: string;
  params: number;
  weightsBytes: number;
  imageGflopPerImage: number;
  textGflopPerText: number;
  /** Weight layout of the one-thread model (the backend's default) and of the pool's workers. */
  weightLayout: string;
  poolWeightLayout: string;
  /** One thread (this thread's backend). */
  image: EncodeResult[];
  /** One thread, batch 8, with the pool's layout when it differs from the default (like-for-like base). */
  imagePoolLayout: EncodeResult[];
  text: EncodeResult[];
  /** All cores (EncoderPool with `threads` workers); empty when threads = 1. */
  imagePool: EncodeResult[];
  textPool: EncodeResult[];
}

/** Where and on what a bench ran, and the onnxruntime comparison: common to the full bench and `bench --peer`. */
export interface BenchRun {
  quick: boolean;
  date: string;
  node: string;
  cpus: number;
  /** 1-minute load average when the report was made (the machine's other work: figures are noisier above `cpus`). */
  loadAverage: number;
  backend: string;
  /** What the encoders ran on, in one line (TF version and threads, wasm SIMD, adapter). */
  device: string;
  /** Ours against onnxruntime (2 threads) on the same function, interleaved in this run. */
  peer: PeerComparison;
  /** Full bench: workers used for the all-cores figures; `--peer`: the threads of our side. */
  threads: number;
}

export interface BenchReport extends BenchRun {
  simd: boolean | null;
  /** The backend's own matMul rate (one core on wasm), same run. */
  matmulGflops1024: number;
  matmulGflops2048: number;
  matmul: MatmulResult[];
  models: ModelBench[];
  /** 640×480 files through loadImages, per format. */
  preprocess: PreprocessResult[];
  tokenizer: { warmTokensPerSecond: number; coldTokensPerSecond: number } | null;
  scoring: ScoreBenchResult[];
  // Acceptance figures (ViT-B/32 geometry). The one-thread figures use the pool workers' weight layout, so that
  // the all-cores ratio compares like with like; `oneThreadDefaultLayout` has the backend's default model.
  imageGflopsBatch8OneThread: number;
  imageCpuGflopsBatch8OneThread: number;
  imagesPerSecBatch8: number;
  imagesPerSecBatch8OneThread: number;
  oneThreadDefaultLayout: { weightLayout: string; imagesPerSecBatch8: number; imageGflopsBatch8: number; imageCpuGflopsBatch8: number };
  /** A 640×480 JPEG, read + decode + resize + normalise, one thread. */
  preprocessMsPerImage: number;
  /** One image's share of a batch-8 encode on one thread (the same core preprocessing gets). */
  encodeMsPerImage: number;
  /** scoreMatrix 1024 images × 1024 captions, cached features (quick mode: smaller, see `scoring`). */
  scoreMs1024: number;
  /** Time to encode 1024 images at batch 32 on all cores (from the measured rate). */
  encodeMs1024: number;
  /** Peak RSS of the scoring job in a fresh process (ViT-B/32 model, host weights released, image features at
   *  batch 8, then scoreMatrix): the kernel's high-water mark over that work. */
  peakRssBytes: number;
  /** The fresh-process scoring job: its timing, peak RSS and memory breakdown. */
  scoringJob: ScoringJobResult;
  /** Lifetime maximum RSS of the process (includes weight loading and the pool's workers). */
  processMaxRssBytes: number;
  /** Float32 size of the ViT-B/32 weights. */
  weightsBytes: number;
  tfMemory: { numTensors: number; numBytes: number };
  /** Each acceptance ratio and its target; `ok` is null in a quick run (a smoke test: targets not judged). */
  ratios: { name: string; value: number; target: string; ok: boolean | null }[];
  notes: string[];
}

/** `bench --peer`: the onnxruntime comparison alone. */
export interface PeerBenchReport extends BenchRun {
  geometry: string;
}

const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
const pm = (r: { spread: number }): string => `±${(r.spread * 50).toFixed(0)}%`;

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')).join('\n');
}

function peerLines(p: PeerComparison): string[] {
  const head = `against ${p.peer}${p.peerVersion ? ` ${p.peerVersion}` : ''} (${p.peerThreads} threads), same weights, interleaved rounds; ours: ${p.ours === 'pool' ? `worker pool, ${p.oursThreads} workers` : 'in-process model'}`;
  if (p.notMeasured && !p.image) return [`${head}: not measured — ${p.notMeasured}`];
  const rows = [['tower', 'batch', 'ours /s', 'peer /s', 'ratio', 'rounds (min–max)', 'max |Δ| embeds']];
  for (const [name, t] of [
    ['image', p.image],
    ['text', p.text],
  ] as const) {
    if (t)
      rows.push([
        name,
        String(t.batch),
        f(t.oursPerSec, 2),
        f(t.peerPerSec, 2),
        f(t.ratio, 2),
        `${t.rounds} (${f(t.roundRatioMin, 2)}–${f(t.roundRatioMax, 2)})`,
        `${t.maxAbsDiff.toExponential(1)} of ${f(t.maxAbs, 2)}`,
      ]);
  }
  return [head, table(rows), ...(p.notMeasured ? [`peer: ${p.notMeasured}`] : [])];
}

/** `bench --peer` as text. */
export function formatPeerTable(r: PeerBenchReport): string {
  return [
    `abe-clip bench --peer${r.quick ? ' (quick)' : ''} — ${r.date}, node ${r.node}, ${r.cpus} cores (load ${f(r.loadAverage)}), ${r.geometry}, backend ${r.backend}: ${r.device}`,
    ...peerLines(r.peer),
  ].join('\n');
}

/** A plain-text rendering of the report (medians; ± is half the max−min spread over the median). */
export function formatBenchTable(r: BenchReport): string {
  const out: string[] = [];
  out.push(
    `abe-clip bench${r.quick ? ' (quick)' : ''} — ${r.date}, node ${r.node}, ${r.cpus} cores (load ${f(r.loadAverage)}), backend ${r.backend}: ${r.device}; ${r.threads} thread(s) for "all cores"`,
  );
  out.push('');
  out.push(...peerLines(r.peer), '');
  out.push(
    table([
      ['matMul (one core)', 'n', 'ms', 'GFLOP/s', 'spread', 'cpu GFLOP/s'],
      ...r.matmul.map((m) => ['', `${m.n}³`, f(m.medianMs), f(m.gflops), pm(m), f(m.cpuGflops)]),
    ]),
  );
  for (const m of r.models) {
    out.push('');
    out.push(
      `${m.name}: ${(m.params / 1e6).toFixed(1)} M params (${mb(m.weightsBytes)} float32), ${f(m.imageGflopPerImage, 2)} GFLOP/image, ${f(m.textGflopPerText, 2)} GFLOP/text`,
    );
    const rows = [['encoder', 'threads', 'batch', 'ms/batch', 'spread', 'per s', 'GFLOP/s', 'cpu GFLOP/s', '% matMul1024']];
    const add = (kind: string, threads: number, list: EncodeResult[]): void => {
      for (const e of list)
        rows.push([
          kind,
          String(threads),
          String(e.batch),
          f(e.medianMs, 0),
          pm(e),
          f(e.perSecond, 2),
          f(e.gflops),
          threads === 1 ? f(e.cpuGflops) : '',
          `${f((100 * e.gflops) / r.matmulGflops1024, 0)}%`,
        ]);
    };
    add(`image (${m.weightLayout})`, 1, m.image);
    add(`image (${m.poolWeightLayout})`, 1, m.imagePoolLayout);
    add(`image (${m.poolWeightLayout})`, r.threads, m.imagePool);
    add(`text (${m.weightLayout})`, 1, m.text);
    add(`text (${m.poolWeightLayout})`, r.threads, m.textPool);
    out.push(table(rows));
  }
  out.push('');
  if (r.preprocess.length) {
    out.push(
      table([
        ['preprocess 640×480', 'images', 'ms/image', 'images/s', 'spread'],
        ...r.preprocess.map((p) => [p.format, String(p.images), f(p.msPerImage, 2), f(p.imagesPerSecond), pm(p)]),
      ]),
    );
  }
  if (r.tokenizer)
    out.push(
      `tokenizer: ${f(r.tokenizer.warmTokensPerSecond / 1e3, 0)} k tokens/s warm, ${f(r.tokenizer.coldTokensPerSecond / 1e3, 0)} k cold`,
    );
  if (r.scoring.length) {
    out.push('');
    out.push(
      table([
        ['ABE scoreMatrix (cached features)', 'N×M', 'ms', 'pairs/s', 'spread', 'peak RSS'],
        ...r.scoring.map((s) => [
          'peakSource' in s ? 'fresh process, real features' : 'this process',
          `${s.n}×${s.m}`,
          f(s.medianMs, 0),
          f(s.pairsPerSecond, 0),
          pm(s),
          mb(s.peakRssBytes),
        ]),
      ]),
    );
  }
  out.push('');
  const j = r.scoringJob,
    a = j.memory.afterScoring;
  out.push(
    `scoring job (fresh process): features of ${j.n} images ${f(j.featuresMs / 1000)} s; peak RSS ${mb(j.peakRssBytes)} (${j.peakSource}); after scoring: wasm heap ${a.wasmHeap === null ? '—' : mb(a.wasmHeap)}, tensors ${mb(a.tensorBytes)}, JS heap ${mb(a.jsHeapUsed)}, external ${mb(a.external)} (array buffers ${mb(a.arrayBuffers)})`,
  );
  out.push(
    `memory: peak RSS while scoring ${mb(r.peakRssBytes)}, process max RSS ${mb(r.processMaxRssBytes)}, weights ${mb(r.weightsBytes)} (float32); tf.memory ${r.tfMemory.numTensors} tensors, ${mb(r.tfMemory.numBytes)}`,
  );
  out.push('');
  out.push(
    table([
      ['acceptance', 'value', 'target', ''],
      ...r.ratios.map((x) => [x.name, f(x.value, 2), x.target, x.ok === null ? 'quick: targets not judged' : x.ok ? 'ok' : 'NOT MET']),
    ]),
  );
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n');
}
