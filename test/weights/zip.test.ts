import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { WeightsFormatError } from '../../src/errors';
import { ZipFile } from '../../src/weights/zip';
import { buildZip } from './builders';

describe('weights/zip', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-zip-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, b: Uint8Array): string => { const p = path.join(dir, name); fs.writeFileSync(p, b); return p; };
  const payload = Buffer.from('hello, zip world! '.repeat(50));
  const good = (): Buffer => buildZip([
    { name: 'top/a.txt', data: payload },
    { name: 'top/b.bin', data: payload, deflate: true },
    { name: 'top/empty', data: new Uint8Array(0) },
  ]);

  it('reads stored and deflate entries by offset, with their sizes', () => {
    const z = ZipFile.open(write('good.zip', good()));
    try {
      expect(z.entries.map((e) => e.name)).to.deep.equal(['top/a.txt', 'top/b.bin', 'top/empty']);
      expect(Buffer.from(z.read('top/a.txt')).equals(payload)).to.equal(true);
      expect(Buffer.from(z.read('top/b.bin')).equals(payload)).to.equal(true);
      expect(z.entry('top/b.bin')!.compressedSize).to.be.below(payload.length);
      expect(z.read('top/empty').length).to.equal(0);
    } finally { z.close(); }
  });

  it('a trailing archive comment is skipped', () => {
    const b = good();
    b.writeUInt16LE(5, b.length - 2);
    const z = ZipFile.open(write('comment.zip', Buffer.concat([b, Buffer.from('hello')])));
    try { expect(z.entries.length).to.equal(3); } finally { z.close(); }
  });

  const expectBad = (file: string, re: RegExp, read?: string): void => {
    let err: unknown;
    try {
      const z = ZipFile.open(file);
      try { if (read) z.read(read); } finally { z.close(); }
    } catch (e) { err = e; }
    expect(err, 'expected WeightsFormatError').to.be.instanceOf(WeightsFormatError);
    expect((err as Error).message).to.match(re);
    expect((err as WeightsFormatError).source).to.equal(file);
  };

  it('not a zip / too short → WeightsFormatError', () => {
    expectBad(write('short.zip', Buffer.from('PK')), /too short/);
    expectBad(write('nozip.zip', Buffer.alloc(100, 7)), /end-of-central-directory/);
  });

  it('bad central directory signature → WeightsFormatError', () => {
    const b = good();
    const cdOffset = b.readUInt32LE(b.length - 6);
    b.writeUInt32LE(0xdeadbeef, cdOffset);
    expectBad(write('badcd.zip', b), /bad central directory signature/);
  });

  it('central directory offset past the end → WeightsFormatError', () => {
    const b = good();
    b.writeUInt32LE(b.length, b.length - 6);
    expectBad(write('cdpast.zip', b), /central directory/);
  });

  it('truncated entry (entry data cut, directory intact) → WeightsFormatError', () => {
    const b = good();
    const cdOffset = b.readUInt32LE(b.length - 6);
    // Claim a larger size for entry 0 than the file holds before the directory.
    b.writeUInt32LE(cdOffset, cdOffset + 20);
    b.writeUInt32LE(cdOffset, cdOffset + 24);
    expectBad(write('trunc.zip', b), /overlaps the central directory|truncated/);
  });

  it('file cut in the middle → WeightsFormatError', () => {
    expectBad(write('cut.zip', good().subarray(0, 700)), /end-of-central-directory|past|truncated/);
  });

  it('corrupted entry bytes fail the CRC check', () => {
    const b = good();
    b[40] ^= 0xff; // inside top/a.txt's data
    expectBad(write('crc.zip', b), /CRC/, 'top/a.txt');
  });

  it('zip64 (saturated end record) is refused clearly', () => {
    const b = good();
    b.writeUInt32LE(0xffffffff, b.length - 6);
    expectBad(write('zip64.zip', b), /zip64/);
  });

  it('encrypted entries and unknown methods are refused', () => {
    const b = good();
    const cd = b.readUInt32LE(b.length - 6);
    const enc = Buffer.from(b); enc.writeUInt16LE(1, cd + 8);
    expectBad(write('enc.zip', enc), /encrypted/);
    const m = Buffer.from(b); m.writeUInt16LE(12, cd + 10);
    expectBad(write('bzip.zip', m), /compression method 12/);
  });

  it('missing entry → WeightsFormatError', () => {
    expectBad(write('good2.zip', good()), /no entry 'nope'/, 'nope');
  });
});
