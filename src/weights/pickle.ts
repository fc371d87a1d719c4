/**
 * A restricted unpickler. It interprets the pickle opcodes that torch.save and TorchScript's data.pkl use
 * (protocols 2–5) and builds inert JavaScript values. Nothing in the pickle is ever called: a GLOBAL is
 * resolved through the caller's allow-list (anything else → UnsafePickleError naming it), and REDUCE,
 * NEWOBJ, BUILD and persistent ids go to the caller's policy functions, which build data, not code.
 *
 * Python values map to: None → null, bool → boolean, int → number (bigint beyond 2^53), float → number,
 * str → string, bytes → Uint8Array, tuple/list → Array, dict → PyDict (a Map that can carry BUILD state).
 */
import { UnsafePickleError, WeightsFormatError } from '../errors';
import { getLimits } from '../limits';

/** A reference to an allowed Python global (a class or function), never resolved to anything callable. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualname(): string { return `${this.module}.${this.name}`; }
}

/** dict / OrderedDict; `state` holds what BUILD set on it (e.g. state_dict's `_metadata`). */
export class PyDict extends Map<unknown, unknown> {
  state?: unknown;
}

/** An object created by NEWOBJ of an allowed class (TorchScript modules): inert, its BUILD state kept. */
export class PyObject {
  state?: unknown;
  constructor(readonly cls: PyGlobal, readonly args: unknown[]) {}
}

export interface PicklePolicy {
  /** Resolve GLOBAL / STACK_GLOBAL or throw UnsafePickleError. */
  global(module: string, name: string): PyGlobal;
  reduce(fn: PyGlobal, args: unknown[]): unknown;
  newobj(cls: PyGlobal, args: unknown[]): unknown;
  persistentLoad(pid: unknown): unknown;
  /** BUILD on something that is not a PyDict / PyObject (default: refuse). */
  build?(target: unknown, state: unknown): void;
}


/** Opcode byte → name, for the ones we interpret (and error messages). */
const OPS: Record<number, string> = {
  0x80: 'PROTO', 0x95: 'FRAME', 0x2e: 'STOP', 0x28: 'MARK', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP',
  0x4e: 'NONE', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4d: 'BININT2', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x47: 'BINFLOAT',
  0x58: 'BINUNICODE', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8',
  0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8e: 'BINBYTES8', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x29: 'EMPTY_TUPLE', 0x74: 'TUPLE', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3',
  0x5d: 'EMPTY_LIST', 0x61: 'APPEND', 0x65: 'APPENDS', 0x6c: 'LIST',
  0x7d: 'EMPTY_DICT', 0x64: 'DICT', 0x73: 'SETITEM', 0x75: 'SETITEMS',
  0x63: 'GLOBAL', 0x93: 'STACK_GLOBAL', 0x52: 'REDUCE', 0x81: 'NEWOBJ', 0x62: 'BUILD', 0x51: 'BINPERSID',
  0x71: 'BINPUT', 0x72: 'LONG_BINPUT', 0x94: 'MEMOIZE', 0x68: 'BINGET', 0x6a: 'LONG_BINGET',
};

