/**
 * `abe-clip retrieval` (also `abe-clip eval --task retrieval`): Recall@K both ways on an images folder and a
 * captions file, every configuration side by side, with each query's rank in retrieval.json.
 */
import * as fs from 'fs';
import * as path from 'path';
import { deviceReport, initBackend } from '../../backend';
import { UsageError } from '../../errors';
import { captionJson } from '../../eval/captions';
import { loadRetrieval, RETRIEVAL_FORMATS, retrievalFolderHint } from '../../eval/datasets/retrieval';
import { recallAtK, RecallResult, trivialKs } from '../../eval/metrics';
import { writeRetrievalHtml } from '../../eval/html/retrieval';
import { prepareOutDir, shownPath } from '../../eval/report';
import { defineCommand } from '../command';
import { backendLine, columns } from '../format';
import { checkCaptions, checkConfigFlags, CONFIG_FLAGS, ConfigFlags, openScorer, requirePath } from '../setup';
import type { FlagSpec } from '../args';
import type { Io } from '../main';

export type RetrievalFlags = ConfigFlags & {
  data?: string;
  images?: string;
  limit?: number;
  out: string;
  strict?: boolean;
  backend?: string;
  'allow-outside-images'?: boolean;
};

const KS = [1, 5, 10];

export const RETRIEVAL_FLAGS: FlagSpec[] = [
  { name: 'data', type: 'string', required: true, placeholder: 'FILE', help: `captions file: ${RETRIEVAL_FORMATS}` },
  { name: 'images', type: 'string', required: true, placeholder: 'DIR', help: 'folder the image names are relative to' },
  { name: 'limit', type: 'int', min: 1, placeholder: 'N', help: 'use the first N captions (and their images)' },
  {
    name: 'strict',
    type: 'boolean',
    help: "fail on a caption longer than the model's context or with no word (default: truncate or score it, and warn)",
  },
  { name: 'allow-outside-images', type: 'boolean', help: 'accept image paths outside the images folder (absolute or ../)' },
];

export const retrieval = defineCommand<RetrievalFlags>({
  name: 'retrieval',
  summary: 'image ↔ text retrieval Recall@1/5/10 both ways, CLIP and ABE side by side',
  usage: 'abe-clip retrieval --data captions.jsonl --images DIR [--limit N] [--out DIR] [options]',
  flags: [
    ...RETRIEVAL_FLAGS,
    {
      name: 'out',
      type: 'string',
      default: 'abe-clip-retrieval',
      placeholder: 'DIR',
      help: 'output folder for retrieval.json, retrieval.md and report.html',
    },
    ...CONFIG_FLAGS,
  ],
  notes: [
    'Captions file formats (each caption belongs to one image; an image may have several captions):',
    '  JSON lines   {"image": "a.jpg", "caption": "a red cube"}  or  {"image": "a.jpg", "captions": ["…", "…"]}',
    '  text         a.jpg<TAB>a red cube        (one caption per line; any file name not ending in .jsonl)',
    "Every image must exist (a missing one is an error: it would change every other query's rank).",
    'Recall@K counts a query right when a true match is among its K best; ties count against it. A K at or',
    'above the number of candidates is 1.0 by construction: the command warns and retrieval.json marks it.',
    '',
    'Example:',
    '  abe-clip retrieval --weights vit-b32 --data flickr-captions.jsonl --images flickr/images',
  ].join('\n'),
  exec: (f, io) => runRetrieval(f, io, 'retrieval'),
});

