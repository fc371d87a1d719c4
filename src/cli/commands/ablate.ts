/** `abe-clip ablate`: sweep ABE options over a benchmark, reusing each image's features for every point. */
import * as fs from 'fs';
import * as path from 'path';
import { resolveOptions } from '../../abe/options';
import type { AbeOptions } from '../../abe/options';
import { deviceReport, initBackend } from '../../backend';
import { isTypedError, UsageError, WeightsFormatError } from '../../errors';
import { weightsContentId } from '../../io/content-hash';
import { NAMED_CONFIGS } from '../../abe/options';
import { ablationCsv, ablationPanels, ablationRows, gridPoints, parseGrid, pointLabel } from '../../eval/ablate';
import { captionJson, captionsClean } from '../../eval/captions';
import { DATASET_KINDS, DatasetKind } from '../../eval/datasets';
import { linePlots } from '../../eval/plots/charts';
import { itemTable, writeHtmlReport } from '../../eval/html/page';
import { imageProblemsJson, imageProblemsMarkdown, prepareOutDir, summarise } from '../../eval/report';
import { runPairs } from '../../eval/runner';
import { ModelScorer } from '../../eval/scoring';
import { loadClip } from '../../clip/load';
import { defineCommand } from '../command';
import { backendLine, columns, reportMissing } from '../format';
import {
  applyThreads,
  checkCaptions,
  checkConfigFlags,
  DATASET_FLAGS,
  DatasetFlags,
  datasetPath,
  openDataset,
  openChunkScorer,
  parseSets,
  THREADS_FLAG,
} from '../setup';

const ABE_CONFIGS = Object.keys(NAMED_CONFIGS).filter((n) => n !== 'clip');

type Flags = DatasetFlags & {
  grid: string[];
  dataset: DatasetKind;
  out: string;
  weights: string;
  config: string;
  set: string[];
  cache: string;
  'no-cache'?: boolean;
  backend?: string;
  threads?: number;
  _: string[];
};

