/** Every fuzz target by name (the driver's worker and repro.ts look them up here). */
import type { Target } from '../harness';
import { imageDecode, imageLoad } from './images';
import { encoders, scorer } from './model';
import { regressions } from './regressions';
import { selftest } from './selftest';
import { captions, phrases, tokenizer } from './text';
import { convertedTarget, pickleTarget, safetensorsBytes, safetensorsHeader, torchFile, zipTarget } from './weights';

export const TARGETS: Record<string, Target> = Object.fromEntries(
  [
    safetensorsBytes,
    safetensorsHeader,
    zipTarget,
    pickleTarget,
    torchFile,
    convertedTarget,
    imageDecode,
    imageLoad,
    tokenizer,
    phrases,
    captions,
    encoders,
    scorer,
    regressions,
    selftest,
  ].map((t) => [t.name, t as Target]),
);