/** The retrieval run shared by `retrieval` and `eval --task retrieval` (flags already parsed). */
export async function runRetrieval(f: RetrievalFlags, io: Io, command: string): Promise<number> {
  if (!f.data) throw new UsageError('--data', `is required for retrieval (captions file: ${RETRIEVAL_FORMATS})`);
  if (!f.images) throw new UsageError('--images', 'is required for retrieval (the folder the image names are relative to)');
  requirePath('--data', f.data, 'file');
  if (fs.statSync(f.data).isDirectory()) throw new UsageError(`--data ${f.data}`, retrievalFolderHint(f.data));
  requirePath('--images', f.images, 'folder');
  checkConfigFlags(f);
  const out = prepareOutDir(f.out);
  const set = loadRetrieval(f.data, f.images, f['allow-outside-images'] === true);
  if (f.limit !== undefined && f.limit < set.captions.length) {
    set.captions = set.captions.slice(0, f.limit);
    set.captionImage = set.captionImage.slice(0, f.limit);
    // Keep only the images the kept captions belong to, renumbered in order.
    const keep = [...new Set(set.captionImage)].sort((a, b) => a - b);
    const renum = new Map(keep.map((k, i) => [k, i]));
    set.images = keep.map((k) => set.images[k]);
    set.captionImage = set.captionImage.map((k) => renum.get(k)!);
  }
  const missing = set.images.filter((p) => !fs.existsSync(p));
  if (missing.length) {
    throw new UsageError(
      `--images ${f.images}`,
      `${missing.length} image file(s) of the captions file are missing (first: ${missing[0]}); retrieval needs every image`,
    );
  }
  const backend = await initBackend({ backend: f.backend, source: '--backend' });
  io.stderr.write(`${backendLine(backend)}\n`);
  const s = await openScorer(f, io);
  try {
    const caps = checkCaptions(set.captions, s.contextLength, { strict: f.strict, source: set.source }, io);
    const trivial = trivialKs(set.images.length, set.captionImage, KS);
    const notes: string[] = [];
    if (trivial.imageToText.length)
      notes.push(
        `image→text R@${trivial.imageToText.join(', R@')} (every image's true caption is always within the top K of ${set.captions.length} captions)`,
      );
    if (trivial.textToImage.length)
      notes.push(`text→image R@${trivial.textToImage.join(', R@')} (K ≥ the ${set.images.length} candidate images)`);
    for (const n of notes) io.stderr.write(`warning: ${n} is 1.0 by construction; use more images for a meaningful figure\n`);
    const refs = set.images.map((p) => ({ key: p, path: p }));
    const { scores } = await s.scorer.matrix(refs, set.captions, io.stderr);
    const results: Record<string, RecallResult> = {};
    for (const cfg of s.scorer.configs) results[cfg] = recallAtK(scores[cfg], set.images.length, set.captionImage, KS);
    const ks = KS.map((k) => `R@${k}`);
    const mark = (dir: number[], k: number): string => (dir.includes(k) ? '*' : '');
    const rows = [
      [
        'config',
        ...KS.map((k) => `i→t R@${k}${mark(trivial.imageToText, k)}`),
        ...KS.map((k) => `t→i R@${k}${mark(trivial.textToImage, k)}`),
      ],
    ];
    for (const cfg of s.scorer.configs) {
      rows.push([cfg, ...ks.map((k) => results[cfg].imageToText[k].toFixed(3)), ...ks.map((k) => results[cfg].textToImage[k].toFixed(3))]);
    }
    const table = columns(
      rows,
      rows[0].map((_, j) => j > 0),
    );
    const footnote = notes.length ? `* 1.0 by construction: ${notes.join('; ')}` : '';
    const recall: Record<string, Pick<RecallResult, 'imageToText' | 'textToImage'>> = {};
    for (const [cfg, r] of Object.entries(results)) recall[cfg] = { imageToText: r.imageToText, textToImage: r.textToImage };
    const json = {
      tool: 'abe-clip',
      command,
      createdAt: new Date().toISOString(),
      model: s.modelLabel,
      backend: backend.name,
      device: deviceReport(backend),
      data: set.source,
      images: set.images.length,
      captions: set.captions.length,
      configs: s.scorer.configs,
      options: s.scorer.options,
      recall,
      trivialK: trivial,
      captionCheck: captionJson(caps),
      // Each query's 1-based rank of its best true match, per configuration, in the order of `queries`.
      queries: {
        images: set.images.map(shownPath),
        captions: set.captions.map((c, k) => ({ caption: c, image: set.captionImage[k] })),
      },
      ranks: Object.fromEntries(
        Object.entries(results).map(([cfg, r]) => [
          cfg,
          {
            imageToText: r.ranks.imageToText.map((x) => x + 1),
            textToImage: r.ranks.textToImage.map((x) => x + 1),
          },
        ]),
      ),
    };
    fs.writeFileSync(path.join(out, 'retrieval.json'), JSON.stringify(json, null, 1) + '\n');
    const md =
      `# Retrieval: ${set.images.length} images, ${set.captions.length} captions (model \`${s.modelLabel}\`)\n\n` +
      `| ${rows[0].join(' | ')} |\n|${rows[0].map((_, j) => (j ? '---:' : '---')).join('|')}|\n` +
      rows
        .slice(1)
        .map((r) => `| ${r.join(' | ')} |`)
        .join('\n') +
      '\n' +
      (footnote ? `\n${footnote}\n` : '') +
      "\nretrieval.json holds every query's rank (`ranks`, 1 = first).\n";
    fs.writeFileSync(path.join(out, 'retrieval.md'), md);
    const html = writeRetrievalHtml(out, { json, scores, images: set.images, captions: set.captions, captionImage: set.captionImage });
    io.stdout.write(
      table +
        '\n' +
        (footnote ? footnote + '\n' : '') +
        '\nwrote ' +
        ['retrieval.json', 'retrieval.md', ...html.map((x) => path.basename(x))]
          .map((x) => path.join(path.relative(process.cwd(), out) || '.', x))
          .join(', ') +
        '\n',
    );
  } finally {
    s.dispose();
  }
  return 0;
}
