/**
 * The text side of a scoring call: captions → prepared captions (groups, ids), g_T, and the per-group embeddings
 * the options need (p_k, o_k for the patch-level term; isolated p_k, o_k for the region term). Everything is cached
 * in ONE bounded cache (prepared captions, embeddings by string / by ids, contextual rows), and every plain text
 * embedding goes through ONE encode routine (`encodeTrimmed`).
 */
import { InputError, TokenizerError } from '../errors';
import { BoundedMap, namespaced } from './bounded';
import { checkCaption } from '../text/caption-check';
import { abbreviate } from '../text/tokenizer';
import { CaptionInput, prepareCaption, PreparedCaption } from './captions';
import type { GroupTable } from './fuse';
import type { AbeModel } from './model';
import type { AbeOptions } from './options';
import { encodeTrimmed, refine } from './refine';

export interface GroupInfo {
  /** Caption index and the group's index within the caption. */
  caption: number;
  group: number;
  attributes: string[];
  object: string;
  positions: number[];
  objectLast: number;
}

/** Text side of one call: the prepared captions and their features, all host arrays. */
export interface TextSide {
  caps: PreparedCaption[];
  M: number;
  Q: number;
  gT: Float32Array; // [M·E]
  /** [Q·E] per the refinement mode (patch-level term); empty when that term is off. */
  p: Float32Array;
  o: Float32Array;
  /** [Q·E] isolated phrase and object embeddings E_T(template(A O)), E_T(template(O)) for the region term. */
  pRegion: Float32Array;
  oRegion: Float32Array;
  table: GroupTable;
  groups: GroupInfo[];
  /** First group of each caption, [M+1]. */
  start: Int32Array;
}

/** Default bound of the text cache (entries: prepared captions, embeddings, contextual rows). */
export const TEXT_CACHE_ENTRIES = 100_000;

export class TextFeatureBuilder {
  private readonly cache: BoundedMap<string, unknown>;

  constructor(
    private readonly model: AbeModel,
    maxEntries = TEXT_CACHE_ENTRIES,
  ) {
    this.cache = new BoundedMap(maxEntries);
  }

  get size(): number {
    return this.cache.size;
  }
  clear(): void {
    this.cache.clear();
  }

  /** Captions → TextSide for the options (p, o only when the patch term is on; pRegion, oRegion only with regions). */
  async build(captions: readonly CaptionInput[], o: AbeOptions, refineIndex: number, truncate = false): Promise<TextSide> {
    const E = this.model.config.embedDim;
    const caps = this.prepare(captions, truncate);
    const M = caps.length;
    const byIds = namespaced<Float32Array>(this.cache, 'ids:');
    const keyOf = (cap: PreparedCaption) => Array.from(cap.ids).join(',');
    const missing = new Map<string, PreparedCaption>();
    const got = new Map<string, Float32Array>(); // this call's rows (the bounded cache may evict them meanwhile)
    for (const cap of caps) {
      const hit = byIds.get(keyOf(cap));
      if (hit) got.set(keyOf(cap), hit);
      else missing.set(keyOf(cap), cap);
    }
    if (missing.size) {
      const list = [...missing.values()];
      const d = await encodeTrimmed(
        this.model,
        list.map((x) => x.ids),
        o.textBatchSize,
      );
      list.forEach((x, r) => {
        const v = d.slice(r * E, (r + 1) * E);
        byIds.set(keyOf(x), v);
        got.set(keyOf(x), v);
      });
    }
    const gT = new Float32Array(M * E);
    caps.forEach((cap, m) => gT.set(got.get(keyOf(cap))!, m * E));
    const groups: GroupInfo[] = [];
    const start = new Int32Array(M + 1);
    caps.forEach((cap, m) => {
      start[m] = groups.length;
      cap.groups.forEach((g, k) =>
        groups.push({ caption: m, group: k, attributes: g.attributes, object: g.object, positions: g.positions, objectLast: g.objectLast }),
      );
    });
    start[M] = groups.length;
    const Q = groups.length;
    const table: GroupTable = {
      caption: Int32Array.from(groups, (g) => g.caption),
      hasAttr: Uint8Array.from(groups, (g) => (g.attributes.length ? 1 : 0)),
      captions: M,
    };
    const empty: Float32Array = new Float32Array(0);
    let p: Float32Array = empty,
      ob: Float32Array = empty,
      pRegion: Float32Array = empty,
      oRegion: Float32Array = empty;
    const strings = namespaced<Float32Array>(this.cache, 'str:');
    const contextual = namespaced<Float32Array>(this.cache, 'ctx:');
    if (Q && o.fuse !== 'none') ({ p, o: ob } = await refine(this.model, caps, o, refineIndex, strings, contextual));
    if (Q && o.regionFeatures !== 'none') {
      const iso =
        o.fuse !== 'none' && o.refine === 'isolated'
          ? { p, o: ob }
          : await refine(this.model, caps, { ...o, refine: 'isolated' }, refineIndex, strings);
      pRegion = iso.p;
      oRegion = iso.o;
    }
    return { caps, M, Q, gT, p, o: ob, pRegion, oRegion, table, groups, start };
  }

