/** `abe-clip eval`: accuracy on a pairwise benchmark for every configuration, or Recall@K for retrieval. */
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../backend';
import { UsageError } from '../../errors';
import { DATASET_KINDS, DatasetKind, loadDataset } from '../../eval/datasets';
import { loadRetrieval } from '../../eval/datasets/retrieval';
import { datasetExtras } from '../../eval/extras';
import { recallAtK } from '../../eval/metrics';
import { formatTable, prepareOutDir, summarise } from '../../eval/report';
import { runPairs } from '../../eval/runner';
import { writeReport } from '../../eval/write';
import { defineCommand } from '../command';
import { backendLine, columns } from '../format';
import { bundledBenchmark } from '../paths';
import { applyThreads, CONFIG_FLAGS, ConfigFlags, DATASET_FLAGS, openScorer, THREADS_FLAG } from '../setup';

type EvalFlags = ConfigFlags & {
  dataset: DatasetKind; data?: string; images?: string; 'caption-map'?: string; limit?: number; out: string;
  strict?: boolean; task: 'pairs' | 'retrieval'; backend?: string; threads?: number;
};

export const evalCommand = defineCommand<EvalFlags>({
  name: 'eval',
  summary: 'accuracy per subset on a pairwise benchmark for CLIP and ABE side by side, or retrieval Recall@K',
  usage: 'abe-clip eval --dataset toy|sugarcrepe|aro-attribution|abc6k|winoground|pairs --data PATH --images DIR [options]',
  flags: [
    { name: 'dataset', type: 'string', required: true, choices: DATASET_KINDS, placeholder: 'NAME', help: `benchmark format: ${DATASET_KINDS.join(', ')}` },
    ...DATASET_FLAGS,
    { name: 'out', type: 'string', default: 'abe-clip-eval', placeholder: 'DIR', help: 'output folder for report.json/.csv/.md and accuracy.png' },
    { name: 'task', type: 'string', choices: ['pairs', 'retrieval'], default: 'pairs', placeholder: 'pairs|retrieval', help: 'retrieval: Recall@1/5/10 both ways on --images + a captions file (--data)' },
    ...CONFIG_FLAGS,
    THREADS_FLAG,
  ],
  notes: [
    'Examples:',
    '  abe-clip eval --dataset toy --limit 300',
    '  abe-clip eval --weights vit-b32 --dataset sugarcrepe --data sugar-crepe/data --images coco/val2017',
    '  abe-clip eval --weights vit-b32 --dataset aro-attribution --data visual_genome_attribution.json --images vg/images',
    '  abe-clip eval --weights vit-b32 --dataset abc6k --data ABC-6K.txt --caption-map abc-images.json --images coco/val2017',
    '  abe-clip eval --weights vit-b32 --task retrieval --dataset pairs --data captions.jsonl --images flickr/images',
    '',
    'An item is right when S(image, positive) > S(image, negative). Image features are cached in --cache',
    '(default .abe-cache), so a second run or an ablation does not re-encode the images.',
  ].join('\n'),
  async exec(f, io) {
    const out = prepareOutDir(f.out);
    if (f.task === 'retrieval') return retrieval(f, out, io);
    const data = f.data ?? (f.dataset === 'toy' ? bundledBenchmark() : undefined);
    if (!data) throw new UsageError('--data', `is required for --dataset ${f.dataset}`);
    if (!fs.existsSync(data)) throw new UsageError(`--data ${data}`, 'no such file or folder');
    if (f.images && !fs.existsSync(f.images)) throw new UsageError(`--images ${f.images}`, 'no such folder');
    const ds = loadDataset(f.dataset, { data, images: f.images, captionMap: f['caption-map'], limit: f.limit });
    const threads = applyThreads(f.threads, true);
    const backend = await initBackend({ backend: f.backend });
    io.stderr.write(`${backendLine(backend)}\n`);
    const s = await openScorer(f, io, {}, threads);
    try {
      io.stderr.write(`${ds.name}: ${ds.items.length} items from ${ds.source}\n`);
      const run = await runPairs(ds, s.chunks, { strict: f.strict, progress: io.stderr, label: ds.name });
      reportMissing(run.missing, run.failed, io);
      io.stderr.write(`${run.scored.length} items in ${run.seconds.toFixed(1)} s (${(run.scored.length / run.seconds).toFixed(1)} items/s, ${s.threads} thread${s.threads === 1 ? '' : 's'})\n`);
      const sum = summarise(run);
      const extras = datasetExtras(ds.name, run);
      extras.json = { ...(extras.json ?? {}), threads: s.threads, itemsPerSecond: run.scored.length / run.seconds };
      const ctx = { command: 'eval', dataset: ds, model: s.modelLabel, backend: backend.name, options: s.scorer.options, extra: extras.json };
      const written = await writeReport(out, run, sum, ctx);
      io.stdout.write(formatTable(sum) + '\n');
      if (extras.lines.length) io.stdout.write('\n' + extras.lines.join('\n') + '\n');
      io.stdout.write(`\n${s.cacheLine()}\nwrote ${written.files.map((x) => path.relative(process.cwd(), x) || x).join(', ')}\n`);
    } finally {
      s.dispose();
    }
    return 0;
  },
});

