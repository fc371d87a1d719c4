/** Run the CLI in this process (`main(argv, io)`), capturing stdout and stderr: no start-up cost per call. */
import { main } from '../../src/cli/main';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `processStderr`: also capture what goes to the process's own stderr while the call runs (library warnings,
 * e.g. the feature cache's, have no io object), into the same `stderr`.
 */
export async function inProcess(args: string[], opts: { processStderr?: boolean } = {}): Promise<CliRun> {
  let stdout = '',
    stderr = '';
  const io = {
    stdout: {
      write: (s: string) => {
        stdout += s;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
    stderr: {
      write: (s: string) => {
        stderr += s;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
  };
  const write = process.stderr.write.bind(process.stderr);
  if (opts.processStderr) {
    process.stderr.write = ((s: string) => {
      stderr += s;
      return true;
    }) as typeof process.stderr.write;
  }
  try {
    const code = await main(args, io);
    return { code, stdout, stderr };
  } finally {
    process.stderr.write = write;
  }
}
