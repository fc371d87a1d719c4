/** Captions → ids for the text tower, through the project's CLIP tokenizer (src/text). */
import { tokenizeToArrays } from '../text/tokenize';

/** Rows of length `contextLength`; captions that do not fit throw TokenizerError unless `truncate`. */
export function tokenizeForModel(texts: unknown[], contextLength: number, truncate: boolean): number[][] {
  return tokenizeToArrays(texts as string[], { contextLength, truncate }).map((r) => Array.from(r));
}
