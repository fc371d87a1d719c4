/**
 * The command line's and evaluation's caption policy: captions longer than the model's context are truncated
 * (as CLIP's benchmarks do) and captions without a word are scored, but both are counted, listed on the
 * terminal and in the report JSON, and `--strict` makes them an error. The library itself throws on
 * over-long captions unless called with `truncate: true` (src/abe/scorer.ts).
 */
import { checkCaption } from '../text/caption-check';
import { abbreviate } from '../text/tokenizer';

export interface CaptionReport {
  contextLength: number;
  /** Distinct captions checked. */
  checked: number;
  /** Distinct captions cut to the context length, with the tokens each needs (SOT/EOT included). */
  truncated: { caption: string; tokens: number }[];
  /** Distinct captions with no letter or digit. */
  empty: string[];
}

export function captionReport(captions: Iterable<string>, contextLength: number): CaptionReport {
  const seen = new Set(captions);
  const r: CaptionReport = { contextLength, checked: seen.size, truncated: [], empty: [] };
  for (const c of seen) {
    const k = checkCaption(c, contextLength);
    if (k.truncated) r.truncated.push({ caption: c, tokens: k.tokens });
    if (k.empty) r.empty.push(c);
  }
  return r;
}

/** Nothing to report. */
export function captionsClean(r: CaptionReport): boolean {
  return !r.truncated.length && !r.empty.length;
}

/** One line per problem kind (and a few examples), for stderr; [] when clean. */
export function captionWarnings(r: CaptionReport, strictHint = true): string[] {
  const out: string[] = [];
  const hint = strictHint ? ' (--strict makes this an error)' : '';
  if (r.truncated.length) {
    out.push(`warning: ${r.truncated.length} caption(s) longer than the model's ${r.contextLength}-token context were truncated${hint}:`);
    for (const t of r.truncated.slice(0, 5)) out.push(`  ${abbreviate(t.caption)} (${t.tokens} tokens)`);
    if (r.truncated.length > 5) out.push(`  … and ${r.truncated.length - 5} more`);
  }
  if (r.empty.length) {
    out.push(`warning: ${r.empty.length} caption(s) have no word (empty or punctuation only) and were scored anyway${hint}:`);
    for (const t of r.empty.slice(0, 5)) out.push(`  ${JSON.stringify(t)}`);
    if (r.empty.length > 5) out.push(`  … and ${r.empty.length - 5} more`);
  }
  return out;
}

/** The problem for a --strict error message; null when clean. */
export function captionProblem(r: CaptionReport): string | null {
  if (r.truncated.length) {
    const t = r.truncated[0];
    return `${r.truncated.length} caption(s) longer than the model's ${r.contextLength}-token context (--strict), first: ${abbreviate(t.caption)} needs ${t.tokens} tokens`;
  }
  if (r.empty.length) return `${r.empty.length} caption(s) with no word (--strict), first: ${JSON.stringify(r.empty[0])}`;
  return null;
}

/** The `captions` block of report JSON files (counts, and every affected caption). */
export function captionJson(r: CaptionReport): Record<string, unknown> {
  return {
    contextLength: r.contextLength,
    checked: r.checked,
    truncated: r.truncated.length,
    empty: r.empty.length,
    truncatedCaptions: r.truncated,
    emptyCaptions: r.empty,
  };
}
