/**
 * `abe-clip` entry point: dispatches to a subcommand, maps errors to exit codes (0 ok, 1 failure,
 * 2 usage) and prints one-line messages for our typed errors (the stack only with --debug).
 * Subcommand modules are loaded on demand so that `--help` does not start TensorFlow.js.
 */
import { inspect } from 'util';
import { isTypedError, UsageError } from '../errors';
import { suggest } from './args';
import type { Command } from './command';
import type { Io } from './io';
import { packageVersion } from './paths';

export const COMMANDS: Record<string, { summary: string; load: () => Command }> = {
  demo: {
    summary: 'evaluate the bundled toy-shapes model on the bundled benchmark (offline)',
    load: () => require('./commands/demo').demo,
  },
  score: { summary: 'CLIP and ABE scores of images × captions', load: () => require('./commands/score').score },
  explain: {
    summary: 'draw where each caption phrase is found in an image (heatmap PNG)',
    load: () => require('./commands/explain').explain,
  },
  eval: {
    summary: 'accuracy on a pairwise benchmark (toy, SugarCrepe, ARO, ABC-6K, Winoground, pairs)',
    load: () => require('./commands/eval').evalCommand,
  },
  retrieval: {
    summary: 'image ↔ text retrieval Recall@1/5/10 both ways on an images folder + a captions file',
    load: () => require('./commands/retrieval').retrieval,
  },
  ablate: { summary: 'sweep ABE options over a benchmark (table, JSON, line plots)', load: () => require('./commands/ablate').ablate },
  convert: {
    summary: 'convert a checkpoint (.safetensors/.pt/HF folder) to the tfjs weight format',
    load: () => require('./commands/convert').convert,
  },
  embed: {
    summary: 'images/texts → sharded .npy embeddings + JSONL metadata (+ ABE features); resumable',
    load: () => require('./commands/embed').embed,
  },
  rank: { summary: 'top-k images per caption by CLIP over an embed output, reranked by ABE', load: () => require('./commands/rank').rank },
  merge: { summary: 'check and combine the shards of embed/score runs', load: () => require('./commands/merge').merge },
  submit: {
    summary: 'enqueue the shards of an embed/score job on a Redis (BullMQ) queue',
    load: () => require('./commands/submit').submit,
  },
  worker: {
    summary: 'process queued shards (retries, stalled-job recovery, exactly-once output)',
    load: () => require('./commands/worker').worker,
  },
  bench: { summary: 'measure encoder and scoring speed', load: () => require('./commands/bench').bench },
  backends: {
    summary: 'which backends load here (version, device) and how to install the others',
    load: () => require('./commands/backends').backends,
  },
};

export function mainHelp(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length)) + 2;
  return [
    'abe-clip — CLIP and ABE-CLIP (attribute-binding) scoring on TensorFlow.js',
    '',
    'Usage: abe-clip <command> [options]      (abe-clip <command> --help, or abe-clip help <command>, for its options)',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(w)}${c.summary}`),
    '',
    'Start with: abe-clip demo',
    '',
  ].join('\n');
}

export type { Io } from './io';

/** Run the CLI on `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const debug = argv.includes('--debug');
  const [name, ...rest] = argv;
  try {
    if (name === 'help' && rest.length) return await main([rest[0], '--help'], io);
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      io.stdout.write(mainHelp());
      return name ? 0 : 2;
    }
    if (name === '--version' || name === '-V') {
      io.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    const entry = COMMANDS[name];
    if (!entry) {
      const close = suggest(name, Object.keys(COMMANDS));
      throw new UsageError(
        name,
        `unknown command${close.length ? ` (did you mean ${close.join(', ')}?)` : ''}; use one of ${Object.keys(COMMANDS).join(', ')}`,
      );
    }
    return await entry.load().run(rest, io);
  } catch (e) {
    return reportError(e, debug, io, name);
  }
}

function reportError(e: unknown, debug: boolean, io: Io, command: string | undefined): number {
  const usage = e instanceof UsageError;
  if (isTypedError(e)) {
    io.stderr.write(`abe-clip: error: ${e.message}\n`);
    if (usage) io.stderr.write(`Run 'abe-clip ${command && COMMANDS[command] ? command + ' ' : ''}--help' for usage.\n`);
  } else {
    const msg = describe(e);
    io.stderr.write(`abe-clip: error: ${msg}\n`);
    if (!debug) io.stderr.write('(an unexpected error: run again with --debug for the stack trace)\n');
  }
  if (debug && e instanceof Error && e.stack) io.stderr.write(e.stack + '\n');
  return usage ? 2 : 1;
}

/** A message for anything thrown (errors, strings, prototype-less objects from workers). */
function describe(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e && typeof (e as Error).message === 'string') return (e as Error).message;
  try {
    return typeof e === 'string' ? e : inspect(e, { depth: 2, breakLength: Infinity });
  } catch {
    return 'unknown error';
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
