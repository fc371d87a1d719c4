/** `abe-clip convert`: any supported checkpoint → our converted weight folder, verified against the input. */
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../backend';
import { convertCheckpoint, ConvertProgress } from '../../clip/convert';
import { BUNDLED_MODELS } from '../../clip/load';
import { UsageError } from '../../errors';
import { defineCommand } from '../command';
import { backendLine, bytes } from '../format';

export const convert = defineCommand<{
  input?: string;
  config?: string;
  out: string;
  dtype?: 'f16' | 'f32';
  act?: 'quick_gelu' | 'gelu';
  'no-verify'?: boolean;
  json?: boolean;
  backend?: string;
}>({
  name: 'convert',
  summary: 'convert a checkpoint (.safetensors, .pt, TorchScript, Hugging Face or open_clip folder) to the tfjs weight format',
  usage: 'abe-clip convert CHECKPOINT --out FOLDER [--dtype f16|f32] [--act quick_gelu|gelu] [--config FILE]',
  positionals: true,
  flags: [
    { name: 'input', type: 'string', placeholder: 'PATH', help: 'checkpoint file or folder (or give it as the first argument)' },
    {
      name: 'config',
      type: 'string',
      placeholder: 'FILE',
      help: 'geometry config JSON (HF, open_clip or openai style) for a bare file whose heads are not width/64',
    },
    { name: 'out', type: 'string', required: true, placeholder: 'FOLDER', help: 'output folder (must not exist, or be empty)' },
    {
      name: 'dtype',
      type: 'string',
      choices: ['f16', 'f32'],
      placeholder: 'f16|f32',
      help: "stored precision (default: the source's — f16 when every weight is stored as f16, else f32)",
    },
    {
      name: 'act',
      type: 'string',
      choices: ['quick_gelu', 'gelu'],
      placeholder: 'ACT',
      help: 'activation override (LAION open_clip models use gelu)',
    },
    { name: 'no-verify', type: 'boolean', help: 'skip re-loading the output and comparing it with the input' },
    { name: 'json', type: 'boolean', help: 'print the report as JSON' },
  ],
  notes: 'Example:\n  abe-clip convert ViT-B-32.pt --out weights/vit-b32 --dtype f16\n',
  async exec(f, io) {
    const inputs = [...(f.input ? [f.input] : []), ...f._];
    if (inputs.length !== 1)
      throw new UsageError(
        'convert',
        inputs.length
          ? `one checkpoint expected, got ${inputs.length}: ${inputs.join(' ')}`
          : 'missing the checkpoint to convert (abe-clip convert CHECKPOINT --out FOLDER)',
      );
    // Usage errors before anything starts: the checkpoint must exist (bundled model names are accepted too),
    // and the output folder must be new or empty.
    if (!fs.existsSync(inputs[0]) && !(BUNDLED_MODELS as readonly string[]).includes(inputs[0]))
      throw new UsageError(inputs[0], 'no such file or folder');
    if (fs.existsSync(f.out) && (!fs.statSync(f.out).isDirectory() || fs.readdirSync(f.out).length > 0)) {
      throw new UsageError(`--out ${f.out}`, 'already exists; choose a new folder (nothing is overwritten)');
    }
    const backend = await initBackend({ backend: f.backend, source: '--backend' });
    if (!f.json) io.stderr.write(backendLine(backend) + '\n');
    let lastStage = '';
    const onProgress = (p: ConvertProgress): void => {
      if (f.json) return;
      if (p.stage !== lastStage) {
        if (lastStage && io.stderr.isTTY) io.stderr.write('\n');
        lastStage = p.stage;
      }
      const frac = p.total ? ` ${Math.round((100 * p.done) / p.total)}%` : '';
      const line = `${p.stage}${frac}${p.message ? ' ' + p.message : ''}`;
      if (io.stderr.isTTY) io.stderr.write(`\r${line}\x1b[K`);
      else if (p.done === p.total || p.done === 0) io.stderr.write(line + '\n');
    };
    const r = await convertCheckpoint(inputs[0], {
      out: f.out,
      config: f.config,
      dtype: f.dtype,
      act: f.act,
      onProgress,
      verify: !f['no-verify'],
    });
    if (io.stderr.isTTY && !f.json) io.stderr.write('\n');
    if (f.json) {
      io.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return 0;
    }
    io.stdout.write(
      [
        `converted ${r.input} → ${path.resolve(r.out)}`,
        `  family      ${r.family} (${r.inputKind}, ${r.tensors} tensors, ${r.params.toLocaleString('en-US')} parameters)`,
        `  size        ${bytes(r.inputBytes)} → ${bytes(r.outBytes)} (${r.dtype})`,
        `  verified    ${r.maxAbsDiff === null ? 'skipped' : `max |Δ| = ${r.maxAbsDiff.toExponential(2)} (embeds and logits on a fixed input, ${r.verifyBackend} backend)`}`,
        `  peak memory ${bytes(r.peakRssBytes)}; ${r.seconds.toFixed(1)} s`,
        '',
      ].join('\n'),
    );
    return 0;
  },
});
