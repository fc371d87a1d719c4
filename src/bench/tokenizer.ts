/**
 * Tokenizer throughput, for the `bench` tool: tokens per second of `encode` on a caption corpus, measured
 * twice — with a fresh word cache (every word goes through BPE) and warm (words repeat, as in real batches).
 */
import { ClipTokenizer } from '../text/tokenizer';

export interface TokenizerBenchResult {
  captions: number;
  /** Tokens per pass over the corpus (SOT/EOT not counted). */
  tokens: number;
  /** First pass, empty BPE cache. */
  coldTokensPerSecond: number;
  /** Later passes, cache filled. */
  warmTokensPerSecond: number;
  /** Offsets variant (`encodeWithOffsets`), warm. */
  offsetsTokensPerSecond: number;
}

/** A deterministic corpus: captions from templates plus pseudo-random letter words (defeat the cache). */
export function benchCorpus(count = 2000, seed0 = 12345): string[] {
  const adjectives = ['red', 'blue', 'green', 'small', 'large', 'shiny', 'wooden', 'striped', 'Matte', 'old'];
  const nouns = ['cube', 'sphere', 'cylinder', 'dog', 'cat', 'car', 'house', 'tree', 'lamp', 'chair'];
  let seed = seed0;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const word = (): string => Array.from({ length: 3 + rand(8) }, () => String.fromCharCode(97 + rand(26))).join('');
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const a = adjectives[rand(10)],
      n = nouns[rand(10)],
      b = adjectives[rand(10)],
      m = nouns[rand(10)];
    out.push(`A photo of a ${a} ${n} and a ${b} ${m}, next to the ${word()} ${word()} (${rand(100)}%) &amp; more!`);
  }
  return out;
}

export function benchTokenizer(opts: { captions?: string[]; warmPasses?: number } = {}): TokenizerBenchResult {
  const captions = opts.captions ?? benchCorpus();
  const passes = opts.warmPasses ?? 3;
  // Warm the JIT on other words first, so "cold" measures BPE cache misses rather than compilation.
  const jit = new ClipTokenizer();
  for (const c of benchCorpus(200, 777)) jit.encodeWithOffsets(c);
  const tok = new ClipTokenizer(); // its own cache, so the cold pass is cold
  let tokens = 0;
  let t = process.hrtime.bigint();
  for (const c of captions) tokens += tok.encode(c).length;
  const cold = Number(process.hrtime.bigint() - t) / 1e9;
  t = process.hrtime.bigint();
  for (let p = 0; p < passes; p++) for (const c of captions) tok.encode(c);
  const warm = Number(process.hrtime.bigint() - t) / 1e9 / passes;
  t = process.hrtime.bigint();
  for (const c of captions) tok.encodeWithOffsets(c);
  const withOffsets = Number(process.hrtime.bigint() - t) / 1e9;
  return {
    captions: captions.length,
    tokens,
    coldTokensPerSecond: tokens / cold,
    warmTokensPerSecond: tokens / warm,
    offsetsTokensPerSecond: tokens / withOffsets,
  };
}
