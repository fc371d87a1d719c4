import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { UnsafePickleError, WeightsFormatError } from '../../src/errors';
import { floatToHalf, halfToFloat } from '../../src/weights/dtype';
import { readSafetensors } from '../../src/weights/safetensors';
import { TorchCheckpoint } from '../../src/weights/torch';
import { fixturePath } from '../helpers/paths';
import { buildTorchZip, f16Bytes, f32Bytes, PickleWriter, pickleTensor, stateDictPickle } from './builders';

describe('weights/torch (PyTorch zip checkpoints, TorchScript archives)', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-torch-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, b: Uint8Array): string => { const p = path.join(dir, name); fs.writeFileSync(p, b); return p; };
  const ref = () => readSafetensors(fixturePath('micro', 'openai.safetensors')).tensors;

  it('micro model.pt (torch.save, F32) equals openai.safetensors exactly (same 62 names)', () => {
    const c = TorchCheckpoint.open(fixturePath('checkpoints', 'model.pt'));
    try {
      expect(c.kind).to.equal('state_dict');
      expect(c.top).to.equal('model');
      const r = ref();
      expect([...c.names].sort()).to.deep.equal([...r.keys()].sort());
      for (const [name, t] of r) {
        const u = c.read(name);
        expect(u.shape, name).to.deep.equal(t.shape);
        expect(u.storedAs).to.equal('F32');
        expect(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), name).to.equal(true);
      }
    } finally { c.close(); }
  });

  it('micro model.jit.pt (TorchScript, F16): module tree → the 62 names, values = F32 rounded to F16 exactly', () => {
    const c = TorchCheckpoint.open(fixturePath('checkpoints', 'model.jit.pt'));
    try {
      expect(c.kind).to.equal('torchscript');
      expect(c.top).to.equal('model.jit');
      const r = ref();
      expect([...c.names].sort()).to.deep.equal([...r.keys()].sort());
      for (const [name, t] of r) {
        const u = c.read(name);
        expect(u.shape, name).to.deep.equal(t.shape);
        expect(u.storedAs).to.equal('F16');
        for (let i = 0; i < t.data.length; i++) {
          if (u.data[i] !== halfToFloat(floatToHalf(t.data[i]))) throw new Error(`${name}[${i}]: ${u.data[i]} ≠ f16(${t.data[i]})`);
        }
      }
    } finally { c.close(); }
  });

  it('strided and offset views are read element by element; the top folder is read from the entries', () => {
    const data = Array.from({ length: 12 }, (_, i) => i);
    const pkl = stateDictPickle([
      // [3,4] storage viewed transposed as [4,3]
      { name: 't', storageKey: '0', storageNumel: 12, shape: [4, 3], stride: [1, 4] },
      // a row slice with an offset
      { name: 'row', storageKey: '0', storageNumel: 12, offset: 8, shape: [4] },
      { name: 'h', storageKey: '1', storageType: 'HalfStorage', storageNumel: 3, shape: [3] },
      { name: 'scalar', storageKey: '2', storageNumel: 1, shape: [] },
    ]);
    const f = write('strided.pt', buildTorchZip('archive', pkl, { 0: f32Bytes(data), 1: f16Bytes([1, -2, 0.5]), 2: f32Bytes([4.25]) }));
    const c = TorchCheckpoint.open(f);
    try {
      expect(c.top).to.equal('archive');
      expect(Array.from(c.read('t').data)).to.deep.equal([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
      expect(Array.from(c.read('row').data)).to.deep.equal([8, 9, 10, 11]);
      expect(Array.from(c.read('h').data)).to.deep.equal([1, -2, 0.5]);
      expect(c.read('scalar')).to.deep.include({ shape: [] });
      expect(c.read('scalar').data[0]).to.equal(4.25);
    } finally { c.close(); }
  });

  it('a state_dict nested under "state_dict" (training checkpoints) is found', () => {
    const pkl = stateDictPickle([{ name: 'w', storageKey: '0', storageNumel: 2, shape: [2] }], 'state_dict');
    const c = TorchCheckpoint.open(write('nested.pt', buildTorchZip('x', pkl, { 0: f32Bytes([1, 2]) })));
    try { expect(c.names).to.deep.equal(['w']); } finally { c.close(); }
  });

  const expectErr = (file: string, cls: typeof WeightsFormatError | typeof UnsafePickleError, re: RegExp): void => {
    let err: unknown;
    try { TorchCheckpoint.open(file).close(); } catch (e) { err = e; }
    expect(err, 'expected an error').to.be.instanceOf(cls);
    expect((err as Error).message).to.match(re);
  };

  it('storage of the wrong size → WeightsFormatError', () => {
    const pkl = stateDictPickle([{ name: 'w', storageKey: '0', storageNumel: 10, shape: [10] }]);
    expectErr(write('short-storage.pt', buildTorchZip('m', pkl, { 0: f32Bytes([1, 2, 3]) })), WeightsFormatError, /storage '0' is 12 bytes but torch\.FloatStorage of 10 elements needs 40/);
  });

  it('a view reaching past its storage → WeightsFormatError', () => {
    const pkl = stateDictPickle([{ name: 'w', storageKey: '0', storageNumel: 3, offset: 2, shape: [3] }]);
    expectErr(write('view.pt', buildTorchZip('m', pkl, { 0: f32Bytes([1, 2, 3]) })), WeightsFormatError, /reaches element 4 of a storage of 3/);
  });

  it('missing storage entry, missing data.pkl, unsupported storage type → WeightsFormatError', () => {
    const pkl = stateDictPickle([{ name: 'w', storageKey: '7', storageNumel: 1, shape: [1] }]);
    expectErr(write('missing.pt', buildTorchZip('m', pkl, {})), WeightsFormatError, /'m\/data\/7' is missing/);
    expectErr(write('nopkl.pt', buildTorchZip('m', Buffer.alloc(0), {}).subarray(0)), WeightsFormatError, /pickle: truncated|data\.pkl/);
    const bool = stateDictPickle([{ name: 'w', storageKey: '0', storageType: 'BoolStorage', storageNumel: 1, shape: [1] }]);
    expectErr(write('bool.pt', buildTorchZip('m', bool, { 0: new Uint8Array(1) })), WeightsFormatError, /BoolStorage is not supported/);
  });

  it('a checkpoint whose pickle calls os.system → UnsafePickleError naming it (nothing run)', () => {
    const p = new PickleWriter();
    p.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
    p.str('w'); pickleTensor(p, { name: 'w', storageKey: '0', storageNumel: 1, shape: [1] });
    p.str('evil').global('os', 'system').mark().str('touch /tmp/abe-clip-pwned').tuple().reduce();
    p.setitems().stop();
    expectErr(write('evil.pt', buildTorchZip('m', p.bytes(), { 0: f32Bytes([1]) })), UnsafePickleError, /'os\.system' is not allowed/);
    expect(fs.existsSync('/tmp/abe-clip-pwned')).to.equal(false);
  });

  it('allowed globals may only be used as intended (calling a storage class, instantiating OrderedDict with NEWOBJ)', () => {
    const a = new PickleWriter().global('torch', 'FloatStorage').emptyTuple().reduce().stop();
    expectErr(write('callstorage.pt', buildTorchZip('m', a.bytes(), {})), UnsafePickleError, /'torch\.FloatStorage' may not be called/);
    const b = new PickleWriter().global('collections', 'OrderedDict').emptyTuple().newobj().stop();
    expectErr(write('newobj.pt', buildTorchZip('m', b.bytes(), {})), UnsafePickleError, /may not be instantiated/);
  });

  it('a pickle with an unsupported opcode inside a checkpoint → UnsafePickleError naming it', () => {
    const p = new PickleWriter().op(0x69).raw(Buffer.from('os\nsystem\n')).stop();
    expectErr(write('inst.pt', buildTorchZip('m', p.bytes(), {})), UnsafePickleError, /INST/);
  });

  it('two data.pkl folders, or none → WeightsFormatError', () => {
    const pkl = stateDictPickle([{ name: 'w', storageKey: '0', storageNumel: 1, shape: [1] }]);
    const { buildZip } = require('./builders') as typeof import('./builders');
    expectErr(write('two.pt', buildZip([{ name: 'a/data.pkl', data: pkl }, { name: 'b/data.pkl', data: pkl }])), WeightsFormatError, /2 data\.pkl/);
    expectErr(write('none.pt', buildZip([{ name: 'a/other', data: pkl }])), WeightsFormatError, /no <top>\/data\.pkl/);
  });
});
