/**
 * Minimal reproductions of what the fuzzers found, kept as fixed cases (run in the watched worker like any
 * target, so one that still hangs is reported instead of stalling the suite). Each names the code it hit.
 */
import bmpPlugin from '@jimp/js-bmp';
import gifPlugin from '@jimp/js-gif';
import tiffPlugin from '@jimp/js-tiff';
import { prepareCaptions } from '../../../src/abe/captions';
import { resolveOptions } from '../../../src/abe/options';
import { groupTokenPositions } from '../../../src/text/phrases';
import { decodeBytes } from '../../../src/image/decode';
import { loadImages } from '../../../src/image/loader';
import { tokenizeToArrays } from '../../../src/text/tokenize';
import { TorchCheckpoint } from '../../../src/weights/torch';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chunk, makePng, noise } from '../../image/make';
import * as zlib from 'zlib';
import { decodeJpeg } from '../../../src/image/jpeg';
import { fixturePath } from '../../helpers/paths';
import { buildTorchZip, PickleWriter, pickleTensor, stateDictPickle } from '../../weights/builders';

/** Write a generated torch archive to a temp file, open it, clean up. */
function openTorchBytes(bytes: Buffer): unknown {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-regr-'));
  const f = path.join(dir, 'x.pt');
  try {
    fs.writeFileSync(f, bytes);
    return TorchCheckpoint.open(f);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Issue 15: TorchScript-like modules, `levels` deep, whose two children are the same object. */
function sharedModules(levels: number): Buffer {
  const p = new PickleWriter();
  p.global('__torch__', 'M').emptyTuple().newobj().emptyDict().mark().str('w');
  pickleTensor(p, { name: 'w', storageKey: '0', storageNumel: 1, shape: [1] });
  p.setitems().build().op(0x72, 0, 0, 0, 0);
  for (let i = 1; i <= levels; i++) {
    p.op(0x30).global('__torch__', 'M').emptyTuple().newobj().emptyDict().mark();
    p.str('a')
      .op(0x6a, i - 1, 0, 0, 0)
      .str('b')
      .op(0x6a, i - 1, 0, 0, 0)
      .setitems()
      .build()
      .op(0x72, i, 0, 0, 0);
  }
  return buildTorchZip('archive', p.stop().bytes(), { 0: new Uint8Array(4) });
}
import type { Target } from '../harness';

let GIF_SEED: Buffer = Buffer.alloc(0);

/** A 9×7 RGBA TIFF from jimp's encoder with one edit of its first IFD. */
function tiffWith(edit: (b: Buffer, ifd: number, n: number, le: boolean) => void): Buffer {
  const b = Buffer.from(tiffPlugin().encode({ width: 9, height: 7, data: Buffer.alloc(9 * 7 * 4, 200) } as never));
  const le = b[0] === 0x49;
  const ifd = le ? b.readUInt32LE(4) : b.readUInt32BE(4);
  edit(b, ifd, le ? b.readUInt16LE(ifd) : b.readUInt16BE(ifd), le);
  return b;
}

function setEntryCount(tag: number, count: number): Buffer {
  return tiffWith((b, ifd, n, le) => {
    for (let i = 0; i < n; i++) {
      const e = ifd + 2 + i * 12;
      if ((le ? b.readUInt16LE(e) : b.readUInt16BE(e)) === tag) {
        if (le) b.writeUInt32LE(count, e + 4);
        else b.writeUInt32BE(count, e + 4);
      }
    }
  });
}

/** `mayReturn`: decoding it normally (quickly) is also acceptable; what matters is time and memory. */
/** A 9×7 GIF from jimp's encoder whose first image descriptor declares w×h. */
function gifFrameSize(w: number, h: number): Buffer {
  const b = Buffer.from(GIF_SEED);
  let o = 13;
  if (b[10] & 0x80) o += 3 << ((b[10] & 7) + 1);
  while (o < b.length && b[o] === 0x21) {
    o += 2;
    while (o < b.length && b[o] !== 0) o += b[o] + 1;
    o++;
  }
  if (b[o] !== 0x2c) throw new Error('no image descriptor in the seed GIF');
  b.writeUInt16LE(w, o + 5);
  b.writeUInt16LE(h, o + 7);
  return b;
}

interface Known {
  name: string;
  run(): unknown;
  mayReturn?: boolean;
}

export const KNOWN: Known[] = [
  {
    // src/image/decode.ts → utif2: the next-IFD offset points back at the first IFD; utif follows the chain forever.
    name: 'TIFF whose next-IFD offset points to itself (1.2 KB) → ImageDecodeError, not an endless loop',
    run: () =>
      decodeBytes(
        tiffWith((b, ifd, n, le) => {
          if (le) b.writeUInt32LE(ifd, ifd + 2 + n * 12);
          else b.writeUInt32BE(ifd, ifd + 2 + n * 12);
        }),
        'loop.tif',
      ),
  },
  {
    // src/image/decode.ts → utif2 reads `count` values of an IFD entry without checking them against the file size.
    name: 'TIFF whose XResolution entry claims 20,000,000 values (1.2 KB file) → refused or decoded in < 2 s, not 30 s and 1.5 GB',
    mayReturn: true,
    run: () => decodeBytes(setEntryCount(282, 20_000_000), 'count.tif'),
  },
  {
    // src/image/decode.ts: pngjs's RangeError "Attempt to access memory outside buffer bounds" (a 1-byte tRNS
    // for a grey image) matched the "rethrow allocation failures" filter /…|memory/i and escaped untyped.
    name: 'grey PNG with a 1-byte tRNS chunk → ImageDecodeError (was RangeError)',
    run: () => decodeBytes(makePng(4, 3, 8, 0, [noise(4, 1), noise(4, 2), noise(4, 3)], [chunk('tRNS', Uint8Array.of(0))]), 'trns.png'),
  },
  {
    // src/image/header.ts checks the GIF logical screen only; omggif then walks the first frame's own size.
    name: 'GIF with a 9×7 screen whose first frame declares 43022×20722 → refused or decoded in < 2 s, not 12 s',
    mayReturn: true,
    run: () => decodeBytes(gifFrameSize(43022, 20722), 'frame.gif'),
  },
  {
    name: 'BMP with a negative height of -2^31 → typed error',
    run: () => {
      const b = Buffer.from(bmpPlugin().encode({ width: 2, height: 2, data: Buffer.alloc(16, 9) } as never));
      b.writeInt32LE(-(2 ** 31), 22);
      return decodeBytes(b, 'neg.bmp');
    },
  },
  {
    // src/image/preprocess.ts checkPreprocessOptions: a string passed the "array-like" test, then `v.every` threw TypeError.
    name: "loadImages mean: 'abc' → OptionsError",
    run: () => loadImages([], { resolution: 4, mean: 'abc' as never }),
  },
  {
    name: 'loadImages std: null → OptionsError',
    run: () => loadImages([], { resolution: 4, std: null as never }),
  },
  // Template literals throw TypeError on a Symbol, JSON.stringify on a BigInt (error-message formatting).
  { name: 'loadImages resolution: Symbol → OptionsError', run: () => loadImages([], { resolution: Symbol('r') } as never) },
  {
    name: 'loadImages concurrency: Symbol → OptionsError',
    run: () => loadImages([], { resolution: 4, concurrency: Symbol('c') } as never),
  },
  { name: 'loadImages onError: 10n → OptionsError', run: () => loadImages([], { resolution: 4, onError: 10n } as never) },
  {
    // src/text/tokenize.ts: contextLength had no upper bound: 1e9 allocated 4 GB per caption.
    name: 'tokenize contextLength 1e9 → OptionsError, not a 4 GB row',
    run: () => tokenizeToArrays(['a cat'], { contextLength: 1e9 }),
  },
  // src/abe/captions.ts: contextLength had no check: 1e9 allocated 4 GB per caption, −1 threw RangeError.
  { name: 'prepareCaptions contextLength 1e9 → InputError', run: () => prepareCaptions(['a red cube'], 1e9) },
  {
    name: 'prepareCaptions with ids and contextLength Number.MAX_VALUE → InputError (was RangeError from new Int32Array)',
    run: () => prepareCaptions([{ text: 'x', ids: [49406, 49407] }], Number.MAX_VALUE),
  },
  { name: 'prepareCaptions contextLength −1 → InputError', run: () => prepareCaptions([{ text: 'a red cube', ids: [49406, 49407] }], -1) },
  // src/abe/options.ts, src/abe/parse.ts, src/text/phrases.ts, src/clip/inputs.ts: messages formatting odd values.
  { name: 'AbeScorer options {gamma: 10n} → OptionsError', run: () => resolveOptions({ gamma: 10n } as never) },
  { name: 'AbeScorer options {refine: 10n} → OptionsError', run: () => resolveOptions({ refine: 10n } as never) },
  {
    name: 'prepareCaptions ids holding a Symbol → InputError',
    run: () => prepareCaptions([{ text: 'x', ids: [49406, Symbol('s') as never, 49407] }], 77),
  },
  { name: 'groupTokenPositions contextLength Symbol → InputError', run: () => groupTokenPositions('a red cube', [], Symbol('L') as never) },
  {
    // src/weights/torch.ts: the error message JSON.stringify'd the persistent id, which threw on a BigInt.
    name: 'torch.save archive whose persistent id holds a LONG1 beyond 2^53 → WeightsFormatError / UnsafePickleError',
    run: () => {
      const p = new PickleWriter();
      p.mark()
        .raw(Buffer.from([0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 0x70]))
        .tuple()
        .persid()
        .stop();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-regr-'));
      const f = path.join(dir, 'x.pt');
      try {
        fs.writeFileSync(f, buildTorchZip('archive', p.bytes(), {}));
        return TorchCheckpoint.open(f);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  // Issue 15 (an independent attack on every reader): structure, not bytes.
  {
    name: 'TorchScript module DAG, 60 levels of shared children (2 KB) → WeightsFormatError (was 212 s, 3.9 GB)',
    run: () => openTorchBytes(sharedModules(60)),
  },
  {
    name: 'stride-0 view of a 1-element storage declaring 16384×16384 → WeightsFormatError (was 4 GB written)',
    run: () =>
      openTorchBytes(
        buildTorchZip(
          'archive',
          stateDictPickle([{ name: 'w', storageKey: '0', storageNumel: 1, shape: [16384, 16384], stride: [0, 0] }]),
          { 0: new Uint8Array(4) },
        ),
      ),
  },
  {
    name: 'PNG of 1 × 90,000,000 pixels (inside maxImagePixels) → LimitError from the header (was OOM after 105 s)',
    run: () => {
      const ihdr = Buffer.alloc(13);
      ihdr.writeUInt32BE(1, 0);
      ihdr.writeUInt32BE(90_000_000, 4);
      ihdr[8] = 8;
      return decodeBytes(
        Buffer.concat([
          Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
          chunk('IHDR', ihdr),
          chunk('IDAT', zlib.deflateSync(Buffer.alloc(1 << 16))),
          chunk('IEND', Buffer.alloc(0)),
        ]),
        'tall.png',
      );
    },
  },
  {
    name: 'progressive JPEG with 8,000 repeated scans → LimitError (was 201 s)',
    run: () => {
      const b = fs.readFileSync(fixturePath('images', 'jpeg', 'progressive-420.jpg'));
      const sos = b.indexOf(Buffer.from([0xff, 0xda]));
      let end = sos + 2 + b.readUInt16BE(sos + 2);
      while (!(b[end] === 0xff && b[end + 1] !== 0 && !(b[end + 1] >= 0xd0 && b[end + 1] <= 0xd7))) end++;
      const scan = b.subarray(sos, end);
      return decodeJpeg(Buffer.concat([b.subarray(0, end), ...Array.from({ length: 8000 }, () => scan), b.subarray(end)]), 'scans.jpg');
    },
  },
];

export const regressions: Target<Known, null> = {
  name: 'regressions',
  fixedCases: KNOWN.length,
  perCaseMs: 2000,
  async setup() {
    GIF_SEED = Buffer.from(await gifPlugin().encode({ width: 9, height: 7, data: Buffer.from(noise(9 * 7 * 4, 3)) } as never));
    return null;
  },
  generate: (_r, _c, index) => KNOWN[index % KNOWN.length],
  run: (k) => k.run(),
  // A known-bad input must be refused: returning normally is itself a failure.
  check: (_res, k) => (k.mayReturn ? null : `returned normally (expected a typed error): ${k.name}`),
  describe: (k) => k.name,
};
