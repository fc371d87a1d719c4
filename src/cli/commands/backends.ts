/**
 * `abe-clip backends`: which backends load here, why the others do not (one line each), their version and
 * device, which one automatic selection picks, and the command that installs each. Every backend is probed in
 * its own child process (src/backends/probe.ts), so the answers do not depend on each other.
 */
import { AUTO_ORDER } from '../../backends/names';
import { probeInChild, ProbeName, ProbeResult } from '../../backends/probe';
import { defineCommand } from '../command';
import { columns } from '../format';

export const backends = defineCommand<{ json?: boolean; backend?: string }>({
  name: 'backends',
  summary: 'which backends load here, on what device, and how to install the others',
  usage: 'abe-clip backends [--json] [--backend NAME]',
  flags: [
    {
      name: 'json',
      type: 'boolean',
      help: 'print {selected, backends: [{name, ok, auto, version, device, why, install, seconds}]} as JSON',
    },
  ],
  notes: [
    'Each backend is loaded in a fresh process and checked on a 2×2 matMul. "auto" is what automatic selection',
    `(order ${AUTO_ORDER.join(' → ')}) would take; --backend NAME probes only NAME (exit 1 when it does not load).`,
  ].join('\n'),
  async exec(f, io) {
    const names: ProbeName[] =
      f.backend === undefined ? [...AUTO_ORDER] : f.backend === 'tensorflow' ? ['tfjs-node-gpu', 'tfjs-node'] : [f.backend as ProbeName];
    // All at once: most of a probe is waiting on module loading, and each is its own process.
    const results = await Promise.all(names.map((n) => probeInChild(n)));
    const selected = f.backend === undefined ? (results.find((r) => r.ok && r.auto)?.name ?? null) : undefined;
    if (f.json) {
      io.stdout.write(JSON.stringify({ ...(selected !== undefined ? { selected } : {}), backends: results }, null, 2) + '\n');
    } else {
      io.stdout.write(formatBackends(results, selected));
      const env = process.env.ABE_BACKEND;
      if (env) io.stdout.write(`note: ABE_BACKEND=${env} is set in this environment; commands use it instead of the automatic choice\n`);
    }
    return f.backend !== undefined && !results.some((r) => r.ok) ? 1 : 0;
  },
});

/** The terminal table; `selected` (when all were probed) adds the automatic choice. */
export function formatBackends(rs: ProbeResult[], selected?: string | null): string {
  const rows = [['backend', 'loads', 'version', 'device, or why not']];
  const notes: string[] = [];
  for (const r of rs) {
    const state = r.ok ? (r.auto ? 'yes' : 'forced') : 'no';
    rows.push([r.name, state, r.version ?? '-', r.ok ? `${r.device?.summary ?? ''}${r.why ? `; ${r.why}` : ''}` : (r.why ?? '')]);
    if (!r.ok || !r.auto) notes.push(`  ${r.name}: ${r.install}`);
  }
  const lines = [columns(rows)];
  if (notes.length) lines.push('', 'to install:', ...notes);
  if (selected !== undefined)
    lines.push('', `automatic selection: ${selected ?? 'none'} (force another with --backend NAME or ABE_BACKEND)`);
  return lines.join('\n') + '\n';
}
