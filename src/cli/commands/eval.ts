/** `abe-clip eval`: accuracy on a pairwise benchmark for every configuration, or Recall@K for retrieval. */
import * as path from 'path';
import { initBackend } from '../../backend';
import { UsageError } from '../../errors';
import { DATASET_KINDS, DatasetKind } from '../../eval/datasets';
import { datasetExtras } from '../../eval/metrics';
import { formatTable, prepareOutDir, summarise } from '../../eval/report';
import { runPairs } from '../../eval/runner';
import { drawOverlays, pickOverlayItems } from '../../eval/overlays';
import { writeReport } from '../../eval/write';
import { defineCommand } from '../command';
import { backendLine, reportMissing } from '../format';
import {
  applyThreads,
  checkCaptions,
  checkConfigFlags,
  CONFIG_FLAGS,
  ConfigFlags,
  DATASET_FLAGS,
  DatasetFlags,
  datasetPath,
  openDataset,
  openScorer,
  THREADS_FLAG,
} from '../setup';
import { runRetrieval } from './retrieval';

type EvalFlags = ConfigFlags &
  DatasetFlags & {
    dataset?: DatasetKind;
    out: string;
    task: 'pairs' | 'retrieval';
    backend?: string;
    overlays: number;
    threads?: number;
  };

export const evalCommand = defineCommand<EvalFlags>({
  name: 'eval',
  summary: 'accuracy per subset on a pairwise benchmark for CLIP and ABE side by side, or retrieval Recall@K',
  usage:
    'abe-clip eval --dataset toy|sugarcrepe|aro-attribution|abc6k|winoground|pairs --data PATH --images DIR [options]\n       abe-clip eval --task retrieval --data CAPTIONS --images DIR [options]   (= abe-clip retrieval)',
  flags: [
    {
      name: 'dataset',
      type: 'string',
      choices: DATASET_KINDS,
      placeholder: 'NAME',
      help: `benchmark format: ${DATASET_KINDS.join(', ')} (required for --task pairs)`,
    },
    ...DATASET_FLAGS,
    {
      name: 'out',
      type: 'string',
      default: 'abe-clip-eval',
      placeholder: 'DIR',
      help: 'output folder for report.html, report.json/.csv/.md and accuracy.png',
    },
    {
      name: 'overlays',
      type: 'int',
      min: 0,
      default: 12,
      placeholder: 'N',
      help: 'explain overlays in report.html of N items an ABE configuration fixed or broke (0: none)',
    },
    {
      name: 'task',
      type: 'string',
      choices: ['pairs', 'retrieval'],
      default: 'pairs',
      placeholder: 'pairs|retrieval',
      help: 'retrieval: the same as abe-clip retrieval (see abe-clip retrieval --help)',
    },
    ...CONFIG_FLAGS,
    THREADS_FLAG,
  ],
  notes: [
    'Examples:',
    '  abe-clip eval --dataset toy --limit 300',
    '  abe-clip eval --weights vit-b32 --dataset sugarcrepe --data sugar-crepe/data --images coco/val2017',
    '  abe-clip eval --weights vit-b32 --dataset aro-attribution --data visual_genome_attribution.json --images vg/images',
    '  abe-clip eval --weights vit-b32 --dataset abc6k --data ABC-6K.txt --caption-map abc-images.json --images coco/val2017',
    '  abe-clip retrieval --weights vit-b32 --data captions.jsonl --images flickr/images   (Recall@K; also eval --task retrieval)',
    '',
    'An item is right when S(image, positive) > S(image, negative). Image features are cached in --cache',
    '(default .abe-cache), so a second run or an ablation does not re-encode the images. Captions longer than',
    "the model's context are truncated and captions with no word are scored, both counted in the summary and",
    'report.json (captionCheck); --strict makes them, and missing or undecodable images, an error.',
  ].join('\n'),
  async exec(f, io) {
    if (f.task === 'retrieval') {
      if (f.dataset !== undefined)
        throw new UsageError(
          `--dataset ${f.dataset}`,
          'does not apply to --task retrieval (its --data is a captions file; see abe-clip retrieval --help)',
        );
      if (f['caption-map'] !== undefined) throw new UsageError('--caption-map', 'does not apply to --task retrieval');
      return runRetrieval({ ...f, out: f.out === 'abe-clip-eval' ? 'abe-clip-retrieval' : f.out }, io, 'eval --task retrieval');
    }
    if (f.dataset === undefined)
      throw new UsageError('--dataset', `is required (one of ${DATASET_KINDS.join(', ')}; for Recall@K use abe-clip retrieval)`);
    const data = datasetPath(f.dataset, f);
    checkConfigFlags(f);
    const out = prepareOutDir(f.out);
    const ds = openDataset(f.dataset, data, f);
    const threads = applyThreads(f.threads, true);
    const backend = await initBackend({ backend: f.backend, source: '--backend' });
    io.stderr.write(`${backendLine(backend)}\n`);
    const s = await openScorer(f, io, {}, threads);
    try {
      io.stderr.write(`${ds.name}: ${ds.items.length} items from ${ds.source}\n`);
      const run = await runPairs(ds, s.chunks, { strict: f.strict, progress: io.stderr, label: ds.name });
      reportMissing(run.missing, run.failed, io);
      io.stderr.write(
        `${run.scored.length} items in ${run.seconds.toFixed(1)} s (${(run.scored.length / run.seconds).toFixed(1)} items/s, ${s.threads} thread${s.threads === 1 ? '' : 's'})\n`,
      );
      const captions = checkCaptions(
        run.scored.flatMap((r) => [r.item.positive, r.item.negative]),
        s.contextLength,
        { strict: f.strict, source: ds.source },
        io,
      );
      const sum = summarise(run);
      const extras = datasetExtras(ds.name, run);
      extras.json = { ...(extras.json ?? {}), threads: s.threads, itemsPerSecond: run.scored.length / run.seconds };
      const ctx = {
        command: 'eval',
        dataset: ds,
        model: s.modelLabel,
        backend: backend.name,
        options: s.scorer.options,
        extra: extras.json,
        captions,
      };
      const overlays = await drawOverlays(s.scorer, pickOverlayItems(run, sum.baseline, f.overlays), out);
      const written = await writeReport(out, run, sum, ctx, [], overlays);
      io.stdout.write(formatTable(sum) + '\n');
      if (extras.lines.length) io.stdout.write('\n' + extras.lines.join('\n') + '\n');
      io.stdout.write(`\n${s.cacheLine()}\nwrote ${written.files.map((x) => path.relative(process.cwd(), x) || x).join(', ')}\n`);
    } finally {
      s.dispose();
    }
    return 0;
  },
});