export function reportMissing(missing: { file: string; items: number }[], failed: { file: string; error: string; items: number }[], io: { stderr: NodeJS.WritableStream }): void {
  if (missing.length) {
    const items = missing.reduce((n, m) => n + m.items, 0);
    io.stderr.write(`warning: ${missing.length} image file(s) missing, ${items} item(s) skipped (--strict makes this an error):\n`);
    for (const m of missing.slice(0, 10)) io.stderr.write(`  ${m.file}\n`);
    if (missing.length > 10) io.stderr.write(`  … and ${missing.length - 10} more (listed in report.json)\n`);
  }
  if (failed.length) {
    io.stderr.write(`warning: ${failed.length} image(s) could not be decoded and were skipped:\n`);
    for (const m of failed.slice(0, 10)) io.stderr.write(`  ${m.file}: ${m.error}\n`);
  }
}

async function retrieval(f: EvalFlags, out: string, io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream & { isTTY?: boolean } }): Promise<number> {
  if (!f.data) throw new UsageError('--data', 'is required for --task retrieval (captions file: JSONL {image, caption} or image<TAB>caption)');
  if (!f.images) throw new UsageError('--images', 'is required for --task retrieval');
  const set = loadRetrieval(f.data, f.images);
  if (f.limit !== undefined && f.limit < set.captions.length) {
    const keep = set.captionImage.map((_, k) => k).slice(0, f.limit);
    set.captions = keep.map((k) => set.captions[k]);
    set.captionImage = keep.map((k) => set.captionImage[k]);
  }
  const missing = set.images.filter((p) => !fs.existsSync(p));
  if (missing.length) {
    if (f.strict) throw new UsageError(`--images ${f.images}`, `${missing.length} image file(s) missing, first: ${missing[0]}`);
    throw new UsageError(`--images ${f.images}`, `${missing.length} image file(s) of the captions file are missing (first: ${missing[0]}); retrieval needs every image`);
  }
  applyThreads(f.threads, false);
  const backend = await initBackend({ backend: f.backend });
  io.stderr.write(`${backendLine(backend)}\n`);
  const s = await openScorer(f, io);
  try {
    const refs = set.images.map((p) => ({ key: p, path: p }));
    const { scores } = await s.scorer.matrix(refs, set.captions, io.stderr);
    const results: Record<string, ReturnType<typeof recallAtK>> = {};
    for (const cfg of s.scorer.configs) results[cfg] = recallAtK(scores[cfg], set.images.length, set.captionImage);
    const ks = ['R@1', 'R@5', 'R@10'];
    const rows = [['config', ...ks.map((k) => `i→t ${k}`), ...ks.map((k) => `t→i ${k}`)]];
    for (const cfg of s.scorer.configs) {
      rows.push([cfg, ...ks.map((k) => results[cfg].imageToText[k].toFixed(3)), ...ks.map((k) => results[cfg].textToImage[k].toFixed(3))]);
    }
    const table = columns(rows, rows[0].map((_, j) => j > 0));
    const json = {
      tool: 'abe-clip', command: 'eval --task retrieval', createdAt: new Date().toISOString(), model: s.modelLabel, backend: backend.name,
      data: set.source, images: set.images.length, captions: set.captions.length, configs: s.scorer.configs, options: s.scorer.options, recall: results,
    };
    fs.writeFileSync(path.join(out, 'retrieval.json'), JSON.stringify(json, null, 1) + '\n');
    const md = `# Retrieval: ${set.images.length} images, ${set.captions.length} captions\n\n| ${rows[0].join(' | ')} |\n|${rows[0].map(() => '---').join('|')}|\n` +
      rows.slice(1).map((r) => `| ${r.join(' | ')} |`).join('\n') + '\n';
    fs.writeFileSync(path.join(out, 'retrieval.md'), md);
    io.stdout.write(table + '\n\nwrote ' + ['retrieval.json', 'retrieval.md'].map((x) => path.join(path.relative(process.cwd(), out) || '.', x)).join(', ') + '\n');
  } finally {
    s.dispose();
  }
  return 0;
}
