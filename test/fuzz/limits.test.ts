/**
 * Every limit of src/limits.ts, checked at each public entry point that reads untrusted input: lowered with
 * setLimits, the input just over it is refused with a LimitError / WeightsFormatError naming the limit, the
 * input at it is accepted, and refusal happens before the large allocation (bounded time).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import bmpPlugin from '@jimp/js-bmp';
import gifPlugin from '@jimp/js-gif';
import tiffPlugin from '@jimp/js-tiff';
import { LimitError, WeightsFormatError } from '../../src/errors';
import { decodeBytes, decodeImage } from '../../src/image/decode';
import { DEFAULT_LIMITS, getLimits, Limits, setLimits } from '../../src/limits';
import { parsePhrases } from '../../src/text/phrases';
import { tokenize } from '../../src/text/tokenize';
import { ClipTokenizer } from '../../src/text/tokenizer';
import { disposeOutput } from '../../src/clip/model';
import { readConverted, writeConverted } from '../../src/weights/converted';
import { unpickle } from '../../src/weights/pickle';
import { SafetensorsFile } from '../../src/weights/safetensors';
import { TorchCheckpoint } from '../../src/weights/torch';
import { ZipFile } from '../../src/weights/zip';
import { makePng, noise } from '../image/make';
import { buildSafetensors, buildTorchZip, buildZip, f32Bytes, stateDictPickle } from '../weights/builders';
import { loadMicro } from './targets/model';

function withLimits<T>(patch: Partial<Limits>, fn: () => T): T {
  const prev = setLimits(patch);
  try {
    return fn();
  } finally {
    setLimits(prev);
  }
}

async function withLimitsAsync<T>(patch: Partial<Limits>, fn: () => Promise<T>): Promise<T> {
  const prev = setLimits(patch);
  try {
    return await fn();
  } finally {
    setLimits(prev);
  }
}

describe('limits (src/limits.ts) are enforced at every reader', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-limits-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, b: Uint8Array) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, b);
    return p;
  };

  it('the defaults are the documented ones and setLimits rejects unknown keys and non-positive values', () => {
    expect(getLimits()).to.deep.equal(DEFAULT_LIMITS);
    expect(() => setLimits({ maxImagePixelz: 1 } as never)).to.throw(/unknown limit/);
    expect(() => setLimits({ maxImagePixels: 0 })).to.throw(/positive/);
    expect(() => setLimits({ maxImagePixels: NaN })).to.throw(/positive/);
    expect(getLimits()).to.deep.equal(DEFAULT_LIMITS);
  });

  describe('maxImagePixels: header dimensions are checked before any pixel buffer exists', () => {
    const rgba = (w: number, h: number) => ({ width: w, height: h, data: Buffer.from(noise(w * h * 4)) });
    const files = async (): Promise<[string, Uint8Array][]> => [
      [
        'PNG',
        makePng(
          12,
          10,
          8,
          0,
          Array.from({ length: 10 }, (_, y) => noise(12, y + 1)),
        ),
      ],
      ['GIF', new Uint8Array(await gifPlugin().encode(rgba(12, 10) as never))],
      ['BMP', new Uint8Array(bmpPlugin().encode(rgba(12, 10) as never))],
      ['TIFF', new Uint8Array(tiffPlugin().encode(rgba(12, 10) as never))],
    ];
    it('PNG, GIF, BMP, TIFF of 12×10 = 120 px: refused at maxImagePixels 119, decoded at 120', async () => {
      for (const [fmt, bytes] of await files()) {
        withLimits({ maxImagePixels: 119 }, () => {
          expect(() => decodeBytes(bytes, `x.${fmt}`), fmt).to.throw(LimitError, /120 pixels, more than maxImagePixels=119/);
        });
        withLimits({ maxImagePixels: 120 }, () => expect(decodeBytes(bytes, `x.${fmt}`).width, fmt).to.equal(12));
      }
    });
    it('maxImageFileBytes: a file one byte over the limit is refused from its size (LimitError), at the limit it decodes', async () => {
      const png = makePng(
        12,
        10,
        8,
        0,
        Array.from({ length: 10 }, (_, y) => noise(12, y + 1)),
      );
      const p = write('size.png', png);
      await withLimitsAsync({ maxImageFileBytes: png.length - 1 }, async () => {
        let err: unknown;
        await decodeImage(p).catch((e) => {
          err = e;
        });
        expect(err).to.be.instanceOf(LimitError);
        expect((err as Error).message).to.match(/maxImageFileBytes/);
      });
      await withLimitsAsync({ maxImageFileBytes: png.length }, async () => expect((await decodeImage(p)).width).to.equal(12));
    });
    it('a 65535×65535 GIF header (tiny file) is refused under the default limit in < 50 ms', () => {
      const gif = Buffer.from('4749463839610000000000000000', 'hex');
      gif.writeUInt16LE(65535, 6);
      gif.writeUInt16LE(65535, 8);
      const t0 = performance.now();
      expect(() => decodeBytes(gif, 'bomb.gif')).to.throw(LimitError, /maxImagePixels=90000000/);
      expect(performance.now() - t0).to.be.below(50);
    });
  });

  describe('maxCaptionChars: every text entry point', () => {
    const at = 'a'.repeat(40),
      over = 'a'.repeat(41);
    it('tokenizer encode / encodeWithOffsets / tokenize, parsePhrases, encodeTexts(strings): LimitError at 41 > 40', async () => {
      const tok = ClipTokenizer.default();
      await withLimitsAsync({ maxCaptionChars: 40 }, async () => {
        expect(() => tok.encode(over)).to.throw(LimitError, /maxCaptionChars = 40/);
        expect(() => tok.encodeWithOffsets(over)).to.throw(LimitError);
        expect(() => tokenize([at, over], { truncate: true })).to.throw(LimitError);
        expect(() => parsePhrases(over)).to.throw(LimitError);
        expect(tok.encode(at).length).to.be.greaterThan(0);
        const m = loadMicro();
        try {
          let err: unknown;
          await m.encodeTexts([over], { truncate: true }).then(disposeOutput, (e) => {
            err = e;
          });
          expect(err).to.be.instanceOf(LimitError);
        } finally {
          m.dispose();
        }
      });
    });
    it('a caption of exactly the default limit (1,000,000 code units, one "word") tokenizes in < 20 s (time bound on 2 shared cores)', function () {
      this.timeout(60_000);
      const t0 = performance.now();
      const rows = tokenize('ab'.repeat(DEFAULT_LIMITS.maxCaptionChars / 2), { truncate: true });
      rows.dispose();
      expect(performance.now() - t0).to.be.below(20_000);
      expect(() => ClipTokenizer.default().encode('x'.repeat(DEFAULT_LIMITS.maxCaptionChars + 1))).to.throw(LimitError);
    });
  });

  describe('maxBpeWordChars: long words are cut before BPE', () => {
    it('a 20,000-character word costs about the same per character at maxBpeWordChars 1000 as a 2,000-character one (BPE stays linear)', () => {
      const tok = new ClipTokenizer();
      const time = (n: number) => {
        const w = 'qz'.repeat(n / 2);
        const t0 = performance.now();
        tok.encode(w);
        return (performance.now() - t0) / n;
      };
      time(2000);
      const small = time(2000),
        big = time(20000);
      expect(big).to.be.below(small * 5 + 0.05);
    });
  });

  describe('maxHeaderBytes: safetensors JSON header, zip central directory, pickle', () => {
    it('safetensors header over the limit → WeightsFormatError naming maxHeaderBytes', () => {
      const st = buildSafetensors([{ name: 'a', shape: [2], data: [1, 2] }]);
      const hlen = Number(st.readBigUInt64LE(0));
      withLimits({ maxHeaderBytes: hlen - 1 }, () =>
        expect(() => SafetensorsFile.fromBuffer(st)).to.throw(WeightsFormatError, /maxHeaderBytes/),
      );
      withLimits({ maxHeaderBytes: hlen }, () => expect(SafetensorsFile.fromBuffer(st).names).to.deep.equal(['a']));
    });
    it('zip central directory over the limit → WeightsFormatError naming maxHeaderBytes', () => {
      const p = write(
        'cd.zip',
        buildZip([
          { name: 'a', data: new Uint8Array(4) },
          { name: 'b', data: new Uint8Array(4) },
        ]),
      );
      withLimits({ maxHeaderBytes: 60 }, () => expect(() => ZipFile.open(p)).to.throw(WeightsFormatError, /maxHeaderBytes/));
      withLimits({ maxHeaderBytes: 200 }, () => {
        const z = ZipFile.open(p);
        expect(z.entries).to.have.length(2);
        z.close();
      });
    });
    it('pickle over the limit: unpickle refuses it; data.pkl of a torch archive over the limit is refused before unpickling', () => {
      // Ten views of one storage: a pickle larger than the archive's central directory.
      const pk = stateDictPickle(
        Array.from({ length: 10 }, (_, i) => ({ name: `layer${i}.weight`, storageKey: '0', storageNumel: 2, shape: [2] })),
      );
      const policy = {
        global: () => {
          throw new Error('not reached');
        },
        reduce: () => null,
        newobj: () => null,
        persistentLoad: () => null,
      };
      withLimits({ maxHeaderBytes: pk.length - 1 }, () =>
        expect(() => unpickle(pk, policy as never, 'x.pkl')).to.throw(WeightsFormatError, /maxHeaderBytes/),
      );
      const p = write('big.pt', buildTorchZip('archive', pk, { 0: f32Bytes([1, 2]) }));
      withLimits({ maxHeaderBytes: pk.length - 1 }, () =>
        expect(() => TorchCheckpoint.open(p)).to.throw(WeightsFormatError, /more than the .* allowed|maxHeaderBytes/),
      );
      withLimits({ maxHeaderBytes: pk.length }, () => {
        const c = TorchCheckpoint.open(p);
        expect(c.names).to.have.length(10);
        c.close();
      });
    });
  });

  describe('maxTensorBytes: safetensors, torch and converted tensors are refused from their declared shape', () => {
    it('safetensors: a [4,4] float tensor (64 bytes as float32) is refused at 63, read at 64', () => {
      const st = buildSafetensors([{ name: 'a', shape: [4, 4], data: new Array(16).fill(1) }], 'F16');
      withLimits({ maxTensorBytes: 63 }, () => expect(() => SafetensorsFile.fromBuffer(st)).to.throw(WeightsFormatError, /maxTensorBytes/));
      withLimits({ maxTensorBytes: 64 }, () => expect(SafetensorsFile.fromBuffer(st).read('a').data.length).to.equal(16));
    });
    it('torch: a [4,4] view is refused at 63, read at 64', () => {
      const p = write(
        't.pt',
        buildTorchZip('archive', stateDictPickle([{ name: 'w', storageKey: '0', storageNumel: 16, shape: [4, 4] }]), {
          0: f32Bytes(new Array(16).fill(2)),
        }),
      );
      withLimits({ maxTensorBytes: 63 }, () => expect(() => TorchCheckpoint.open(p)).to.throw(WeightsFormatError, /maxTensorBytes/));
      withLimits({ maxTensorBytes: 64 }, () => {
        const c = TorchCheckpoint.open(p);
        expect(c.read('w').data.length).to.equal(16);
        c.close();
      });
    });
    it('converted folder: a [4,4] weight is refused at 63, read at 64', () => {
      const out = path.join(dir, 'conv');
      fs.mkdirSync(out);
      const tower = { layers: 1, width: 4, heads: 1, mlpWidth: 16, act: 'quick_gelu' as const, layerNormEps: 1e-5 };
      const cfg = { embedDim: 4, vision: { ...tower, resolution: 8, patchSize: 4 }, text: { ...tower, contextLength: 4, vocabSize: 10 } };
      writeConverted(
        out,
        cfg,
        { name: 'x', sha256: '0', family: 'x' },
        [{ name: 'w', shape: [4, 4] }],
        () => ({ dtype: 'float32', shape: [4, 4], data: new Float32Array(16) }),
        { dtype: 'f32' },
      );
      withLimits({ maxTensorBytes: 63 }, () => expect(() => readConverted(out)).to.throw(WeightsFormatError, /maxTensorBytes/));
      withLimits({ maxTensorBytes: 64 }, () => expect(readConverted(out).weights.get('w')!.data.length).to.equal(16));
    });
  });

  describe('maxBatchBytes: encoder chunks shrink to stay under it', () => {
    it('3 images with batchSize 32 run in 3 chunks of 1 when one row exceeds maxBatchBytes; results equal the unchunked ones (max abs err ≤ 1e-5)', async () => {
      const m = loadMicro();
      const R = m.config.vision.resolution;
      const px = tf.tensor4d(
        Float32Array.from({ length: 3 * 3 * R * R }, (_, i) => Math.sin(i)),
        [3, 3, R, R],
      );
      try {
        const starts: number[] = [];
        const hooks = {
          hidden: {
            1: (_h: tf.Tensor3D, info: { batchStart: number }) => {
              starts.push(info.batchStart);
            },
          },
        };
        const full = await m.encodeImages(px, { batchSize: 32, hooks });
        expect(starts).to.deep.equal([0]);
        starts.length = 0;
        const small = await withLimitsAsync({ maxBatchBytes: 1 }, () => m.encodeImages(px, { batchSize: 32, hooks }));
        expect(starts).to.deep.equal([0, 1, 2]);
        const a = full.embeds.dataSync(),
          b = small.embeds.dataSync();
        let err = 0;
        for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
        expect(err).to.be.at.most(1e-5);
        disposeOutput(full);
        disposeOutput(small);
      } finally {
        px.dispose();
        m.dispose();
      }
    });
  });
});
