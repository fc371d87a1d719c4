/**
 * Developer entry to the benchmark without the CLI: `npx ts-node --transpile-only tools/bench.ts [--quick]
 * [--json] [--threads N] [--backend wasm] [--scoring-only]`. Progress goes to stderr, the table or JSON to stdout.
 * `--scoring-only` runs just the fresh-process scoring job (ViT-B/32: 1024 images × 1024 captions) and prints
 * its JSON and the peak-RSS / weights ratio.
 */
import { formatBenchTable, runBench } from '../src/bench';
import { scoringInFreshProcess } from '../src/bench/scoring-job';

async function scoringOnly(quick: boolean, backend: string | undefined): Promise<void> {
  const n = quick ? 32 : 1024;
  const r = await scoringInFreshProcess({ quick, backend, n, m: n, distinct: quick ? 4 : 16, repeats: quick ? 2 : 3, imageBatch: 8 }, (m) =>
    process.stderr.write(`[bench] ${m}\n`),
  );
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  process.stdout.write(`peak RSS while scoring / weights float32: ${(r.peakRssBytes / r.weightsBytes).toFixed(2)} (target ≤ 2.00)\n`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const threads = value('--threads');
  if (argv.includes('--scoring-only')) return scoringOnly(argv.includes('--quick'), value('--backend'));
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
