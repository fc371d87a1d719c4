/** `abe-clip bench`: encoder, preprocessing and scoring speed (the measurements live in src/bench). */
import * as fs from 'fs';
import { formatBenchTable, formatPeerTable, runBench, runPeerBench } from '../../bench';
import { defineCommand } from '../command';

export const bench = defineCommand<{ quick?: boolean; json?: boolean; threads?: number; out?: string; backend?: string; peer?: boolean }>({
  name: 'bench',
  summary: 'measure encoder, preprocessing and scoring speed (ViT-B/32 geometry, random weights)',
  usage: 'abe-clip bench [--quick] [--peer] [--json] [--threads N] [--out FILE.json]',
  flags: [
    { name: 'quick', type: 'boolean', help: 'tiny sizes: a smoke test in seconds' },
    { name: 'peer', type: 'boolean', help: 'only the onnxruntime comparison (ViT-B/32 images at batch 8, texts at batch 32)' },
    { name: 'json', type: 'boolean', help: 'print the report as JSON instead of a table' },
    {
      name: 'threads',
      type: 'int',
      min: 1,
      placeholder: 'N',
      help: 'threads for the all-cores figures: wasm pool workers, TensorFlow intra-op threads (default: the cores available)',
    },
    { name: 'out', type: 'string', placeholder: 'FILE', help: 'also write the JSON report to FILE' },
  ],
  async exec(f, io) {
    const o = {
      quick: f.quick,
      threads: f.threads,
      backend: f.backend,
      onProgress: f.json ? undefined : (m: string) => io.stderr.write(`${m}\n`),
    };
    const report = f.peer ? await runPeerBench(o) : await runBench(o);
    if (f.out) fs.writeFileSync(f.out, JSON.stringify(report, null, 2) + '\n');
    const text =
      'peer' in report && !('models' in report)
        ? formatPeerTable(report)
        : formatBenchTable(report as Parameters<typeof formatBenchTable>[0]);
    io.stdout.write(f.json ? JSON.stringify(report, null, 2) + '\n' : text + '\n');
    return 0;
  },
});
