/**
 * Issue 15 regressions: small generated files that used to hang, blow up memory or escape untyped now end in
 * a typed error within a stated time (each `it` runs under a 10 s mocha timeout; the files are KBs).
 */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isTypedError, WeightsFormatError } from '../../src/errors';
import { renderValue } from '../../src/io/render';
import { setLimits } from '../../src/limits';
import { openCheckpoint } from '../../src/weights/checkpoint';
import { openConverted, readManifest } from '../../src/weights/converted';
import { SafetensorsFile } from '../../src/weights/safetensors';
import { TorchCheckpoint } from '../../src/weights/torch';
import { REPO } from '../helpers/paths';
import { buildSafetensors, buildTorchZip, buildZip, f32Bytes, PickleWriter, pickleTensor, stateDictPickle } from './builders';

const within = <T>(ms: number, fn: () => T): T => {
  const t = Date.now();
  try { return fn(); } finally { expect(Date.now() - t, `took more than ${ms} ms`).to.be.below(ms); }
};

/** A TorchScript-like data.pkl: 60 levels of modules whose two children are the same object. */
function sharedModulePickle(levels: number): Buffer {
  const p = new PickleWriter();
  const memo = (i: number) => p.op(0x72, i & 255, (i >> 8) & 255, 0, 0); // LONG_BINPUT
  const get = (i: number) => p.op(0x6a, i & 255, (i >> 8) & 255, 0, 0); // LONG_BINGET
  p.global('__torch__', 'M').emptyTuple().newobj();
  p.emptyDict().mark().str('w');
  pickleTensor(p, { name: 'w', storageKey: '0', storageNumel: 1, shape: [1] });
  p.setitems().build();
  memo(0);
  for (let i = 1; i <= levels; i++) {
    p.op(0x30); // POP the previous level (kept in the memo)
    p.global('__torch__', 'M').emptyTuple().newobj();
    p.emptyDict().mark().str('a'); get(i - 1); p.str('b'); get(i - 1); p.setitems().build();
    memo(i);
  }
  return p.stop().bytes();
}

