/** `abe-clip embed`: images and/or texts → sharded `.npy` embeddings + JSONL metadata (+ ABE features). */
import type { FlagSpec } from '../args';
import { defineCommand } from '../command';
import { BATCH_FLAGS, BatchFlagValues, embedSpecs } from './batch-flags';
import { runSpecsHere } from './batch-run';

export const EMBED_FLAGS: FlagSpec[] = [
  {
    name: 'images',
    type: 'string',
    multiple: true,
    placeholder: 'SPEC',
    help: 'a folder (walked recursively), a list file (.txt/.lst, one path a line) or a quoted glob',
  },
  { name: 'texts', type: 'string', placeholder: 'FILE', help: 'captions, one a line' },
  { name: 'dtype', type: 'string', choices: ['float32', 'float16'], default: 'float32', placeholder: 'T', help: 'dtype of embeds.npy' },
  {
    name: 'features',
    type: 'string',
    placeholder: 'LIST',
    help: 'also store the ABE image features these configurations need (clip, abe, abe+regions) for `score --from`',
  },
  ...BATCH_FLAGS,
];

export const embed = defineCommand<BatchFlagValues & { backend?: string }>({
  name: 'embed',
  summary: 'images/texts → sharded .npy embeddings + JSONL metadata (+ ABE image features); resumable',
  usage:
    'abe-clip embed --images DIR|LIST.txt|"GLOB" [--images …] [--texts FILE] --out DIR [--features abe,abe+regions] [--dtype float16] [--shard i/n]',
  flags: EMBED_FLAGS,
  notes:
    'Output: OUT/images/{manifest.json, shards/NNNNN/{embeds.npy, meta.jsonl, features.abef, shard.json}} and OUT/texts/…\n' +
    'Rerunning the same command skips finished shards; a different model or options is refused. `abe-clip merge` joins the shards.\n',
  async exec(f, io) {
    return runSpecsHere(embedSpecs(f), f, io);
  },
});
