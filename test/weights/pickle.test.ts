import { expect } from 'chai';
import { UnsafePickleError, WeightsFormatError } from '../../src/errors';
import { PicklePolicy, PyDict, PyGlobal, unpickle } from '../../src/weights/pickle';
import { PickleWriter } from './builders';

/** A policy that allows only collections.OrderedDict and records every call it sees. */
function policy(calls: string[]): PicklePolicy {
  return {
    global(m, n) {
      if (m === 'collections' && n === 'OrderedDict') return new PyGlobal(m, n);
      throw new UnsafePickleError('<test>', `pickle: global '${m}.${n}' is not allowed`);
    },
    reduce(fn) { calls.push(`reduce ${fn.qualname}`); return new PyDict(); },
    newobj(cls) { calls.push(`newobj ${cls.qualname}`); throw new UnsafePickleError('<test>', 'no'); },
    persistentLoad(pid) { calls.push('persid'); return pid; },
  };
}

function expectUnsafe(bytes: Buffer, re: RegExp, calls: string[] = []): void {
  let err: unknown;
  try { unpickle(bytes, policy(calls), '<test>'); } catch (e) { err = e; }
  expect(err).to.be.instanceOf(UnsafePickleError);
  expect((err as Error).message).to.match(re);
}

describe('weights/pickle (restricted unpickler)', () => {
  it('reads the value types torch pickles use', () => {
    const p = new PickleWriter();
    p.emptyDict().mark()
      .str('a').int(-5)
      .str('b').op(0x4b, 200) // BININT1
      .str('c').op(0x4d, 0x34, 0x12) // BININT2
      .str('d').op(0x88) // NEWTRUE
      .str('e').op(0x4e) // NONE
      .str('f').mark().int(1).int(2).tuple()
      .str('g').raw(Buffer.from([0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0])) // BINFLOAT 1.5
      .str('h').op(0x8a, 2, 0x00, 0x01) // LONG1 256
      .str('i').op(0x8c, 2).raw(Buffer.from('hi')) // SHORT_BINUNICODE
      .str('j').op(0x5d).mark().int(7).int(8).op(0x65) // EMPTY_LIST, APPENDS
      .str('k').op(0x71, 0).op(0x68, 0) // BINPUT / BINGET of the key itself
      .setitems().stop();
    const v = unpickle(p.bytes(), policy([]), '<test>') as PyDict;
    expect(Object.fromEntries(v)).to.deep.equal({ a: -5, b: 200, c: 0x1234, d: true, e: null, f: [1, 2], g: 1.5, h: 256, i: 'hi', j: [7, 8], k: 'k' });
  });

  for (const [mod, name] of [['os', 'system'], ['builtins', 'eval'], ['posix', 'system'], ['subprocess', 'Popen'], ['torch', 'load']]) {
    it(`GLOBAL ${mod}.${name} → UnsafePickleError naming it, nothing called`, () => {
      const calls: string[] = [];
      const p = new PickleWriter().global(mod, name).mark().str('echo pwned').tuple().reduce().stop();
      expectUnsafe(p.bytes(), new RegExp(`${mod}\\.${name}`), calls);
      expect(calls).to.deep.equal([]);
    });
  }

  it('STACK_GLOBAL os.system → UnsafePickleError naming it', () => {
    const p = new PickleWriter().op(0x8c, 2).raw(Buffer.from('os')).op(0x8c, 6).raw(Buffer.from('system')).op(0x93).stop();
    expectUnsafe(p.bytes(), /os\.system/);
  });

  it('REDUCE of something that is not an allowed global → UnsafePickleError', () => {
    const p = new PickleWriter().str('os.system').emptyTuple().reduce().stop();
    expectUnsafe(p.bytes(), /REDUCE/);
  });

  for (const [op, name] of [[0x69, 'INST'], [0x6f, 'OBJ'], [0x82, 'EXT1'], [0x92, 'NEWOBJ_EX'], [0x97, 'NEXT_BUFFER'], [0x50, 'PERSID']] as [number, string][]) {
    it(`unsupported opcode ${name} → UnsafePickleError naming it`, () => {
      expectUnsafe(new PickleWriter().op(op).stop().bytes(), new RegExp(name));
    });
  }

  it('unknown opcode byte → UnsafePickleError naming the byte', () => {
    expectUnsafe(new PickleWriter().op(0xff).stop().bytes(), /unknown opcode 0xff/);
  });

  it('malformed streams → WeightsFormatError (truncated, bad memo, stack underflow, protocol 1)', () => {
    const cases: [Buffer, RegExp][] = [
      [new PickleWriter().raw(Buffer.from([0x58, 10, 0, 0, 0, 0x61])).bytes(), /truncated/],
      [new PickleWriter().op(0x68, 3).stop().bytes(), /memo key 3/],
      [new PickleWriter().reduce().stop().bytes(), /underflow/],
      [Buffer.from([0x80, 1, 0x4e, 0x2e]), /protocol 1/],
      [new PickleWriter().op(0x4e).bytes(), /truncated/],
      [new PickleWriter().op(0x4e).op(0x4e).stop().bytes(), /STOP with 2/],
    ];
    for (const [b, re] of cases) {
      expect(() => unpickle(b, policy([]), '<test>')).to.throw(WeightsFormatError, re);
    }
  });
});
