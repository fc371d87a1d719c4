/**
 * The world's token vocabulary. Captions of the toy world use about 25 of the tokenizer's 49,408 ids, and only
 * their rows of `token_embedding.weight` ever receive a gradient. Training holds those rows as one small variable
 * (`token_embedding.rows`) and embeds ids by a one-hot product: the same function, without a dense 49408-row
 * gradient per step (tfjs's cpu backend builds that gradient one segment at a time, far too slow). The other rows
 * get only AdamW's decoupled decay (zero gradient → zero moments), which `expand` applies as one product, so the
 * written matrix is the one full-matrix AdamW would give.
 */
import { tokenizeToArrays } from '../../src/text/tokenize';
import type { RawTensor } from '../../src/weights/types';
import { COLORS, SHAPES } from '../toy-world/world';
import { ONE_OBJECT_TEMPLATES, TWO_OBJECT_TEMPLATES } from './data';

export const ROWS_NAME = 'token_embedding.rows';

export class TokenTable {
  /** The vocabulary's ids, ascending (0, the padding id, included). */
  readonly ids: Int32Array;
  private readonly index = new Map<number, number>();

  /** Every id of the world's captions: template words, colours, shapes, SOT/EOT and padding (BPE is per word). */
  static forWorld(): TokenTable {
    const words = [...TWO_OBJECT_TEMPLATES, ...ONE_OBJECT_TEMPLATES].join(' ').replace(/\{[cs]\d?\}/g, ' ');
    const rows = tokenizeToArrays([words, ...COLORS, ...SHAPES], { contextLength: 77 });
    return new TokenTable(rows.flatMap((r) => Array.from(r)));
  }

  constructor(ids: Iterable<number>) {
    this.ids = Int32Array.from(new Set([0, ...ids])).sort();
    this.ids.forEach((id, k) => this.index.set(id, k));
  }

  get size(): number {
    return this.ids.length;
  }

  /** Token ids → row indices of the table; an id outside the vocabulary is an error naming the caption row. */
  compact(ids: Int32Array, L: number): Int32Array {
    return ids.map((id, i) => {
      const k = this.index.get(id);
      if (k === undefined)
        throw new Error(`toy-train: token id ${id} (caption row ${Math.floor(i / L)}) is outside the toy world's vocabulary`);
      return k;
    });
  }

  /** The table's rows of a full embedding matrix [V,W] → [K·W]. */
  gather(full: RawTensor): Float32Array {
    const W = full.shape[1],
      out = new Float32Array(this.size * W);
    this.ids.forEach((id, k) => out.set((full.data as Float32Array).subarray(id * W, (id + 1) * W), k * W));
    return out;
  }

  /** The full matrix: trained rows in place, every other row of `base` scaled by `decay` (AdamW's decay product). */
  expand(base: RawTensor, rows: Float32Array, decay: number): RawTensor {
    const W = base.shape[1];
    const data = Float32Array.from(base.data as Float32Array, (v) => v * decay);
    this.ids.forEach((id, k) => data.set(rows.subarray(k * W, (k + 1) * W), id * W));
    return { dtype: 'float32', shape: [...base.shape], data };
  }
}
