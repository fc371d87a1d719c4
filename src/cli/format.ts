/** Small formatting helpers for terminal output. */
import type { BackendInfo } from '../backend';

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function backendLine(b: BackendInfo): string {
  return `backend: ${b.name} ${b.version} (${b.device.summary})`;
}

/** Left/right aligned columns; `right` marks the columns to right-align. */
export function columns(rows: string[][], right: boolean[] = []): string {
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => (r[j] ?? '').length)));
  return rows.map((r) => r.map((x, j) => (right[j] ? x.padStart(w[j]) : x.padEnd(w[j]))).join('  ').trimEnd()).join('\n');
}
