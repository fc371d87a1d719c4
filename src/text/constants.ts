/** CLIP tokenizer facts, in one place (imported by the model, the ABE code and the tests). */

/** `<|startoftext|>` */
export const SOT_TOKEN = 49406;
/** `<|endoftext|>`; also the pooled position of the text tower (argmax of the ids). */
export const EOT_TOKEN = 49407;
/** 256 byte symbols + 256 end-of-word variants + 48,894 merges + the 2 special tokens. */
export const VOCAB_SIZE = 49408;
/** Number of merges of `bpe_simple_vocab_16e6.txt.gz` that CLIP uses (`49152 - 256 - 2`). */
export const NUM_MERGES = 48894;
/** Default text context length (tokens, SOT and EOT included). */
export const DEFAULT_CONTEXT_LENGTH = 77;
/** Id used to pad rows of `tokenize` beyond EOT. */
export const PAD_TOKEN = 0;
/** File name of the merges list shipped in the package's `assets/` folder. */
export const BPE_VOCAB_FILE = 'bpe_simple_vocab_16e6.txt.gz';
