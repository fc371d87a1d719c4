/**
 * Semantic Refinement (METHOD.md §2; reference/abe/README.md step 3): the bound phrase embedding p_k and the
 * object embedding o_k of every group, all L2-normalised, as host arrays [Q·E].
 */
import * as tf from '@tensorflow/tfjs';
import type { AbeModel } from './model';
import { applyTemplate, AbeOptions } from './options';
import { l2normalize } from './patches';
import type { PreparedCaption } from './captions';
import { tokenizeToArrays } from '../text/tokenize';
import { concatIntRows } from '../tensor/host';
import type { KeyValueCache } from './bounded';

/** Normalised E_T(text) by string; shared across calls of one scorer (a Map, or a view of the scorer's bounded cache). */
export type EmbeddingCache = KeyValueCache<Float32Array>;

export function isolatedPhrase(attributes: readonly string[], object: string): string {
  return [...attributes, object].join(' ');
}

/**
 * E_T of every string, normalised: the uncached ones, de-duplicated, in ONE batched text pass (chunked by
 * the encoder). Long strings are truncated to the context (last token EOT).
 */
export async function embedStrings(
  model: AbeModel,
  strings: readonly string[],
  cache: EmbeddingCache,
  batchSize: number,
): Promise<Float32Array[]> {
  // Entries of this call are read from `got`, not back from the cache: a bounded cache may evict them meanwhile.
  const got = new Map<string, Float32Array>();
  const missing: string[] = [];
  for (const s of new Set(strings)) {
    const hit = cache.get(s);
    if (hit) got.set(s, hit);
    else missing.push(s);
  }
  if (missing.length) {
    const L = model.config.text.contextLength;
    const rows = tokenizeToArrays(missing, { contextLength: L, truncate: true });
    const E = model.config.embedDim;
    const data = await encodeTrimmed(model, rows, batchSize);
    missing.forEach((s, i) => {
      const v = data.slice(i * E, (i + 1) * E);
      cache.set(s, v);
      got.set(s, v);
    });
  }
  return strings.map((s) => got.get(s)!);
}

/**
 * Normalised EOT embeddings of token rows [L] each. Rows are sorted by where their EOT falls and each chunk runs on
 * the positions up to its longest row's EOT: the text tower is causal, so positions after a row's EOT never reach its
 * pooled token, and a phrase ("a red cube", 5 tokens with SOT/EOT) costs 5/77 of a full-context pass. A chunk ends at
 * batchSize rows or where a row is over 1.25× its shortest, so no row runs on more than 25 % padding (the model's
 * causal mask of a shorter length is a corner of its full-context one). Returns [rows·E] in the input order.
 */
export async function encodeTrimmed(model: AbeModel, rows: readonly Int32Array[], batchSize: number): Promise<Float32Array> {
  const E = model.config.embedDim;
  const len = rows.map((r) => {
    let e = 0;
    for (let j = 1; j < r.length; j++) if (r[j] > r[e]) e = j;
    return e + 1;
  });
  const order = rows.map((_, i) => i).sort((a, b) => len[a] - len[b]);
  const out = new Float32Array(rows.length * E);
  for (let s = 0; s < order.length;) {
    let e = s + 1;
    while (e < order.length && e - s < batchSize && len[order[e]] <= 1.25 * len[order[s]]) e++;
    const idx = order.slice(s, e);
    s = e;
    const Lc = len[idx[idx.length - 1]];
    const ids = tf.tensor2d(concatIntRows(idx.map((i) => rows[i].subarray(0, Lc))), [idx.length, Lc], 'int32');
    let res;
    try {
      res = await model.encodeTexts(ids, { batchSize, tokens: false });
    } finally {
      ids.dispose();
    }
    try {
      const d = tf.tidy(() => l2normalize(res.embeds).dataSync() as Float32Array);
      idx.forEach((i, r) => out.set(d.subarray(r * E, (r + 1) * E), i * E));
    } finally {
      tf.dispose([res.embeds, res.tokens, ...(res.hidden ?? [])]);
    }
  }
  return out;
}

/** The caption's ids as an int32 [m, L] tensor (callers dispose). */
export function idsTensor(caps: readonly PreparedCaption[], L: number): tf.Tensor2D {
  const data = new Int32Array(caps.length * L);
  caps.forEach((c, r) => data.set(c.ids.subarray(0, L), r * L));
  return tf.tensor2d(data, [caps.length, L], 'int32');
}

/**
 * The [L, L] edit matrix A of one caption: h' = h − γ·A h. Row i of a position of group k averages the
 * positions U_k of the caption's other groups (each position once); a caption with one group is not edited.
 * A position in two groups takes the row of the later group (the reference assigns group by group).
 */
function editMatrix(c: PreparedCaption, L: number, out: Float32Array, offset: number): boolean {
  if (c.groups.length < 2) return false;
  let any = false;
  c.groups.forEach((g, k) => {
    const others = new Set<number>();
    c.groups.forEach((h, j) => {
      if (j !== k) for (const p of h.positions) others.add(p);
    });
    if (!others.size) return;
    for (const i of g.positions) {
      const row = offset + i * L;
      out.fill(0, row, row + L);
      for (const j of others) out[row + j] = 1 / others.size;
      any = true;
    }
  });
  return any;
}

/**
 * `contextual` / `none` p_k [Q·E]: the caption's token at each group's last object token after the text
 * hidden state `layer` was edited (γ = 0: the plain caption tokens). One pass over all captions.
 */
