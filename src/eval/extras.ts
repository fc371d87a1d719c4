/**
 * Dataset-specific headline metrics beyond per-subset accuracy:
 * - Winoground: text, image and group scores per configuration (each example's two items hold the four
 *   scores S(c0,i0), S(c1,i0), S(c1,i1), S(c0,i1) that the official metrics need);
 * - ARO VG-Attribution: the macro accuracy over attribute pairs (ARO's headline number) besides the micro one.
 */
import type { RunResult } from './runner';

export interface WinogroundScores { examples: number; text: number; image: number; group: number }

export function winogroundScores(run: RunResult): Record<string, WinogroundScores> | undefined {
  const byEx = new Map<string, { i0?: Record<string, [number, number]>; i1?: Record<string, [number, number]> }>();
  for (const s of run.scored) {
    const m = s.item.meta as { example?: unknown; which?: number } | undefined;
    if (!m || m.example === undefined || (m.which !== 0 && m.which !== 1)) return undefined;
    const e = byEx.get(String(m.example)) ?? {};
    e[m.which === 0 ? 'i0' : 'i1'] = s.scores;
    byEx.set(String(m.example), e);
  }
  const complete = [...byEx.values()].filter((e) => e.i0 && e.i1);
  if (!complete.length) return undefined;
  const out: Record<string, WinogroundScores> = {};
  for (const cfg of run.configs) {
    let text = 0, image = 0, group = 0;
    for (const e of complete) {
      // i0: [S(c0,i0), S(c1,i0)]; i1: [S(c1,i1), S(c0,i1)].
      const [c0i0, c1i0] = e.i0![cfg], [c1i1, c0i1] = e.i1![cfg];
      const t = c0i0 > c1i0 && c1i1 > c0i1;
      const im = c0i0 > c0i1 && c1i1 > c1i0;
      text += +t; image += +im; group += +(t && im);
    }
    const n = complete.length;
    out[cfg] = { examples: n, text: text / n, image: image / n, group: group / n };
  }
  return out;
}

/** Mean over attribute pairs (`attributes` joined) of the per-pair accuracy, per configuration. */
export function aroMacroAccuracy(run: RunResult): Record<string, { pairs: number; macro: number }> | undefined {
  const groups = new Map<string, typeof run.scored>();
  for (const s of run.scored) {
    const a = (s.item.meta as { attributes?: string[] } | undefined)?.attributes;
    if (!a) return undefined;
    const k = a.join('_');
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(s);
  }
  if (!groups.size) return undefined;
  const out: Record<string, { pairs: number; macro: number }> = {};
  for (const cfg of run.configs) {
    let sum = 0;
    for (const g of groups.values()) sum += g.filter((s) => s.scores[cfg][0] > s.scores[cfg][1]).length / g.length;
    out[cfg] = { pairs: groups.size, macro: sum / groups.size };
  }
  return out;
}

/** The extras that apply to a dataset, for report.json and the terminal. */
export function datasetExtras(name: string, run: RunResult): { json: Record<string, unknown>; lines: string[] } {
  const json: Record<string, unknown> = {};
  const lines: string[] = [];
  if (name === 'winoground') {
    const w = winogroundScores(run);
    if (w) {
      json.winoground = w;
      lines.push('Winoground scores (text / image / group):');
      for (const [cfg, r] of Object.entries(w)) lines.push(`  ${cfg}: ${r.text.toFixed(3)} / ${r.image.toFixed(3)} / ${r.group.toFixed(3)} over ${r.examples} examples`);
    }
  }
  if (name === 'aro-attribution') {
    const a = aroMacroAccuracy(run);
    if (a) {
      json.aroMacroAccuracy = a;
      lines.push('ARO macro accuracy over attribute pairs:');
      for (const [cfg, r] of Object.entries(a)) lines.push(`  ${cfg}: ${r.macro.toFixed(3)} over ${r.pairs} attribute pairs`);
    }
  }
  return { json, lines };
}
