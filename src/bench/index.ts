/**
 * `abe-clip bench`: encoder, preprocessing, tokenizer and scoring throughput on this machine, against the
 * backend's own matMul rate measured in the same run. Needs no download: ViT-B/32 geometry runs with random
 * weights generated in-process, and the bundled toy model with its real weights.
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { createClip } from '../clip/model';
import { defaultWeightLayout } from '../tensor/linear';
import { loadWeights } from '../clip/load';
import { benchCorpus, benchTokenizer } from './tokenizer';
import type { ClipConfig } from '../weights/config';
import { canonicalShapes } from '../weights/names';
import type { TensorMap } from '../weights/types';
import { EncoderPool, availableCores, DEFAULT_POOL_LAYOUT, shareWeights } from '../parallel/pool';
import { OptionsError } from '../errors';
import { benchImageEncoding, benchTextEncoding, BatchEncoder, EncodeResult } from './encoders';
import { imageEncodeFlops, paramCount, QUICK_CONFIG, textEncodeFlops, VIT_B32_CONFIG } from './geometry';
import { matmulGflops, MatmulResult } from './matmul';
import { forceGc } from './memory';
import { benchPreprocess, PreprocessResult } from './preprocess';
import { randomClipWeights, weightsBytes } from './random-weights';
import { BenchReport, BenchRun, ModelBench, PeerBenchReport } from './report';
import { benchScoring, ScoreBenchResult } from './scoring';
import { scoringInFreshProcess } from './scoring-job';
import { comparePeer, PeerPlan } from './peer';
import type { PeerComparison } from './peer';
import { setTensorflowThreads, tensorflowKernelsTuned } from '../tensor/tensorflow';
import type { MeasureOptions } from './stats';

export { formatBenchTable, formatPeerTable } from './report';
export type { BenchReport, ModelBench, PeerBenchReport } from './report';
export type { PeerComparison, PeerTower } from './peer';
export { QUICK_CONFIG, VIT_B32_CONFIG, imageEncodeFlops, textEncodeFlops } from './geometry';
export { randomClipWeights } from './random-weights';
export { matmulGflops } from './matmul';
export { measure } from './stats';
export { benchTokenizer, benchCorpus } from './tokenizer';
export type { TokenizerBenchResult } from './tokenizer';
export { measurePreprocessThroughput, syntheticJpeg } from './images';
export type { ImageBenchOptions, ImageBenchResult } from './images';

export interface BenchOptions {
  /** Accepted for the CLI's sake: runBench always returns the object; the caller prints JSON or the table. */
  json?: boolean;
  /** Tiny sizes (a smoke test in seconds): a small geometry instead of ViT-B/32, few repeats. */
  quick?: boolean;
  /** Worker threads for the all-cores figures (default: the cores available). */
  threads?: number;
  /** Backend to force (ABE_BACKEND names); default initBackend's choice. */
  backend?: string;
  onProgress?: (message: string) => void;
}

interface Plan {
  matmul: number[];
  imageBatches: number[];
  textBatches: number[];
  poolImageBatches: number[];
  poolTextBatches: number[];
  /** In-process scoreMatrix sizes (throughput with synthetic features). */
  scoring: [number, number][];
  /** The scoring job in a fresh process: N = M, timed repeats (its figures give the acceptance ratios). */
  job: { n: number; repeats: number };
  distinctCaptions: number;
  preprocessImages: number;
  peer: PeerPlan;
  small: MeasureOptions;
  large: MeasureOptions;
}

