/**
 * Issue 15 item 9: `convert` never leaves a loadable partial output, and deletes stale `.partial-*` folders of
 * conversions whose process is gone (a live process's folder is kept). The killed conversion is simulated by
 * a complete model folder carrying the marker and the pid of a finished child process.
 */
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { convertCheckpoint } from '../../src/clip/convert';
import { WeightsFormatError } from '../../src/errors';
import { cleanStalePartials, openConverted, PARTIAL_MARKER, readManifest } from '../../src/weights/converted';
import { fixturePath, REPO } from '../helpers/paths';

describe('weights/converted: unfinished conversions are never loadable and are cleaned up', function () {
  this.timeout(120_000);
  let tmp: string;
  before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-partial-')); });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const deadPid = (): number => spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout as unknown as number;

  it('a complete model folder with the marker (killed during verification) → WeightsFormatError, not a model', () => {
    const dir = path.join(tmp, '.m.partial-1-ab');
    fs.cpSync(path.join(REPO, 'weights', 'toy-shapes'), dir, { recursive: true });
    expect(readManifest(dir).format).to.equal('abe-clip-weights');
    fs.writeFileSync(path.join(dir, PARTIAL_MARKER), '1\n');
    expect(() => readManifest(dir)).to.throw(WeightsFormatError, /unfinished conversion/);
    expect(() => openConverted(dir)).to.throw(WeightsFormatError, /unfinished conversion/);
  });

  it('stale folders of dead processes are removed by the next conversion; a live process\'s folder and other names are kept', async () => {
    const out = path.join(tmp, 'model');
    const stale = path.join(tmp, `.model.partial-${Number(deadPid())}-deadbeef`);
    const live = path.join(tmp, `.model.partial-${process.ppid}-cafe`);
    const other = path.join(tmp, '.othermodel.partial-1-ab');
    for (const d of [stale, live, other]) { fs.mkdirSync(d); fs.writeFileSync(path.join(d, 'model.json'), '{}'); }
    fs.writeFileSync(path.join(stale, PARTIAL_MARKER), `${Number(path.basename(stale).split('-')[1])}\n`);
    fs.writeFileSync(path.join(live, PARTIAL_MARKER), `${process.ppid}\n`);
    expect(cleanStalePartials(out)).to.deep.equal([stale]);
    fs.mkdirSync(stale);
    const r = await convertCheckpoint(fixturePath('micro', 'openai.safetensors'), { out, dtype: 'f32', verify: false });
    expect(r.out).to.equal(out);
    expect(fs.existsSync(stale)).to.equal(false);
    expect(fs.existsSync(live)).to.equal(true);
    expect(fs.existsSync(other)).to.equal(true);
    expect(fs.existsSync(path.join(out, PARTIAL_MARKER))).to.equal(false);
    expect(readManifest(out).format).to.equal('abe-clip-weights');
  });
});
