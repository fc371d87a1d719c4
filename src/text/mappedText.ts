/**
 * A string that remembers, for each of its UTF-16 code units, which span [start, end) of the ORIGINAL caption
 * it came from. Every cleanup step (HTML unescape, ftfy-like fixes, whitespace collapse, lower-casing) is a
 * regex replacement over it, so token offsets can be traced back through all of them.
 *
 * Tracking is optional: `encode()` runs the same steps with `start`/`end` null, so the ids path and the
 * offsets path cannot drift apart.
 */
export interface MappedText {
  text: string;
  /** Per code unit of `text`: first original code unit it came from (null when not tracked). */
  start: Int32Array | null;
  /** Per code unit of `text`: one past the last original code unit it came from. */
  end: Int32Array | null;
}

export function mapped(text: string, track: boolean): MappedText {
  if (!track) return { text, start: null, end: null };
  const n = text.length;
  const start = new Int32Array(n);
  const end = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    start[i] = i;
    end[i] = i + 1;
  }
  return { text, start, end };
}

/**
 * Replace every match of the global regex `re` by `fn(match)`. All code units of a replacement map to the
 * union of the spans of the code units they replace; untouched code units keep their spans. A zero-length
 * match is skipped (none of our patterns produce one, and it has no span to give); a match replaced by
 * itself is left as it is.
 */
export function replaceMapped(m: MappedText, re: RegExp, fn: (match: RegExpExecArray) => string): MappedText {
  if (!re.global) throw new Error('replaceMapped needs a global regex');
  const src = m.text;
  re.lastIndex = 0;
  let match = re.exec(src);
  if (match === null) return m;

  const parts: string[] = [];
  const track = m.start !== null && m.end !== null;
  // Only used when tracking; sized generously and trimmed at the end.
  let outStart: number[] = [];
  let outEnd: number[] = [];
  let last = 0;
  let changed = false;
  const copyUntouched = (from: number, to: number): void => {
    if (to <= from) return;
    parts.push(src.slice(from, to));
    if (track)
      for (let i = from; i < to; i++) {
        outStart.push(m.start![i]);
        outEnd.push(m.end![i]);
      }
  };
  while (match !== null) {
    const s = match.index;
    const e = s + match[0].length;
    if (e === s) {
      re.lastIndex++;
      match = re.exec(src);
      continue;
    }
    const rep = fn(match);
    // An identity replacement keeps the finer per-unit spans.
    if (rep === match[0]) {
      match = re.exec(src);
      continue;
    }
    changed = true;
    copyUntouched(last, s);
    parts.push(rep);
    if (track && rep.length > 0) {
      let lo = m.start![s];
      let hi = m.end![s];
      for (let i = s + 1; i < e; i++) {
        if (m.start![i] < lo) lo = m.start![i];
        if (m.end![i] > hi) hi = m.end![i];
      }
      for (let i = 0; i < rep.length; i++) {
        outStart.push(lo);
        outEnd.push(hi);
      }
    }
    last = e;
    match = re.exec(src);
  }
  if (!changed) return m;
  copyUntouched(last, src.length);
  const text = parts.join('');
  if (!track) return { text, start: null, end: null };
  const start = Int32Array.from(outStart);
  const end = Int32Array.from(outEnd);
  outStart = [];
  outEnd = [];
  return { text, start, end };
}