const FULL: Plan = {
  matmul: [1024, 2048],
  imageBatches: [8, 1, 32],
  textBatches: [1, 32],
  poolImageBatches: [8, 32],
  poolTextBatches: [32],
  scoring: [[256, 256]],
  job: { n: 1024, repeats: 3 },
  distinctCaptions: 16,
  preprocessImages: 16,
  peer: { imageBatch: 8, textBatch: 32, rounds: 5 },
  small: { warmup: 1, repeats: 5 },
  large: { warmup: 1, repeats: 3 },
};
const QUICK: Plan = {
  matmul: [128, 256],
  imageBatches: [8, 1],
  textBatches: [1, 8],
  poolImageBatches: [8],
  poolTextBatches: [8],
  scoring: [[16, 16]],
  job: { n: 32, repeats: 2 },
  distinctCaptions: 4,
  preprocessImages: 2,
  peer: { imageBatch: 8, textBatch: 32, rounds: 2 },
  small: { warmup: 1, repeats: 2 },
  large: { warmup: 1, repeats: 2 },
};

/** Large batches are the slowest calls: one warm-up less (the batch-8 run already packed the weights). */
function opts(plan: Plan, batch: number): MeasureOptions {
  return batch >= 32 ? { warmup: 0, repeats: 2 } : batch >= 8 ? plan.large : plan.small;
}

async function encoderRuns(
  enc: BatchEncoder,
  c: ClipConfig,
  plan: Plan,
  images: number[],
  texts: number[],
  progress: (m: string) => void,
  label: string,
): Promise<{ image: EncodeResult[]; text: EncodeResult[] }> {
  const fi = imageEncodeFlops(c),
    ft = textEncodeFlops(c);
  const image: EncodeResult[] = [],
    text: EncodeResult[] = [];
  for (const b of images) {
    progress(`${label}: images, batch ${b}`);
    image.push(await benchImageEncoding(enc, c, b, fi, opts(plan, b)));
  }
  for (const b of texts) {
    progress(`${label}: texts, batch ${b}`);
    text.push(await benchTextEncoding(enc, c, b, ft, opts(plan, b)));
  }
  image.sort((a, b) => a.batch - b.batch);
  return { image, text };
}

async function poolRuns(
  c: ClipConfig,
  weights: TensorMap,
  threads: number,
  backend: string,
  plan: Plan,
  progress: (m: string) => void,
  label: string,
): Promise<{ image: EncodeResult[]; text: EncodeResult[] }> {
  if (threads < 2) return { image: [], text: [] };
  progress(`${label}: starting ${threads} workers`);
  const pool = await EncoderPool.create(c, weights, { workers: threads, backend, weightLayout: DEFAULT_POOL_LAYOUT });
  try {
    return await encoderRuns(pool, c, plan, plan.poolImageBatches, plan.poolTextBatches, progress, `${label} (${threads} workers)`);
  } finally {
    await pool.close();
  }
}

/** One-thread batch-8 images with the pool's layout, when the default differs (regenerates the weights). */
async function poolLayoutRun(
  c: ClipConfig,
  weights: () => TensorMap,
  plan: Plan,
  progress: (m: string) => void,
  label: string,
): Promise<EncodeResult[]> {
  if (defaultWeightLayout() === DEFAULT_POOL_LAYOUT) return [];
  progress(`${label}: images, batch 8, ${DEFAULT_POOL_LAYOUT} weights`);
  const w = weights();
  const model = createClip(c, w, { weightLayout: DEFAULT_POOL_LAYOUT });
  w.clear();
  try {
    return [await benchImageEncoding(model, c, 8, imageEncodeFlops(c), opts(plan, 8))];
  } finally {
    model.dispose();
  }
}

function modelBench(name: string, c: ClipConfig, bytes: number): ModelBench {
  return {
    name,
    params: paramCount(canonicalShapes(c).values()),
    weightsBytes: bytes,
    imageGflopPerImage: imageEncodeFlops(c) / 1e9,
    textGflopPerText: textEncodeFlops(c) / 1e9,
    weightLayout: defaultWeightLayout(),
    poolWeightLayout: DEFAULT_POOL_LAYOUT,
    image: [],
    imagePoolLayout: [],
    text: [],
    imagePool: [],
    textPool: [],
  };
}

const at = (list: EncodeResult[], batch: number): EncodeResult | undefined => list.find((e) => e.batch === batch);

