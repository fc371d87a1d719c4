/** Small formatting helpers for terminal output. */
import type { BackendInfo } from '../backend';

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function backendLine(b: BackendInfo): string {
  return `backend: ${b.name} ${b.version} (${b.device.summary})`;
}

/** Left/right aligned columns; `right` marks the columns to right-align. */
export function columns(rows: string[][], right: boolean[] = []): string {
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => (r[j] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((x, j) => (right[j] ? x.padStart(w[j]) : x.padEnd(w[j])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Missing and undecodable images on stderr (eval, ablate), in the same words; `jsonName` lists them all. */
export function reportMissing(
  missing: { file: string; items: number }[],
  failed: { file: string; error: string; items: number }[],
  io: { stderr: NodeJS.WritableStream },
  jsonName = 'report.json',
): void {
  if (missing.length) {
    const items = missing.reduce((n, m) => n + m.items, 0);
    io.stderr.write(`warning: ${missing.length} image file(s) missing, ${items} item(s) skipped (--strict makes this an error):\n`);
    for (const m of missing.slice(0, 10)) io.stderr.write(`  ${m.file}\n`);
    if (missing.length > 10) io.stderr.write(`  … and ${missing.length - 10} more (listed in ${jsonName})\n`);
  }
  if (failed.length) {
    io.stderr.write(`warning: ${failed.length} image(s) could not be decoded and were skipped:\n`);
    for (const m of failed.slice(0, 10)) io.stderr.write(`  ${m.file}: ${m.error}\n`);
  }
}
