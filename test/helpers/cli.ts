/** Run the CLI in this process (`main(argv, io)`), capturing stdout and stderr: no start-up cost per call. */
import { main } from '../../src/cli/main';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function inProcess(args: string[]): Promise<CliRun> {
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
  const code = await main(args, io);
  return { code, stdout, stderr };
}