export const ablate = defineCommand<Flags>({
  name: 'ablate',
  summary: 'sweep ABE options over a benchmark: table, JSON and line plots of accuracy against each option',
  usage: 'abe-clip ablate --grid lambda=0,0.5,1,2 topK=1,2,4 refine=none,contextual,isolated patchLayer=-1,-2 [--dataset toy] [options]',
  positionals: true,
  flags: [
    {
      name: 'grid',
      type: 'string',
      multiple: true,
      placeholder: 'OPT=V1,V2',
      help: 'a swept option and its values; the words after it may be more OPT=… (every combination is run)',
    },
    {
      name: 'dataset',
      type: 'string',
      default: 'toy',
      choices: DATASET_KINDS,
      placeholder: 'NAME',
      help: `benchmark format: ${DATASET_KINDS.join(', ')}`,
    },
    ...DATASET_FLAGS,
    {
      name: 'out',
      type: 'string',
      default: 'abe-clip-ablate',
      placeholder: 'DIR',
      help: 'output folder (ablation.json, ablation.csv, ablation.md, ablation.png)',
    },
    { name: 'weights', type: 'string', default: 'toy-shapes', placeholder: 'W', help: 'model (path or bundled name)' },
    {
      name: 'config',
      type: 'string',
      default: 'abe',
      choices: ABE_CONFIGS,
      placeholder: 'NAME',
      help: `configuration the grid modifies (${ABE_CONFIGS.join(' or ')})`,
    },
    { name: 'set', type: 'string', multiple: true, placeholder: 'KEY=VALUE', help: 'fixed option override for every grid point' },
    { name: 'cache', type: 'string', default: '.abe-cache', placeholder: 'DIR', help: 'image-feature cache folder' },
    { name: 'no-cache', type: 'boolean', help: 'do not read or write the feature cache' },
    THREADS_FLAG,
  ],
  notes:
    'Grid options are ABE option names (see the README table): refine, gamma, refineLayer, template,\n' +
    'patchFeatures, patchLayer, locate, topK, fuse, lambda, regionFeatures, maxRegions, regionLambda, …\n' +
    'Choose settings on a development split and report them on a held-out one.\n',
  async exec(f, io) {
    const words = [...(f.grid ?? []), ...f._];
    const axes = parseGrid(words);
    const points = gridPoints(axes);
    const fixed = parseSets(f.set ?? []);
    // Validate every point before loading anything: a bad value is a usage error naming the grid word.
    for (const p of points) {
      try {
        resolveOptions({ ...fixed, ...p } as never, resolveOptions(f.config as never));
      } catch (e) {
        if (isTypedError(e)) throw new UsageError(`--grid ${pointLabel(p)}`, (e as Error & { problem: string }).problem);
        throw e;
      }
    }
    const data = datasetPath(f.dataset, f);
    const { modelPath } = checkConfigFlags({ weights: f.weights, configs: 'clip', set: [] });
    const out = prepareOutDir(f.out);
    const ds = openDataset(f.dataset, data, f);
    const threads = applyThreads(f.threads, true);
    const backend = await initBackend({ backend: f.backend, source: '--backend' });
    io.stderr.write(`${backendLine(backend)}\n${points.length} grid point(s) × ${ds.items.length} items\n`);
    const model = await loadClip(f.weights);
    let scorer: ModelScorer;
    const configs = [
      { name: 'clip' },
      ...points.map((p) => ({ name: pointLabel(p), base: f.config, overrides: { ...fixed, ...p } as Partial<AbeOptions> })),
    ];
    const cacheDir = f['no-cache'] ? undefined : f.cache;
    const modelId = cacheDir === undefined ? undefined : weightsContentId(modelPath, cacheDir, (p) => new WeightsFormatError(modelPath, p));
    try {
      scorer = new ModelScorer(model, { configs, cacheDir, modelId });
    } catch (e) {
      model.dispose();
      if (isTypedError(e)) throw new UsageError('--grid', (e as Error & { problem: string }).problem);
      throw e;
    }
    let pool;
    try {
      pool = await openChunkScorer(f.weights, configs, cacheDir, modelId, threads, io);
    } catch (e) {
      scorer.dispose();
      model.dispose();
      throw e;
    }
    try {
      const run = await runPairs(ds, pool ?? scorer, { strict: f.strict, progress: io.stderr, label: 'ablate' });
      reportMissing(run.missing, run.failed, io, 'ablation.json');
      const captions = checkCaptions(
        run.scored.flatMap((r) => [r.item.positive, r.item.negative]),
        model.config.text.contextLength,
        { strict: f.strict, source: ds.source },
        io,
      );
      const sum = summarise(run, { halvings: 50 });
      const table = ablationRows(sum, points);
      const best = [...table.rows].sort((a, b) => b.overall - a.overall)[0];
      const head = [...axes.map((a) => a.key as string), ...table.cells, 'p'];
      const rows = [
        head,
        ...table.rows.map((r) => [
          ...axes.map((a) => String(r.point[a.key])),
          ...table.cells.map((c) => r.accuracy[c].toFixed(3)),
          r.pVsBaseline < 0.001 ? '<.001' : r.pVsBaseline.toFixed(3),
        ]),
        [...axes.map((_, i) => (i === 0 ? 'clip' : '')), ...table.cells.map((c) => table.baseline[c].toFixed(3)), ''],
      ];
      const text = columns(
        rows,
        head.map((_, j) => j >= axes.length),
      );
      const json = {
        tool: 'abe-clip',
        command: 'ablate',
        createdAt: new Date().toISOString(),
        model: f.weights,
        modelPath,
        backend: backend.name,
        device: deviceReport(backend),
        dataset: { name: ds.name, source: ds.source, items: ds.items.length, scored: run.scored.length },
        base: f.config,
        fixed,
        grid: axes,
        baseline: 'clip',
        cells: table.cells,
        clip: table.baseline,
        ...imageProblemsJson(run),
        captionCheck: captionJson(captions),
        seconds: run.seconds,
        points: table.rows.map((r) => ({ ...r, options: scorer.options[r.label] })),
        best: { label: best.label, overall: best.overall },
      };
      fs.writeFileSync(path.join(out, 'ablation.json'), JSON.stringify(json, null, 1) + '\n');
      fs.writeFileSync(path.join(out, 'ablation.csv'), ablationCsv(axes, table));
      const panels = ablationPanels(axes, table, 'clip');
      const files = ['ablation.json', 'ablation.csv', 'ablation.md'];
      if (panels.length) {
        const plot = await linePlots(`${ds.name}: ${f.config} accuracy against each swept option (mean over the others)`, panels);
        await plot.save(path.join(out, 'ablation.png'));
        files.push('ablation.png');
      }
      const md = [
        `# Ablation of \`${f.config}\` on ${ds.name} (${run.scored.length} items, model \`${f.weights}\`)`,
        '',
        'Accuracy per cell for every grid point; p = McNemar exact test of the overall accuracy against CLIP.',
        '',
        `| ${head.join(' | ')} |`,
        `|${head.map((_, j) => (j >= axes.length ? '---:' : '---')).join('|')}|`,
        ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`),
        '',
        ...imageProblemsMarkdown(run, 'ablation.json'),
        ...(captionsClean(captions)
          ? []
          : [
              `**Captions:** ${captions.truncated.length} of ${captions.checked} truncated to the model's ${captions.contextLength}-token context; ${captions.empty.length} with no word (scored anyway). ablation.json lists them.`,
              '',
            ]),
        `Best overall: \`${best.label}\` (${best.overall.toFixed(3)}). Choose settings on a development split; report them on a held-out one.`,
        '',
        ...(panels.length ? ['![ablation](ablation.png)', ''] : []),
      ].join('\n');
      fs.writeFileSync(path.join(out, 'ablation.md'), md);
      const html = writeHtmlReport(out, {
        json,
        sum,
        table: itemTable(run, out, {}),
        title: `${ds.name}: accuracy per cell, ${run.scored.length} items`,
      });
      files.push(...html.map((x) => path.basename(x)));
      io.stdout.write(
        `${text}\n\nbest overall: ${best.label} (${best.overall.toFixed(3)}); ${run.seconds.toFixed(1)} s\n` +
          `wrote ${files.map((x) => path.join(path.relative(process.cwd(), out) || '.', x)).join(', ')}\n`,
      );
    } finally {
      await pool?.close();
      scorer.dispose();
      model.dispose();
    }
    return 0;
  },
});
