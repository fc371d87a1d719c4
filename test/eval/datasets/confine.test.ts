/**
 * Issue 15 item 9: dataset image paths are confined to the images (or data) folder unless allowed, and a
 * non-image file's bytes never appear in an error message (which ends up in report.json).
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DatasetError, ImageDecodeError } from '../../../src/errors';
import { loadDataset } from '../../../src/eval/datasets';
import { decodeImage } from '../../../src/image/decode';

describe('eval/datasets: image paths stay inside the dataset folder by default', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-confine-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const item = (image: string) =>
    JSON.stringify({ id: 'x', image, positive: 'a red cube', negative: 'a blue cube', kind: 'swap-att', split: 'seen' });

  it('"../x.png", an absolute path and a symlink leaving the folder → DatasetError; allowOutsideImages accepts them', () => {
    const dir = path.join(tmp, 'ds');
    fs.mkdirSync(dir);
    fs.symlinkSync('/etc', path.join(dir, 'link'));
    for (const ref of ['../x.png', '/etc/passwd', 'link/passwd']) {
      const f = path.join(dir, 'items.jsonl');
      fs.writeFileSync(f, `${item(ref)}\n`);
      expect(() => loadDataset('toy', { data: f }), ref).to.throw(DatasetError, /is outside the images folder .*--allow-outside-images/);
      expect(loadDataset('toy', { data: f, allowOutsideImages: true }).items).to.have.length(1);
    }
    fs.writeFileSync(path.join(dir, 'items.jsonl'), `${item('sub/ok.png')}\n`);
    expect(loadDataset('toy', { data: path.join(dir, 'items.jsonl') }).items[0].image).to.equal(path.join(dir, 'sub', 'ok.png'));
  });

  it('a text file given as an image: ImageDecodeError whose message holds none of its bytes', async () => {
    const f = path.join(tmp, 'x.png');
    fs.writeFileSync(f, 'SECRET-TOKEN-1234');
    let err: unknown;
    try {
      await decodeImage(f);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ImageDecodeError);
    const msg = (err as Error).message;
    expect(msg).to.not.match(/SECRET|53 45 43|5345/i);
  });
});

describe('eval/datasets: FIFOs as dataset files never hang', () => {
  it('a FIFO as a JSONL file or as a *.json inside a SugarCrepe folder → DatasetError at once', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-fifo-ds-'));
    try {
      const { execFileSync } = require('child_process') as typeof import('child_process');
      const jsonl = path.join(dir, 'items.jsonl');
      execFileSync('mkfifo', [jsonl]);
      const t = Date.now();
      expect(() => loadDataset('toy', { data: jsonl })).to.throw(DatasetError, /FIFO/);
      const sc = path.join(dir, 'sc');
      fs.mkdirSync(sc);
      execFileSync('mkfifo', [path.join(sc, 'swap_att.json')]);
      expect(() => loadDataset('sugarcrepe', { data: sc, images: dir })).to.throw(DatasetError, /FIFO/);
      expect(Date.now() - t).to.be.below(2000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('eval/datasets: retrieval image paths are confined too', () => {
  it('a retrieval captions file naming ../x.png → DatasetError; allowed with allowOutsideImages', () => {
    const { loadRetrieval } = require('../../../src/eval/datasets/retrieval') as typeof import('../../../src/eval/datasets/retrieval');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-retr-'));
    try {
      const f = path.join(dir, 'captions.jsonl');
      fs.writeFileSync(
        f,
        `${JSON.stringify({ image: 'a.png', caption: 'a cat' })}\n${JSON.stringify({ image: '../b.png', caption: 'a dog' })}\n`,
      );
      const images = path.join(dir, 'images');
      expect(() => loadRetrieval(f, images)).to.throw(DatasetError, /image 2\).*outside the images folder/);
      expect(loadRetrieval(f, images, true).images).to.have.length(2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
