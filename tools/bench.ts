/**
 * Developer entry to the benchmark without the CLI: `npx ts-node --transpile-only tools/bench.ts [--quick]
 * [--json] [--threads N] [--backend wasm]`. Progress goes to stderr, the table or JSON to stdout.
 */
import { formatBenchTable, runBench } from '../src/bench';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const threads = value('--threads');
  const report = await runBench({
    quick: argv.includes('--quick'),
    json: argv.includes('--json'),
    ...(threads ? { threads: Number(threads) } : {}),
    ...(value('--backend') ? { backend: value('--backend') } : {}),
    onProgress: (m) => process.stderr.write(`[bench] ${m}\n`),
  });
  process.stdout.write(argv.includes('--json') ? `${JSON.stringify(report, null, 2)}\n` : `${formatBenchTable(report)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
