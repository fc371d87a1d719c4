/** The shape of a subcommand and the helpers every subcommand shares. */
import { quietCpuBanner } from '../tensor/quiet';
import { formatHelp, FlagSpec, parseFlags, ParsedFlags } from './args';
import type { Io } from './io';

export interface Command {
  name: string;
  run(argv: string[], io: Io): Promise<number>;
}

export interface CommandSpec<F> {
  name: string;
  summary: string;
  usage: string;
  flags: FlagSpec[];
  /** Text after the options in --help (examples, notes). */
  notes?: string;
  positionals?: boolean;
  exec(flags: F & ParsedFlags & { _: string[] }, io: Io): Promise<number>;
}

/** Wrap a spec: parse (usage errors surface to main), handle --help, then execute. */
export function defineCommand<F>(spec: CommandSpec<F>): Command {
  return {
    name: spec.name,
    async run(argv, io) {
      const flags = parseFlags(argv, spec.flags, { positionals: spec.positionals });
      if (flags.help) {
        io.stdout.write(formatHelp(spec.name, spec.summary, spec.usage, spec.flags, spec.notes));
        return 0;
      }
      quietCpuBanner();
      return spec.exec(flags as F & ParsedFlags & { _: string[] }, io);
    },
  };
}
