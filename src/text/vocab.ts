/**
 * The CLIP BPE vocabulary, built from the merges file exactly as `SimpleTokenizer.__init__` builds it:
 * 256 byte symbols, their 256 `</w>` variants, one entry per merge (its two halves joined), then
 * `<|startoftext|>` and `<|endoftext|>`. Symbols are handled as integer ids throughout.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { TokenizerError } from '../errors';
import { BYTE_ORDER, BYTE_TO_CHAR } from './byteUnicode';
import { BPE_VOCAB_FILE, EOT_TOKEN, NUM_MERGES, SOT_TOKEN, VOCAB_SIZE } from './constants';
import { packageRoot } from '../package-root';

export interface Vocab {
  /** Rank of merging id a with id b, keyed by `a * VOCAB_SIZE + b`. */
  mergeRank: Map<number, number>;
  /** Token id produced by merge of rank r. */
  mergeResult: Int32Array;
  /** Token id → its bytes (the `</w>` marker removed). */
  tokenBytes: Uint8Array[];
  /** Token id → whether it ends a word (`</w>`). */
  endsWord: Uint8Array;
}

const END_OF_WORD = '</w>';

/** The merges file bundled in the package's `assets/`. */
export function defaultBpePath(): string {
  return path.join(packageRoot(), 'assets', BPE_VOCAB_FILE);
}

export function loadVocab(bpePath: string = defaultBpePath()): Vocab {
  let text: string;
  try {
    const raw = fs.readFileSync(bpePath);
    text = (bpePath.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8');
  } catch (e) {
    throw new TokenizerError(bpePath, `cannot read the BPE merges file: ${(e as Error).message}`);
  }
  // Line 0 is a version header; CLIP keeps lines 1 .. NUM_MERGES.
  const lines = text.split('\n').slice(1, NUM_MERGES + 1);
  if (lines.length !== NUM_MERGES) {
    throw new TokenizerError(bpePath, `expected at least ${NUM_MERGES} merges, found ${lines.length}`);
  }

  const strings: string[] = [];
  for (const b of BYTE_ORDER) strings.push(BYTE_TO_CHAR[b]);
  for (let i = 0; i < 256; i++) strings.push(strings[i] + END_OF_WORD);
  const halves: [string, string][] = [];
  for (let r = 0; r < NUM_MERGES; r++) {
    const parts = lines[r].split(/\s+/).filter((s) => s.length > 0);
    if (parts.length !== 2) throw new TokenizerError(bpePath, `merge line ${r + 2} is not two symbols`);
    halves.push([parts[0], parts[1]]);
    strings.push(parts[0] + parts[1]);
  }
  strings.push('<|startoftext|>', '<|endoftext|>');
  if (strings.length !== VOCAB_SIZE) throw new TokenizerError(bpePath, `vocabulary has ${strings.length} entries`);

  // Python's dict(zip(vocab, range)) keeps the last id of a repeated string.
  const encoder = new Map<string, number>();
  strings.forEach((s, id) => encoder.set(s, id));
  if (encoder.get('<|startoftext|>') !== SOT_TOKEN || encoder.get('<|endoftext|>') !== EOT_TOKEN) {
    throw new TokenizerError(bpePath, 'special tokens are not at 49406/49407');
  }

  const mergeRank = new Map<number, number>();
  const mergeResult = new Int32Array(NUM_MERGES).fill(-1);
  for (let r = 0; r < NUM_MERGES; r++) {
    const [a, b] = halves[r];
    const ia = encoder.get(a);
    const ib = encoder.get(b);
    // A half that is no vocabulary symbol can never appear in a word, so its merge can never fire.
    if (ia === undefined || ib === undefined) continue;
    // dict(zip(merges, range)) in the reference: a repeated pair would keep its last rank.
    mergeRank.set(ia * VOCAB_SIZE + ib, r);
    mergeResult[r] = encoder.get(a + b)!;
  }

  const charToByte = new Map<string, number>();
  BYTE_TO_CHAR.forEach((c, b) => charToByte.set(c, b));
  const tokenBytes: Uint8Array[] = new Array(VOCAB_SIZE);
  const endsWord = new Uint8Array(VOCAB_SIZE);
  strings.forEach((s, id) => {
    let body = s;
    if (id < SOT_TOKEN && s.endsWith(END_OF_WORD)) {
      body = s.slice(0, -END_OF_WORD.length);
      endsWord[id] = 1;
    }
    const bytes = new Uint8Array(body.length);
    for (let i = 0; i < body.length; i++) bytes[i] = charToByte.get(body[i]) ?? 0x3f;
    tokenBytes[id] = bytes;
  });
  return { mergeRank, mergeResult, tokenBytes, endsWord };
}
