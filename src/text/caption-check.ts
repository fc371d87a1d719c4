/**
 * What the tokenizer will do to a caption, without doing it: whether it fits the model's context (SOT and EOT
 * included) and whether it has any word at all. The library throws on captions that do not fit unless asked
 * to truncate; the command line and evaluation truncate, count and report both kinds (see src/eval/captions).
 */
import { ClipTokenizer } from './tokenizer';

export interface CaptionCheck {
  /** Tokens the caption needs, SOT and EOT included. */
  tokens: number;
  /** More tokens than the context length: the model sees only the first contextLength − 1 and EOT. */
  truncated: boolean;
  /** No letter or digit (empty, whitespace or punctuation only): the score says nothing about the image. */
  empty: boolean;
}

export function checkCaption(text: string, contextLength: number, tokenizer: ClipTokenizer = ClipTokenizer.default()): CaptionCheck {
  const tokens = tokenizer.encode(text).length + 2;
  return { tokens, truncated: tokens > contextLength, empty: !/[\p{L}\p{N}]/u.test(text) };
}
