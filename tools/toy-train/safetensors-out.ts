/**
 * Writes canonical weights as a float16 safetensors file (the bundled toy model's format: OpenAI state_dict
 * names, F16, header padded with spaces to a multiple of 8), atomically: a temp file in the same folder, then a
 * rename, so a reader polling for the file never sees it half written.
 */
import * as fs from 'fs';
import * as path from 'path';
import { floatToHalf } from '../../src/weights/dtype';
import type { TensorMap } from '../../src/weights/types';

export function writeSafetensorsF16(file: string, weights: TensorMap, metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', ...metadata } };
  let off = 0;
  for (const [name, t] of weights) {
    const bytes = t.data.length * 2;
    header[name] = { dtype: 'F16', shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  while (Buffer.byteLength(json) % 8) json += ' ';
  const body = new Uint16Array(off / 2);
  let k = 0;
  for (const t of weights.values()) for (let i = 0; i < t.data.length; i++) body[k++] = floatToHalf(t.data[i]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, Buffer.concat([len, Buffer.from(json), Buffer.from(body.buffer)]));
  fs.renameSync(tmp, file);
}

/** Writes a text file atomically (temp name, then rename). */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}
