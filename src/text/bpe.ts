/**
 * Byte-pair encoding of one pre-token, with the result of `SimpleTokenizer.bpe` but in O(n log n).
 *
 * The reference repeatedly takes the lowest-ranked adjacent pair and merges all its occurrences left to
 * right, re-scanning the whole word each time (quadratic). Here the word is a linked list of symbol ids and
 * the candidate pairs sit in a min-heap keyed by (rank, position). One "round" pops every entry of the
 * lowest rank and merges the still-valid ones in position order — the same left-to-right sweep — and pushes
 * the pairs each merge creates. Entries made stale by a neighbouring merge are skipped when popped. A merge
 * can only create pairs that contain its (new, longer) symbol, so it never creates another pair of the rank
 * being swept, which is what makes the rounds match the reference's passes exactly.
 */
import { BYTE_TO_ID } from './byteUnicode';
import { VOCAB_SIZE } from './constants';
import type { Vocab } from './vocab';

/** Binary min-heap of non-negative float keys (no objects: one Float64Array). */
class KeyHeap {
  private keys: Float64Array;
  size = 0;
  constructor(capacity: number) {
    this.keys = new Float64Array(Math.max(4, capacity));
  }
  push(k: number): void {
    if (this.size === this.keys.length) {
      const bigger = new Float64Array(this.keys.length * 2);
      bigger.set(this.keys);
      this.keys = bigger;
    }
    const a = this.keys;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= k) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = k;
  }
  peek(): number {
    return this.keys[0];
  }
  pop(): number {
    const a = this.keys;
    const top = a[0];
    const last = a[--this.size];
    let i = 0;
    const n = this.size;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && a[c + 1] < a[c]) c++;
      if (a[c] >= last) break;
      a[i] = a[c];
      i = c;
    }
    if (n > 0) a[i] = last;
    return top;
  }
}

/**
 * Token ids of one pre-token given as its UTF-8 bytes (non-empty). The last byte carries the end-of-word
 * marker, as in the reference (`word[-1] + '</w>'`).
 */
export function bpeBytes(bytes: Uint8Array, vocab: Vocab): number[] {
  const n = bytes.length;
  const sym = new Int32Array(n);
  for (let i = 0; i < n; i++) sym[i] = BYTE_TO_ID[bytes[i]];
  sym[n - 1] += 256;
  if (n === 1) return [sym[0]];

  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  const { mergeRank, mergeResult } = vocab;
  // Key = rank * n + position: pops lowest rank first, leftmost first within a rank.
  const heap = new KeyHeap(2 * n);
  // Pairs created during a round wait here: one of lower rank must not cut into the current sweep.
  let pending: number[] = [];
  const pushPair = (i: number): void => {
    const j = next[i];
    if (j < 0) return;
    const r = mergeRank.get(sym[i] * VOCAB_SIZE + sym[j]);
    if (r !== undefined) pending.push(r * n + i);
  };
  for (let i = 0; i < n - 1; i++) pushPair(i);
  for (const k of pending) heap.push(k);
  pending = [];

  let alive = n;
  const dead = new Uint8Array(n);
  while (heap.size > 0 && alive > 1) {
    const rank = Math.floor(heap.peek() / n);
    const result = mergeResult[rank];
    // Entries of one rank come out in position order, i.e. the reference's left-to-right sweep.
    while (heap.size > 0 && Math.floor(heap.peek() / n) === rank) {
      const i = heap.pop() - rank * n;
      if (dead[i]) continue;
      const j = next[i];
      if (j < 0 || mergeRank.get(sym[i] * VOCAB_SIZE + sym[j]) !== rank) continue;
      sym[i] = result;
      dead[j] = 1;
      alive--;
      const k = next[j];
      next[i] = k;
      if (k >= 0) prev[k] = i;
      if (prev[i] >= 0) pushPair(prev[i]);
      pushPair(i);
    }
    for (const key of pending) heap.push(key);
    pending = [];
  }
  const out: number[] = [];
  for (let i = 0; i >= 0; i = next[i]) out.push(sym[i]);
  return out;
}
