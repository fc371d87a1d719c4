/**
 * NumPy `.npy` (format 1.0) for 2-D little-endian float arrays: what `np.load` reads with no custom code.
 * The header is a Python dict literal padded with spaces so that the data starts on a 64-byte boundary.
 */
import { InputError } from '../errors';
import { floatToHalf, halfToFloat } from '../weights/dtype';

export type NpyDtype = 'float16' | 'float32';
const DESCR: Record<NpyDtype, string> = { float16: '<f2', float32: '<f4' };

/** float32 ↔ IEEE half bits, round to nearest even (numpy's astype(float16)): the weight readers' conversions. */
export { floatToHalf as toHalf, halfToFloat as fromHalf } from '../weights/dtype';

/** The magic, version and header of a `.npy` file (`descr` as numpy writes it, e.g. '<f4'). */
export function npyHeader(descr: string, shape: readonly number[]): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1')]);
}

/** The bytes of a `.npy` file holding `data` as a C-order array of `shape`. */
export function npyBytes(data: Float32Array, shape: readonly number[], dtype: NpyDtype = 'float32'): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new InputError('npy', `shape [${shape.join(', ')}] holds ${count} values, data has ${data.length}`);
  let body: Buffer;
  if (dtype === 'float32') {
    body = Buffer.alloc(data.length * 4);
    for (let i = 0; i < data.length; i++) body.writeFloatLE(data[i], i * 4);
  } else {
    body = Buffer.alloc(data.length * 2);
    for (let i = 0; i < data.length; i++) body.writeUInt16LE(floatToHalf(data[i]), i * 2);
  }
  return Buffer.concat([npyHeader(DESCR[dtype], shape), body]);
}

export interface NpyArray {
  data: Float32Array;
  shape: number[];
  dtype: NpyDtype;
}

/** Parse a `.npy` written by `npyBytes` (or numpy: 2-D little-endian f2/f4, C order). */
export function parseNpy(buf: Buffer, label: string): NpyArray {
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new InputError(label, 'not a .npy file (bad magic)');
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  const dtype = (Object.keys(DESCR) as NpyDtype[]).find((d) => DESCR[d] === descr);
  if (!dtype || fortran !== 'False' || shapeText === undefined) throw new InputError(label, `unsupported .npy header ${header.trim()}`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const off = start + hlen,
    width = dtype === 'float32' ? 4 : 2;
  if (buf.length !== off + count * width)
    throw new InputError(label, `.npy holds ${buf.length - off} data bytes, shape [${shape}] needs ${count * width}`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = dtype === 'float32' ? buf.readFloatLE(off + 4 * i) : halfToFloat(buf.readUInt16LE(off + 2 * i));
  return { data, shape, dtype };
}
