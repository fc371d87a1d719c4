/**
 * Pairs files, streamed: CSV (a header naming `image` and `caption` or `text`, optional `id`; RFC 4180 quotes,
 * one record a line) or JSONL (`{image, caption|text, id?}`). Planning reads the file once — record count,
 * sha256 and the byte offset where each shard starts — so that any worker can read any shard directly, and a
 * run holds one shard of records at a time, whatever the file's size.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../errors';

export interface PairRecord {
  id: string;
  image: string;
  caption: string;
}
export interface PairsPlan {
  format: 'csv' | 'jsonl';
  count: number;
  sha256: string;
  bytes: number;
  offsets: number[];
  columns?: string[];
}

export function pairsFormat(file: string): 'csv' | 'jsonl' {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.parquet')
    throw new InputError(
      `--pairs ${file}`,
      'Parquet is not read (no dependency for it); export CSV or JSONL, e.g. df.to_json(f, orient="records", lines=True)',
    );
  throw new InputError(`--pairs ${file}`, 'expected a .csv or .jsonl file');
}

/** Split one CSV line (no embedded newlines) into fields. */
export function csvFields(line: string, where: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= line.length) throw new InputError(where, 'unterminated quoted field (records must fit on one line)');
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            v += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += line[i++];
      }
      out.push(v);
      if (i < line.length && line[i] !== ',') throw new InputError(where, `unexpected '${line[i]}' after a quoted field`);
    } else {
      const j = line.indexOf(',', i);
      out.push(j < 0 ? line.slice(i) : line.slice(i, j));
      i = j < 0 ? line.length : j;
    }
    if (i >= line.length) return out;
    i++; // the comma
  }
}

/** Line iterator over a byte range of a file, keeping each line's start offset. */
function* lines(file: string, start = 0): Generator<{ text: string; offset: number }> {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 16);
  let pos = start,
    carry = Buffer.alloc(0),
    carryStart = start;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      pos += n;
      let chunk = Buffer.concat([carry, buf.subarray(0, n)]);
      let from = 0;
      for (;;) {
        const nl = chunk.indexOf(10, from);
        if (nl < 0) break;
        yield { text: chunk.toString('utf8', from, nl).replace(/\r$/, ''), offset: carryStart + from };
        from = nl + 1;
      }
      carry = Buffer.from(chunk.subarray(from));
      carryStart += from;
      chunk = carry;
    }
    if (carry.length) yield { text: carry.toString('utf8').replace(/\r$/, ''), offset: carryStart };
  } finally {
    fs.closeSync(fd);
  }
}

function parseRecord(format: 'csv' | 'jsonl', text: string, columns: string[] | undefined, index: number, where: string): PairRecord {
  let o: Record<string, unknown>;
  if (format === 'jsonl') {
    try {
      o = JSON.parse(text);
    } catch (e) {
      throw new InputError(where, `record ${index + 1}: not JSON (${(e as Error).message})`);
    }
    if (!o || typeof o !== 'object' || Array.isArray(o))
      throw new InputError(where, `record ${index + 1}: expected an object {image, caption}`);
  } else {
    const f = csvFields(text, `${where} record ${index + 1}`);
    if (f.length !== columns!.length)
      throw new InputError(where, `record ${index + 1}: ${f.length} fields, the header has ${columns!.length}`);
    o = Object.fromEntries(columns!.map((c, j) => [c, f[j]]));
  }
  const image = o.image,
    caption = o.caption ?? o.text;
  if (typeof image !== 'string' || !image) throw new InputError(where, `record ${index + 1}: 'image' must be a non-empty string`);
  if (typeof caption !== 'string') throw new InputError(where, `record ${index + 1}: 'caption' (or 'text') must be a string`);
  const id = o.id === undefined || o.id === null || o.id === '' ? String(index) : String(o.id);
  return { id, image, caption };
}

/** One pass over the file: count, hash and shard offsets (records are validated here, so shards cannot fail on syntax). */
export function planPairs(file: string, shardSize: number): PairsPlan {
  const where = `--pairs ${file}`;
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new InputError(where, 'no such file');
  const format = pairsFormat(file);
  const h = crypto.createHash('sha256');
  const offsets: number[] = [];
  let columns: string[] | undefined;
  let count = 0;
  for (const l of lines(file)) {
    h.update(l.text + '\n');
    if (!l.text.trim()) continue;
    if (format === 'csv' && !columns) {
      columns = csvFields(l.text, where).map((c) => c.trim().toLowerCase());
      if (!columns.includes('image') || !(columns.includes('caption') || columns.includes('text'))) {
        throw new InputError(where, `the CSV header must name 'image' and 'caption' (or 'text'); got ${columns.join(', ')}`);
      }
      continue;
    }
    parseRecord(format, l.text, columns, count, where);
    if (count % shardSize === 0) offsets.push(l.offset);
    count++;
  }
  if (!count) throw new InputError(where, 'holds no pair');
  return { format, count, sha256: h.digest('hex'), bytes: fs.statSync(file).size, offsets, ...(columns ? { columns } : {}) };
}

/** Records of shard k (at most `shardSize`), read from its offset. */
export function readPairsShard(file: string, plan: PairsPlan, k: number, shardSize: number): PairRecord[] {
  const out: PairRecord[] = [];
  const first = k * shardSize;
  for (const l of lines(file, plan.offsets[k])) {
    if (!l.text.trim()) continue;
    out.push(parseRecord(plan.format, l.text, plan.columns, first + out.length, `--pairs ${file}`));
    if (out.length === shardSize || first + out.length === plan.count) break;
  }
  return out;
}