/** One line naming what the encoders ran on (the backend's own description when it gives one). */
export function deviceSummary(
  info: { name: string; tfBackend: string; simd?: boolean; device?: { summary?: string } },
  threads: number,
): string {
  if (info.device?.summary) return info.device.summary;
  if (info.tfBackend === 'tensorflow') {
    const b = tf.backend() as unknown as { binding?: { TF_Version?: string } };
    const intra = Number(process.env.TF_NUM_INTRAOP_THREADS);
    const n = Number.isInteger(intra) && intra > 0 ? intra : availableCores();
    return `TensorFlow ${b.binding?.TF_Version ?? '?'}, CPU, ${n} intra-op thread${n === 1 ? '' : 's'}${tensorflowKernelsTuned() ? ', MatMul kernel' : ''}`;
  }
  if (info.tfBackend === 'wasm')
    return `WebAssembly${info.simd ? ' SIMD' : ''}, 1 thread per worker, ${threads} worker${threads === 1 ? '' : 's'} for all cores`;
  return info.tfBackend;
}

/** Where and on what this run happened: the fields both reports share. */
function benchRun(quick: boolean, info: Parameters<typeof deviceSummary>[0], threads: number, peer: PeerComparison): BenchRun {
  return {
    quick,
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableCores(),
    loadAverage: os.loadavg()[0],
    backend: info.name,
    device: deviceSummary(info, threads),
    threads,
    peer,
  };
}

/** The onnxruntime comparison alone (`bench --peer`): the acceptance ratios of issue #19 in about a minute. */
export async function runPeerBench(o: BenchOptions = {}): Promise<PeerBenchReport> {
  const progress = o.onProgress ?? (() => {});
  const threads = o.threads ?? availableCores();
  if (!Number.isSafeInteger(threads) || threads < 1) throw new OptionsError('threads', `${threads} is not a positive integer`);
  if (o.threads !== undefined) setTensorflowThreads(o.threads);
  const info = await initBackend(o.backend ? { backend: o.backend } : {});
  const c = o.quick ? QUICK_CONFIG : VIT_B32_CONFIG;
  const peer = await comparePeer(c, o.quick ? QUICK.peer : FULL.peer, info, threads, progress);
  return { ...benchRun(Boolean(o.quick), info, threads, peer), geometry: o.quick ? 'tiny-random (quick)' : 'vit-b32-random' };
}