describe('weights: structural attacks end in typed errors (issue 15)', function () {
  this.timeout(10_000);
  let tmp: string;
  before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-attacks-')); });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const write = (name: string, data: Uint8Array | string): string => { const f = path.join(tmp, name); fs.writeFileSync(f, data); return f; };

  it('TorchScript module DAG (60 levels of shared children = 2^60 paths, 2 KB) → WeightsFormatError in < 2 s', () => {
    const f = write('dag.pt', buildTorchZip('archive', sharedModulePickle(60), { 0: f32Bytes([1]) }));
    expect(fs.statSync(f).size).to.be.below(4096);
    within(2000, () => expect(() => TorchCheckpoint.open(f)).to.throw(WeightsFormatError, /more than 200000 entries/));
  });

  it('a tensor size that is a 60-level DAG of shared lists → WeightsFormatError with a short message, < 1 s', () => {
    const p = new PickleWriter();
    p.global('collections', 'OrderedDict').emptyTuple().reduce().mark().str('t');
    p.global('torch._utils', '_rebuild_tensor_v2').mark();
    p.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(1).tuple().persid();
    p.int(0);
    p.mark().int(1).op(0x6c).op(0x72, 0, 0, 0, 0); // [1], memo 0
    for (let i = 1; i <= 60; i++) { p.op(0x30); p.op(0x6a, i - 1, 0, 0, 0).op(0x6a, i - 1, 0, 0, 0).op(0x86).op(0x72, i, 0, 0, 0); }
    p.intTuple([1]).op(0x89).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce().setitems();
    const f = write('dagsize.pt', buildTorchZip('archive', p.stop().bytes(), { 0: f32Bytes([1]) }));
    within(1000, () => {
      try { TorchCheckpoint.open(f); expect.fail('opened'); } catch (e) {
        expect(e).to.be.instanceOf(WeightsFormatError);
        expect((e as Error).message.length).to.be.below(600);
      }
    });
  });

  it('a dict holding itself under "state_dict" → WeightsFormatError, not a stack overflow', () => {
    const p = new PickleWriter();
    p.emptyDict().op(0x71, 0).str('state_dict').op(0x68, 0).op(0x73);
    const f = write('self.pt', buildTorchZip('archive', p.stop().bytes(), {}));
    expect(() => TorchCheckpoint.open(f)).to.throw(WeightsFormatError, /without tensors/);
  });

  it('stride-0 view of a 1-element storage declaring 16384×16384 (1 GiB as float32) → WeightsFormatError before any read', () => {
    const pk = stateDictPickle([{ name: 'w', storageKey: '0', storageNumel: 1, shape: [16384, 16384], stride: [0, 0] }]);
    const f = write('stride0.pt', buildTorchZip('archive', pk, { 0: f32Bytes([1]) }));
    within(1000, () => expect(() => TorchCheckpoint.open(f)).to.throw(WeightsFormatError, /stride-0 or overlapping/));
  });

  it('200 full views of one 1 M-element storage (amplification 200×) → WeightsFormatError naming the views', () => {
    const n = 1 << 20;
    const tensors = Array.from({ length: 200 }, (_, i) => ({ name: `t${i}`, storageKey: '0', storageNumel: n, shape: [n] }));
    const zip = buildZip([
      { name: 'archive/data.pkl', data: stateDictPickle(tensors) },
      { name: 'archive/data/0', data: new Uint8Array(n * 4), deflate: true },
    ]);
    expect(zip.length).to.be.below(64 * 1024);
    const f = write('amp.pt', zip);
    within(2000, () => expect(() => TorchCheckpoint.open(f)).to.throw(WeightsFormatError, /overlapping or stride-0 views/));
  });

  it('deflate bomb in a storage entry: refused from its declared size against maxTensorBytes before inflating', () => {
    const n = 4 << 20; // 16 MiB of zeros, ≈ 16 KB deflated
    const zip = buildZip([
      { name: 'archive/data.pkl', data: stateDictPickle([{ name: 'w', storageKey: '0', storageNumel: n, shape: [4] }]) },
      { name: 'archive/data/0', data: new Uint8Array(n * 4), deflate: true },
    ]);
    const f = write('bomb.pt', zip);
    const prev = setLimits({ maxTensorBytes: 1 << 20 });
    try {
      within(1000, () => expect(() => TorchCheckpoint.open(f)).to.throw(WeightsFormatError, /storage '0' of 4194304 elements exceeds the limit maxTensorBytes/));
    } finally { setLimits(prev); }
  });

  it('NaN / Inf weights → WeightsFormatError naming the tensor (safetensors and torch)', () => {
    const st = SafetensorsFile.fromBuffer(buildSafetensors([{ name: 'ok', shape: [2], data: [1, 2] }, { name: 'bad', shape: [3], data: [1, NaN, 3] }]));
    expect(st.read('ok').data).to.deep.equal(Float32Array.from([1, 2]));
    expect(() => st.read('bad')).to.throw(WeightsFormatError, /tensor 'bad' holds NaN \(element 1\)/);
    const f = write('inf.pt', buildTorchZip('archive', stateDictPickle([{ name: 'x.weight', storageKey: '0', storageNumel: 2, shape: [2] }]), { 0: f32Bytes([Infinity, 0]) }));
    const c = TorchCheckpoint.open(f);
    try { expect(() => c.read('x.weight')).to.throw(WeightsFormatError, /'x.weight' holds \+Inf/); } finally { c.close(); }
  });

  it('values nested 100k levels deep in a safetensors header, model.json and config.json → typed errors, not stack overflows', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const header = `{"a":{"dtype":${deep},"shape":[1],"data_offsets":[0,4]}}`;
    const hb = Buffer.from(header);
    const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(hb.length));
    let err: unknown;
    try { SafetensorsFile.fromBuffer(Buffer.concat([len, hb, Buffer.alloc(4)])); } catch (e) { err = e; }
    expect(isTypedError(err), String(err)).to.equal(true);
    const dir = path.join(tmp, 'deep-model');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'model.json'), `{"format":${deep}}`);
    expect(() => readManifest(dir)).to.throw(WeightsFormatError, /format is \[+…\]+, expected/);
    const hf = path.join(tmp, 'deep-hf');
    fs.mkdirSync(hf);
    fs.writeFileSync(path.join(hf, 'config.json'), `{"model_type":${deep}}`);
    fs.writeFileSync(path.join(hf, 'model.safetensors'), buildSafetensors([{ name: 'a', shape: [1], data: [1] }]));
    err = undefined;
    try { openCheckpoint(hf).close(); } catch (e) { err = e; }
    expect(isTypedError(err), String(err)).to.equal(true);
  });

  it('renderValue bounds depth, width and length of any value (cyclic, DAG, huge)', () => {
    const cyc: unknown[] = []; cyc.push(cyc, cyc);
    let dag: unknown = [1]; for (let i = 0; i < 60; i++) dag = [dag, dag];
    const big = Object.fromEntries(Array.from({ length: 1e5 }, (_, i) => [`k${i}`, i]));
    for (const v of [cyc, dag, big, 'x'.repeat(1e6), new Map([[1, cyc]])]) expect(renderValue(v).length).to.be.at.most(120);
    expect(renderValue({ a: [1, 'b'], c: null })).to.equal('{"a": [1, "b"], "c": null}');
  });

  it('model.json declaring 2,000,000 layers → WeightsFormatError (structural limit) in < 1 s', () => {
    const dir = path.join(tmp, 'layers');
    fs.cpSync(path.join(REPO, 'weights', 'toy-shapes'), dir, { recursive: true });
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    m.config.visionLayers = 2_000_000;
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(m));
    within(1000, () => expect(() => readManifest(dir)).to.throw(WeightsFormatError, /vision\.layers = 2000000 is more than the structural limit 1024/));
  });

  it('a folder where a shard should be, and a FIFO as a shard / model.json / safetensors file → WeightsFormatError, no hang', () => {
    const dir = path.join(tmp, 'dirshard');
    fs.cpSync(path.join(REPO, 'weights', 'toy-shapes'), dir, { recursive: true });
    const shard = path.join(dir, 'group1-shard2of4.bin');
    fs.rmSync(shard);
    fs.mkdirSync(shard);
    expect(() => openConverted(dir)).to.throw(WeightsFormatError, /not a regular file \(a folder\)/);
    fs.rmdirSync(shard);
    execFileSync('mkfifo', [shard]);
    within(1000, () => expect(() => openConverted(dir)).to.throw(WeightsFormatError, /FIFO/));
    const fifoDir = path.join(tmp, 'fifo-manifest');
    fs.mkdirSync(fifoDir);
    execFileSync('mkfifo', [path.join(fifoDir, 'model.json')]);
    within(1000, () => expect(() => readManifest(fifoDir)).to.throw(WeightsFormatError, /FIFO/));
    const st = path.join(tmp, 'pipe.safetensors');
    execFileSync('mkfifo', [st]);
    within(1000, () => expect(() => SafetensorsFile.open(st)).to.throw(WeightsFormatError, /FIFO/));
    within(1000, () => expect(() => openCheckpoint(st)).to.throw(WeightsFormatError, /not a regular file/));
    const hf = path.join(tmp, 'fifo-hf');
    fs.mkdirSync(hf);
    execFileSync('mkfifo', [path.join(hf, 'config.json')]);
    fs.writeFileSync(path.join(hf, 'model.safetensors'), buildSafetensors([{ name: 'a', shape: [1], data: [1] }]));
    within(1000, () => expect(() => openCheckpoint(hf)).to.throw(WeightsFormatError, /FIFO/));
  });
});
