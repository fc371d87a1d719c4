/**
 * Builds test/fixtures/abe/golden.safetensors: the reference ABE goldens (../shared/reference/abe) minus the
 * `{m1..m8}/v` tensors, which are copies of `patches_layer{1,2}` (the README's cross-checks show 0 difference),
 * so that the alignment/fusion tests run from a clone without ../shared.
 * Usage: npx ts-node --transpile-only tools/abe-fixture.ts [shared dir]
 */
import * as fs from 'fs';
import * as path from 'path';
import { SafetensorsFile } from '../src/weights/safetensors';

const shared = process.argv[2] ?? path.resolve(__dirname, '..', '..', 'shared');
const src = SafetensorsFile.open(path.join(shared, 'reference', 'abe', 'golden.safetensors'));
const dropped = /^m[1-8]\/v$/;
const entries = src.header.entries.filter((e) => !dropped.test(e.name));
const header: Record<string, unknown> = {
  __metadata__: { ...src.metadata, vendored: 'reference/abe/golden.safetensors without m1..m8/v (= patches_layer1/2)' },
};
const file = fs.readFileSync(src.label);
let off = 0;
const chunks: Buffer[] = [];
for (const e of entries) {
  const bytes = Buffer.from(file.subarray(e.begin, e.end));
  header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + bytes.length] };
  chunks.push(bytes);
  off += bytes.length;
}
let json = JSON.stringify(header);
while ((8 + Buffer.byteLength(json)) % 8) json += ' ';
const len = Buffer.alloc(8);
len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
const out = path.resolve(__dirname, '..', 'test', 'fixtures', 'abe', 'golden.safetensors');
fs.writeFileSync(out, Buffer.concat([len, Buffer.from(json), ...chunks]));
console.log(`${out}: ${entries.length} tensors, ${fs.statSync(out).size} bytes`);