/** Names of opcodes we know but refuse (so the error can name them). */
const REFUSED: Record<number, string> = {
  0x69: 'INST', 0x6f: 'OBJ', 0x92: 'NEWOBJ_EX', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x50: 'PERSID',
  0x49: 'INT', 0x4c: 'LONG', 0x46: 'FLOAT', 0x53: 'STRING', 0x56: 'UNICODE', 0x67: 'GET', 0x70: 'PUT',
  0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

const MAX_DEPTH = 100_000;

/**
 * Most values a pickle may push. The byte limit alone allows ~100 M tiny objects (GBs of JS heap) from a
 * 100 MiB pickle; state_dict and TorchScript pickles of large CLIP models push well under 100 k.
 */
export const MAX_PICKLE_NODES = 2_000_000;

function readSigned(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(bytes.length * 8);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Unpickle `data` under `policy`. `label` names the input in errors. */
export function unpickle(data: Uint8Array, policy: PicklePolicy, label: string): unknown {
  if (data.byteLength > getLimits().maxHeaderBytes) {
    throw new WeightsFormatError(label, `pickle of ${data.byteLength} bytes exceeds maxHeaderBytes`);
  }
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;

  const bad = (p: string): never => { throw new WeightsFormatError(label, `pickle: ${p}`); };
  const need = (n: number): void => { if (pos + n > data.byteLength) bad(`truncated at byte ${pos} (needs ${n} more bytes)`); };
  const u8 = (): number => { need(1); return data[pos++]; };
  const u16 = (): number => { need(2); const v = dv.getUint16(pos, true); pos += 2; return v; };
  const u32 = (): number => { need(4); const v = dv.getUint32(pos, true); pos += 4; return v; };
  const i32 = (): number => { need(4); const v = dv.getInt32(pos, true); pos += 4; return v; };
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(data.byteLength)) bad(`length ${v} at byte ${pos - 8} is larger than the pickle`);
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => { need(n); const b = data.subarray(pos, pos + n); pos += n; return b; };
  const utf8 = (n: number): string => Buffer.from(bytes(n)).toString('utf8');
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) bad(`unterminated text argument at byte ${pos}`);
    const s = Buffer.from(data.subarray(pos, end)).toString('utf8');
    pos = end + 1;
    return s;
  };
  let nodes = 0;
  const push = (v: unknown): void => {
    if (stack.length > MAX_DEPTH) bad('stack too deep');
    if (++nodes > MAX_PICKLE_NODES) bad(`more than ${MAX_PICKLE_NODES} values (node budget)`);
    stack.push(v);
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) bad(`stack underflow at byte ${pos - 1}`);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) bad(`empty stack at byte ${pos - 1}`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) bad(`no MARK before byte ${pos - 1}`);
    return stack.splice(m as number);
  };
  const setItems = (d: unknown, kv: unknown[]): void => {
    if (!(d instanceof Map)) bad(`SETITEM(S) on a non-dict at byte ${pos - 1}`);
    if (kv.length % 2) bad(`odd number of items for SETITEMS at byte ${pos - 1}`);
    for (let i = 0; i < kv.length; i += 2) (d as Map<unknown, unknown>).set(kv[i], kv[i + 1]);
  };
  const appendItems = (l: unknown, items: unknown[]): void => {
    if (!Array.isArray(l)) bad(`APPEND(S) on a non-list at byte ${pos - 1}`);
    for (const it of items) (l as unknown[]).push(it);
  };
  const memoPut = (i: number): void => { memo.set(i, top()); };
  const memoGet = (i: number): void => {
    if (!memo.has(i)) bad(`memo key ${i} read before it was written`);
    push(memo.get(i));
  };

  for (;;) {
    const at = pos;
    const op = u8();
    const name = OPS[op];
    if (!name) {
      const known = REFUSED[op];
      const what = known ? `opcode ${known} (0x${op.toString(16)})` : `unknown opcode 0x${op.toString(16).padStart(2, '0')}`;
      throw new UnsafePickleError(label, `pickle: ${what} at byte ${at} is not supported by the restricted unpickler`);
    }
    switch (name) {
      case 'PROTO': {
        const v = u8();
        if (v < 2 || v > 5) bad(`protocol ${v} (only 2–5 are read)`);
        break;
      }
      case 'FRAME': u64(); break; // frames only group bytes; we read from one buffer anyway
      case 'STOP': {
        if (stack.length !== 1 || marks.length) bad(`STOP with ${stack.length} items on the stack`);
        return stack[0];
      }
      case 'MARK': marks.push(stack.length); break;
      case 'POP': pop(); break;
      case 'POP_MARK': popMark(); break;
      case 'DUP': push(top()); break;
      case 'NONE': push(null); break;
      case 'NEWTRUE': push(true); break;
      case 'NEWFALSE': push(false); break;
      case 'BININT': push(i32()); break;
      case 'BININT1': push(u8()); break;
      case 'BININT2': push(u16()); break;
      case 'LONG1': push(readSigned(bytes(u8()))); break;
      case 'LONG4': {
        const n = u32();
        if (n > 64) bad(`LONG4 of ${n} bytes`);
        push(readSigned(bytes(n)));
        break;
      }
      case 'BINFLOAT': { need(8); push(dv.getFloat64(pos, false)); pos += 8; break; }
      case 'BINUNICODE': push(utf8(u32())); break;
      case 'SHORT_BINUNICODE': push(utf8(u8())); break;
      case 'BINUNICODE8': push(utf8(u64())); break;
      case 'BINBYTES': push(bytes(u32()).slice()); break;
      case 'SHORT_BINBYTES': push(bytes(u8()).slice()); break;
      case 'BINBYTES8': push(bytes(u64()).slice()); break;
      case 'BINSTRING': push(Buffer.from(bytes(u32())).toString('latin1')); break;
      case 'SHORT_BINSTRING': push(Buffer.from(bytes(u8())).toString('latin1')); break;
      case 'EMPTY_TUPLE': push([]); break;
      case 'TUPLE': push(popMark()); break;
      case 'TUPLE1': push([pop()]); break;
      case 'TUPLE2': { const b = pop(); const a = pop(); push([a, b]); break; }
      case 'TUPLE3': { const c = pop(); const b = pop(); const a = pop(); push([a, b, c]); break; }
      case 'EMPTY_LIST': push([]); break;
      case 'LIST': push(popMark()); break;
      case 'APPEND': { const v = pop(); appendItems(top(), [v]); break; }
      case 'APPENDS': { const items = popMark(); appendItems(top(), items); break; }
      case 'EMPTY_DICT': push(new PyDict()); break;
      case 'DICT': { const d = new PyDict(); setItems(d, popMark()); push(d); break; }
      case 'SETITEM': { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; }
      case 'SETITEMS': { const kv = popMark(); setItems(top(), kv); break; }
      case 'GLOBAL': { const mod = line(); const nm = line(); push(policy.global(mod, nm)); break; }
      case 'STACK_GLOBAL': {
        const nm = pop(); const mod = pop();
        if (typeof mod !== 'string' || typeof nm !== 'string') bad(`STACK_GLOBAL with non-string operands at byte ${at}`);
        push(policy.global(mod as string, nm as string));
        break;
      }
      case 'REDUCE': {
        const args = pop(); const fn = pop();
        if (!(fn instanceof PyGlobal)) throw new UnsafePickleError(label, `pickle: REDUCE at byte ${at} calls something that is not an allowed global`);
        if (!Array.isArray(args)) bad(`REDUCE at byte ${at}: arguments are not a tuple`);
        push(policy.reduce(fn, args as unknown[]));
        break;
      }
      // NEWOBJ mirrors REDUCE on purpose: each opcode's own check and message, both through the policy.
      case 'NEWOBJ': {
        const args = pop(); const cls = pop();
        if (!(cls instanceof PyGlobal)) throw new UnsafePickleError(label, `pickle: NEWOBJ at byte ${at} on something that is not an allowed class`);
        if (!Array.isArray(args)) bad(`NEWOBJ at byte ${at}: arguments are not a tuple`);
        push(policy.newobj(cls, args as unknown[]));
        break;
      }
      case 'BUILD': {
        const state = pop(); const target = top();
        if (target instanceof PyObject || target instanceof PyDict) target.state = state;
        else if (policy.build) policy.build(target, state);
        else throw new UnsafePickleError(label, `pickle: BUILD at byte ${at} on a value that cannot take state`);
        break;
      }
      case 'BINPERSID': push(policy.persistentLoad(pop())); break;
      case 'BINPUT': memoPut(u8()); break;
      case 'LONG_BINPUT': memoPut(u32()); break;
      case 'MEMOIZE': memoPut(memo.size); break;
      case 'BINGET': memoGet(u8()); break;
      case 'LONG_BINGET': memoGet(u32()); break;
      default: bad(`internal: opcode ${name} not handled`);
    }
  }
}
