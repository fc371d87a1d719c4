/**
 * The few ONNX protobuf messages a benchmark graph needs, encoded by hand (no protobuf dependency).
 * A message is a list of byte chunks plus its length, so the weights' bytes are referenced, never copied,
 * until the one final concatenation. Field numbers follow onnx.proto (proto2; repeated scalars unpacked).
 */

export interface Msg {
  parts: Uint8Array[];
  len: number;
}

const WIRE_VARINT = 0,
  WIRE_FIXED32 = 5,
  WIRE_BYTES = 2;

function varint(v: bigint): Uint8Array {
  let x = BigInt.asUintN(64, v); // negative int64 → ten bytes of two's complement, as protobuf does
  const out: number[] = [];
  do {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    out.push(x ? b | 0x80 : b);
  } while (x);
  return Uint8Array.from(out);
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export class Builder {
  private readonly parts: Uint8Array[] = [];
  private len = 0;
  private push(b: Uint8Array): this {
    this.parts.push(b);
    this.len += b.length;
    return this;
  }
  private key(field: number, wire: number): this {
    return this.push(varint(BigInt((field << 3) | wire)));
  }

  int(field: number, v: number | bigint): this {
    return this.key(field, WIRE_VARINT).push(varint(BigInt(v)));
  }
  ints(field: number, vs: readonly number[]): this {
    for (const v of vs) this.int(field, v);
    return this;
  }
  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    return this.key(field, WIRE_FIXED32).push(b);
  }
  bytes(field: number, b: Uint8Array): this {
    return this.key(field, WIRE_BYTES)
      .push(varint(BigInt(b.length)))
      .push(b);
  }
  string(field: number, s: string): this {
    return this.bytes(field, utf8(s));
  }
  strings(field: number, ss: readonly string[]): this {
    for (const s of ss) this.string(field, s);
    return this;
  }
  msg(field: number, m: Msg): this {
    this.key(field, WIRE_BYTES).push(varint(BigInt(m.len)));
    for (const p of m.parts) this.push(p);
    return this;
  }
  msgs(field: number, ms: readonly Msg[]): this {
    for (const m of ms) this.msg(field, m);
    return this;
  }
  done(): Msg {
    return { parts: this.parts, len: this.len };
  }
}

export function concatMsg(m: Msg): Uint8Array {
  const out = new Uint8Array(m.len);
  let off = 0;
  for (const p of m.parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** TensorProto.DataType values used here. */
export const DT = { float: 1, int32: 6, int64: 7 } as const;
type DType = keyof typeof DT;

/** TensorProto: dims 1, data_type 2, name 8, raw_data 9 (little-endian). */
export function tensorProto(name: string, dtype: DType, dims: readonly number[], data: Float32Array | Int32Array | BigInt64Array): Msg {
  return new Builder()
    .ints(1, dims)
    .int(2, DT[dtype])
    .string(8, name)
    .bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .done();
}

/** ValueInfoProto for a tensor of fixed dims: name 1, type 2 → TypeProto.tensor_type 1 → elem_type 1, shape 2 → dim 1 → dim_value 1. */
export function valueInfo(name: string, dtype: DType, dims: readonly number[]): Msg {
  const shape = new Builder()
    .msgs(
      1,
      dims.map((d) => new Builder().int(1, d).done()),
    )
    .done();
  const tensorType = new Builder().int(1, DT[dtype]).msg(2, shape).done();
  return new Builder().string(1, name).msg(2, new Builder().msg(1, tensorType).done()).done();
}

export type AttrValue = number | number[] | { float: number };

/** AttributeProto: name 1, f 2, i 3, ints 8, type 20 (FLOAT 1, INT 2, INTS 7). */
function attribute(name: string, v: AttrValue): Msg {
  const b = new Builder().string(1, name);
  if (Array.isArray(v)) return b.ints(8, v).int(20, 7).done();
  if (typeof v === 'number') return b.int(3, v).int(20, 2).done();
  return b.float(2, v.float).int(20, 1).done();
}

/** NodeProto: input 1, output 2, name 3, op_type 4, attribute 5. */
export function node(
  op: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attrs: Record<string, AttrValue> = {},
  name = outputs[0],
): Msg {
  return new Builder()
    .strings(1, inputs)
    .strings(2, outputs)
    .string(3, name)
    .string(4, op)
    .msgs(
      5,
      Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    )
    .done();
}

/** ModelProto: ir_version 1, producer_name 2, graph 7, opset_import 8; GraphProto: node 1, name 2, initializer 5, input 11, output 12. */
export function model(g: { name: string; nodes: Msg[]; initializers: Msg[]; inputs: Msg[]; outputs: Msg[] }, opset: number): Uint8Array {
  const graph = new Builder().msgs(1, g.nodes).string(2, g.name).msgs(5, g.initializers).msgs(11, g.inputs).msgs(12, g.outputs).done();
  const opsetId = new Builder().string(1, '').int(2, opset).done();
  return concatMsg(new Builder().int(1, 8).string(2, 'abe-clip bench').msg(7, graph).msg(8, opsetId).done());
}
