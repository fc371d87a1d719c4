export * from './constants';
export { ClipTokenizer } from './tokenizer';
export type { ClipTokenizerOptions, EncodingWithOffsets } from './tokenizer';
export { tokenize, tokenizeToArrays } from './tokenize';
export type { TokenizeOptions } from './tokenize';
export { parsePhrases, resolveGroups, groupTokenPositions, clearPhraseCache, PHRASE_CACHE_SIZE } from './phrases';
export type { Span, PhraseGroup, SimpleGroup, GroupTokenPositions } from './phrases';