export async function contextualPhrases(
  model: AbeModel,
  caps: readonly PreparedCaption[],
  gamma: number,
  layer: number,
  batchSize: number,
): Promise<Float32Array> {
  const withGroups = caps.filter((c) => c.groups.length > 0);
  const E = model.config.embedDim;
  const Q = withGroups.reduce((a, c) => a + c.groups.length, 0);
  if (!Q) return new Float32Array(0);
  const L = withGroups[0].ids.length;
  const A = new Float32Array(withGroups.length * L * L);
  let edited = false;
  if (gamma !== 0)
    withGroups.forEach((c, r) => {
      edited = editMatrix(c, L, A, r * L * L) || edited;
    });
  const ids = idsTensor(withGroups, L);
  const At = edited ? tf.tensor3d(A, [withGroups.length, L, L]) : null;
  // Rows (in the caption batch) of each group's last object token; only those go through the head.
  const rows: number[][] = withGroups.map((c) => c.groups.map((g) => g.objectLast));
  const picked: { start: number; h: tf.Tensor2D }[] = [];
  const last = model.text.layers;
  const edit = (h: tf.Tensor3D, start: number): tf.Tensor3D => {
    if (!At) return h;
    const a = tf.slice(At, [start, 0, 0], [h.shape[0], L, L]);
    return tf.sub(h, tf.mul(tf.matMul(a, h), gamma)) as tf.Tensor3D;
  };
  const pick = (h: tf.Tensor3D, start: number): void => {
    const flat = rows.slice(start, start + h.shape[0]).flatMap((ps, r) => ps.map((p) => r * L + p));
    picked.push({ start, h: tf.keep(tf.gather(tf.reshape(h, [-1, h.shape[2]]), tf.tensor1d(flat, 'int32')) as tf.Tensor2D) });
  };
  const hidden: Record<number, (h: tf.Tensor3D, info: { batchStart: number }) => tf.Tensor3D | void> = {};
  if (At) hidden[layer] = (h, info) => edit(h, info.batchStart);
  const before = hidden[last];
  hidden[last] = (h, info) => {
    const x = before?.(h, info) ?? h;
    pick(x, info.batchStart);
    return x;
  };
  try {
    const out = await model.encodeTexts(ids, { batchSize, tokens: false, hooks: { hidden } });
    tf.dispose([out.embeds, out.tokens, ...(out.hidden ?? [])]);
    picked.sort((a, b) => a.start - b.start);
    return tf.tidy(() => {
      const h =
        picked.length === 1
          ? picked[0].h
          : tf.concat(
              picked.map((p) => p.h),
              0,
            );
      const y = model.text.head(tf.expandDims(h, 0) as tf.Tensor3D); // [1, Q, E]
      return l2normalize(tf.reshape(y, [-1, E])).dataSync() as Float32Array;
    });
  } finally {
    ids.dispose();
    At?.dispose();
    tf.dispose(picked.map((p) => p.h));
  }
}

/** p [Q·E] and o [Q·E] for the captions' groups in caption order, per the refinement options. */
export async function refine(
  model: AbeModel,
  caps: readonly PreparedCaption[],
  o: AbeOptions,
  refineIndex: number,
  cache: EmbeddingCache,
  contextualCache: EmbeddingCache = new Map(),
): Promise<{ p: Float32Array; o: Float32Array }> {
  const groups = caps.flatMap((c) => c.groups);
  const E = model.config.embedDim;
  const objStrings = groups.map((g) => applyTemplate(o.template, g.object));
  const phraseStrings = o.refine === 'isolated' ? groups.map((g) => applyTemplate(o.template, isolatedPhrase(g.attributes, g.object))) : [];
  const embs = await embedStrings(model, [...objStrings, ...phraseStrings], cache, o.textBatchSize);
  const oArr = new Float32Array(groups.length * E);
  groups.forEach((_, q) => oArr.set(embs[q], q * E));
  let pArr: Float32Array;
  if (o.refine === 'isolated') {
    pArr = new Float32Array(groups.length * E);
    groups.forEach((_, q) => pArr.set(embs[groups.length + q], q * E));
  } else {
    const gamma = o.refine === 'none' ? 0 : o.gamma;
    // Per caption: its ids, group positions, γ and layer decide its p_k rows.
    const keys = caps.map(
      (c) => `${gamma}|${refineIndex}|${Array.from(c.ids).join(',')}|${JSON.stringify(c.groups.map((g) => [g.positions, g.objectLast]))}`,
    );
    // Each distinct caption once (a benchmark repeats captions across images).
    const firstOf = new Map<string, PreparedCaption>();
    const got = new Map<string, Float32Array>(); // this call's rows (a bounded cache may evict them meanwhile)
    caps.forEach((c, i) => {
      if (!c.groups.length || got.has(keys[i]) || firstOf.has(keys[i])) return;
      const hit = contextualCache.get(keys[i]);
      if (hit) got.set(keys[i], hit);
      else firstOf.set(keys[i], c);
    });
    const todo = [...firstOf.values()];
    const todoKeys = [...firstOf.keys()];
    if (todo.length) {
      const fresh = await contextualPhrases(model, todo, gamma, refineIndex, o.textBatchSize);
      let q = 0;
      todo.forEach((c, r) => {
        const v = fresh.slice(q * E, (q + c.groups.length) * E);
        contextualCache.set(todoKeys[r], v);
        got.set(todoKeys[r], v);
        q += c.groups.length;
      });
    }
    pArr = new Float32Array(groups.length * E);
    let q = 0;
    caps.forEach((c, i) => {
      if (!c.groups.length) return;
      pArr.set(got.get(keys[i])!, q * E);
      q += c.groups.length;
    });
  }
  return { p: pArr, o: oArr };
}