/** Run every measurement; see BenchReport for the fields. Takes a few minutes (seconds with `quick`). */
export async function runBench(o: BenchOptions = {}): Promise<BenchReport> {
  const progress = o.onProgress ?? (() => {});
  const quick = Boolean(o.quick),
    plan = quick ? QUICK : FULL;
  const threads = o.threads ?? availableCores();
  if (!Number.isSafeInteger(threads) || threads < 1) throw new OptionsError('threads', `${threads} is not a positive integer`);
  if (o.threads !== undefined) setTensorflowThreads(o.threads); // before TensorFlow loads (it reads them once)
  const info = await initBackend(o.backend ? { backend: o.backend } : {});
  const notes: string[] = [];

  const peer = await comparePeer(quick ? QUICK_CONFIG : VIT_B32_CONFIG, plan.peer, info, threads, progress);
  forceGc();

  progress('matMul');
  const matmul: MatmulResult[] = [];
  for (const n of plan.matmul) matmul.push(await matmulGflops(n, n >= 2048 ? { warmup: 1, repeats: 3 } : {}));

  // What a user's scoring job costs, apart from this process's history (its wasm heap only grows).
  progress(`scoring job in a fresh process: ${plan.job.n} images × ${plan.job.n} captions`);
  const job = await scoringInFreshProcess(
    {
      quick,
      backend: info.name,
      n: plan.job.n,
      m: plan.job.n,
      distinct: plan.distinctCaptions,
      repeats: plan.job.repeats,
      imageBatch: 8,
    },
    progress,
  );

  // ViT-B/32 geometry (quick: a tiny one), random weights. The host copy is dropped once the model holds
  // its own tensors, so that scoring runs with the memory a user's process would have.
  const geo = quick ? QUICK_CONFIG : VIT_B32_CONFIG;
  const geoName = quick ? 'tiny-random (quick)' : 'vit-b32-random';
  progress(`${geoName}: generating weights`);
  let w: TensorMap | undefined = randomClipWeights(geo);
  const wBytes = weightsBytes(w);
  const vit = modelBench(geoName, geo, wBytes);
  let model = createClip(geo, w);
  w.clear(); // the model's store keeps the map: empty it, as loadClip does, so the host copy can go
  w = undefined;
  forceGc();
  const scoring: ScoreBenchResult[] = [];
  try {
    for (const [n, m] of plan.scoring) {
      progress(`scoreMatrix ${n}×${m}`);
      scoring.push(await benchScoring(model, n, m, plan.distinctCaptions, { repeats: 3 }));
    }
    const r = await encoderRuns(model, geo, plan, plan.imageBatches, plan.textBatches, progress, geoName);
    vit.image = r.image;
    vit.text = r.text;
  } finally {
    model.dispose();
  }
  forceGc();
  vit.imagePoolLayout = await poolLayoutRun(geo, () => randomClipWeights(geo), plan, progress, geoName);
  scoring.push(job);
  forceGc();
  const shared = randomClipWeights(geo, { shared: true });
  const rp = await poolRuns(geo, shared, threads, info.name, plan, progress, geoName);
  vit.imagePool = rp.image;
  vit.textPool = rp.text;

  // The bundled toy model, real weights.
  const models = [vit];
  try {
    progress('toy-shapes');
    const lw = loadWeights('toy-shapes');
    const toy = modelBench('toy-shapes', lw.config, weightsBytes(lw.weights));
    const toySharedWeights = shareWeights(lw.weights);
    model = createClip(lw.config, lw.weights);
    lw.weights.clear();
    try {
      const r = await encoderRuns(model, lw.config, plan, plan.imageBatches, plan.textBatches, progress, 'toy-shapes');
      toy.image = r.image;
      toy.text = r.text;
    } finally {
      model.dispose();
    }
    const tp = await poolRuns(lw.config, toySharedWeights, threads, info.name, plan, progress, 'toy-shapes');
    toy.imagePool = tp.image;
    toy.textPool = tp.text;
    models.push(toy);
  } catch (e) {
    notes.push(`toy-shapes not measured: ${(e as Error).message}`);
  }

  const preprocess: PreprocessResult[] = [];
  for (const format of ['jpeg', 'png'] as const) {
    progress(`preprocess ${format}`);
    preprocess.push(await benchPreprocess(format, plan.preprocessImages, geo.vision.resolution, plan.small));
  }
  progress('tokenizer');
  const tk = benchTokenizer(quick ? { captions: benchCorpus(200), warmPasses: 1 } : {});

  const default8 = at(vit.image, 8)!,
    one8 = at(vit.imagePoolLayout, 8) ?? default8,
    all8 = at(vit.imagePool, 8) ?? one8;
  const all32 = at(vit.imagePool, 32) ?? at(vit.image, 32) ?? all8;
  const mm1024 = matmul.find((m) => m.n === 1024) ?? matmul[0];
  const jpeg = preprocess.find((p) => p.format === 'jpeg')!;
  const big = scoring[scoring.length - 1];
  const encodeMsPerImage = default8.medianMs / 8;
  const encodeMs1024 = (big.n * 1000) / all32.perSecond;
  const report: BenchReport = {
    ...benchRun(quick, info, threads, peer),
    simd: info.simd ?? null,
    matmulGflops1024: mm1024.gflops,
    matmulGflops2048: (matmul.find((m) => m.n === 2048) ?? matmul[matmul.length - 1]).gflops,
    matmul,
    models,
    preprocess,
    scoring,
    tokenizer: { warmTokensPerSecond: tk.warmTokensPerSecond, coldTokensPerSecond: tk.coldTokensPerSecond },
    imageGflopsBatch8OneThread: one8.gflops,
    imageCpuGflopsBatch8OneThread: one8.cpuGflops,
    imagesPerSecBatch8: all8.perSecond,
    imagesPerSecBatch8OneThread: one8.perSecond,
    oneThreadDefaultLayout: {
      weightLayout: vit.weightLayout,
      imagesPerSecBatch8: default8.perSecond,
      imageGflopsBatch8: default8.gflops,
      imageCpuGflopsBatch8: default8.cpuGflops,
    },
    preprocessMsPerImage: jpeg.msPerImage,
    encodeMsPerImage,
    scoreMs1024: big.medianMs,
    encodeMs1024,
    peakRssBytes: job.peakRssBytes,
    scoringJob: job,
    processMaxRssBytes: process.resourceUsage().maxRSS * 1024,
    weightsBytes: wBytes,
    tfMemory: { numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes },
    ratios: [],
    notes,
  };
  // A quick run is a smoke test on tiny sizes: its ratios are shown but not judged against the targets.
  const ratio = (name: string, value: number, target: string, ok: boolean) =>
    report.ratios.push({ name, value, target, ok: quick ? null : ok });
  for (const [layout, e] of one8 === default8
    ? [[vit.weightLayout, one8] as const]
    : [[DEFAULT_POOL_LAYOUT, one8] as const, [vit.weightLayout, default8] as const]) {
    ratio(
      `image GFLOP/s batch 8, one core (${layout}) / matMul 1024³`,
      e.gflops / mm1024.gflops,
      '≥ 0.60',
      e.gflops / mm1024.gflops >= 0.6,
    );
    ratio(
      '  same from CPU time (robust when cores are shared)',
      e.cpuGflops / mm1024.cpuGflops,
      '≥ 0.60',
      e.cpuGflops / mm1024.cpuGflops >= 0.6,
    );
  }
  ratio(
    `images/s batch 8, ${threads} workers / one core (${DEFAULT_POOL_LAYOUT} both)`,
    all8.perSecond / one8.perSecond,
    '≥ 1.70',
    all8.perSecond / one8.perSecond >= 1.7,
  );
  for (const t of [peer.image, peer.text]) {
    if (t)
      ratio(
        `${t === peer.image ? 'images' : 'texts'}/s batch ${t.batch}, ${info.name} ${peer.ours === 'pool' ? `${threads} workers` : 'all cores'} / onnxruntime ${peer.peerThreads} threads`,
        t.ratio,
        '≥ 1.00',
        t.ratio >= 1,
      );
  }
  if (peer.notMeasured) notes.push(`onnxruntime peer not measured: ${peer.notMeasured}`);
  ratio(
    'preprocess 640×480 JPEG / encode one image (one core each)',
    jpeg.msPerImage / encodeMsPerImage,
    '≤ 0.25',
    jpeg.msPerImage / encodeMsPerImage <= 0.25,
  );
  ratio(
    `scoreMatrix ${big.n}×${big.m} / encode ${big.n} images (all cores)`,
    big.medianMs / encodeMs1024,
    '≤ 0.10',
    big.medianMs / encodeMs1024 <= 0.1,
  );
  ratio('peak RSS while scoring / weights float32', report.peakRssBytes / wBytes, '≤ 2.00', report.peakRssBytes / wBytes <= 2);
  const load = os.loadavg()[0];
  if (load > report.cpus * 0.75)
    notes.push(
      `the machine was busy (1-min load ${load.toFixed(1)} on ${report.cpus} cores): wall-clock figures are low and noisy; the CPU-time columns show each core's own rate`,
    );
  if (quick) notes.push('quick: targets not judged (tiny geometry and sizes; the acceptance targets apply to the full run)');
  return report;
}