  /**
   * `truncate`: cut captions longer than the context (as openai `clip.tokenize(truncate=True)`); otherwise such a
   * caption is a TokenizerError, as in `model.encodeTexts` and `tokenize`.
   */
  private prepare(captions: readonly CaptionInput[], truncate: boolean): PreparedCaption[] {
    if (!Array.isArray(captions)) throw new InputError('captions', 'must be an array of captions (strings or {text, groups})');
    const L = this.model.config.text.contextLength;
    const prepared = namespaced<PreparedCaption>(this.cache, 'cap:');
    const out = captions.map((c, i) => {
      let k = '';
      try {
        k = JSON.stringify(c);
      } catch {
        /* not serialisable: not cached */
      }
      const hit = k ? prepared.get(k) : undefined;
      if (hit) return hit;
      const p = prepareCaption(c, L, `captions[${i}]`);
      if (k) prepared.set(k, p);
      return p;
    });
    if (!truncate) {
      const i = out.findIndex((p) => p.truncated);
      if (i >= 0) {
        throw new TokenizerError(
          `captions[${i}] ${abbreviate(out[i].text)}`,
          `needs ${checkCaption(out[i].text, L).tokens} tokens with SOT/EOT, more than the model's context length ${L}; pass truncate: true to cut it`,
        );
      }
    }
    return out;
  }
}

/** The TextSide of a subset of its captions (caption indices `idx`, in that order). */
export function subText(t: TextSide, idx: readonly number[], E: number): TextSide {
  const M = idx.length;
  const start = new Int32Array(M + 1);
  const qs: number[] = [];
  idx.forEach((m, j) => {
    start[j] = qs.length;
    for (let q = t.start[m]; q < t.start[m + 1]; q++) qs.push(q);
  });
  start[M] = qs.length;
  const rows = (a: Float32Array, list: readonly number[]) => {
    if (!a.length) return a;
    const out = new Float32Array(list.length * E);
    list.forEach((q, r) => out.set(a.subarray(q * E, (q + 1) * E), r * E));
    return out;
  };
  const capOf = new Int32Array(qs.length);
  idx.forEach((_, j) => capOf.fill(j, start[j], start[j + 1]));
  return {
    caps: idx.map((m) => t.caps[m]),
    M,
    Q: qs.length,
    gT: rows(t.gT, idx),
    p: rows(t.p, qs),
    o: rows(t.o, qs),
    pRegion: rows(t.pRegion, qs),
    oRegion: rows(t.oRegion, qs),
    table: { caption: capOf, hasAttr: Uint8Array.from(qs, (q) => t.table.hasAttr[q]), captions: M },
    groups: qs.map((q, r) => ({ ...t.groups[q], caption: capOf[r] })),
    start,
  };
}
