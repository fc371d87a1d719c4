/**
 * `merge`: the shard folders of one job — one output folder, or several (one per `--shard i/n` worker) —
 * checked and combined into single files: every shard exactly once (a missing or duplicated shard is an
 * error), every manifest identical, every shard's files matching the hashes in its shard.json.
 * Embeddings are streamed into one `.npy` (rows renumbered in `meta.jsonl`); scores into one `scores.jsonl`.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../errors';
import { isTemp, writeFileAtomic } from './atomic';
import { manifestHash, SHARDS_DIR, SHARD_INFO, ShardInfo } from './job';
import { Manifest, manifestDiff, MANIFEST, readManifest } from './manifest';
import { npyHeader } from './npy';
import { shardName } from './shards';

export interface MergeSummary {
  out: string;
  kind: string;
  shards: number;
  rows: number;
  failed: number;
  files: string[];
}

function readNpyHeader(buf: Buffer, label: string): { offset: number; rows: number; cols: number; descr: string } {
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new InputError(label, 'not a .npy file');
  const hlen = buf.readUInt16LE(8);
  const h = buf.toString('latin1', 10, 10 + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(h)![1];
  const [rows, cols] = /'shape':\s*\((\d+),\s*(\d+)\)/.exec(h)!.slice(1).map(Number);
  return { offset: 10 + hlen, rows, cols, descr };
}

export function mergeOutputs(dirs: readonly string[], out: string): MergeSummary {
  if (!dirs.length) throw new InputError('merge', 'give at least one output folder');
  const manifests = dirs.map((d) => readManifest(d));
  const m: Manifest = manifests[0];
  manifests.forEach((x, i) => {
    const d = manifestDiff(m, x);
    if (d) throw new InputError(dirs[i], `is another job than ${dirs[0]} (differs in: ${d})`);
  });
  const owner = new Map<number, string>();
  for (const d of dirs) {
    const sd = path.join(d, SHARDS_DIR);
    if (!fs.existsSync(sd)) continue;
    for (const name of fs.readdirSync(sd)) {
      if (isTemp(name)) continue; // unfinished work of a live or killed worker: never part of the output
      const k = Number(name);
      if (!/^\d+$/.test(name) || k >= m.shards) throw new InputError(path.join(sd, name), `is not a shard of this job (0…${m.shards - 1})`);
      if (!fs.existsSync(path.join(sd, name, SHARD_INFO)))
        throw new InputError(path.join(sd, name), `has no ${SHARD_INFO}: not a complete shard`);
      const prev = owner.get(k);
      if (prev !== undefined) throw new InputError(path.join(sd, name), `duplicate shard ${name} (also in ${prev})`);
      owner.set(k, d);
    }
  }
  const missing: string[] = [];
  for (let k = 0; k < m.shards; k++) if (!owner.has(k)) missing.push(shardName(k));
  if (missing.length)
    throw new InputError(
      dirs.join(', '),
      `${missing.length} of ${m.shards} shards missing: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`,
    );

  const want = manifestHash(m);
  const shardFiles = (k: number) => {
    const sd = path.join(owner.get(k)!, SHARDS_DIR, shardName(k));
    const info = JSON.parse(fs.readFileSync(path.join(sd, SHARD_INFO), 'utf8')) as ShardInfo;
    if (info.manifest !== want || info.shard !== k) throw new InputError(sd, 'was written for another job');
    const read = (f: string) => {
      const b = fs.readFileSync(path.join(sd, f));
      if (crypto.createHash('sha256').update(b).digest('hex') !== info.files[f])
        throw new InputError(path.join(sd, f), 'does not match the hash in shard.json (damaged)');
      return b;
    };
    return { info, read };
  };

  fs.mkdirSync(out, { recursive: true });
  let rows = 0,
    failed = 0;
  const files: string[] = [];
  if (m.kind === 'embed') {
    // Pass 1: shapes; pass 2: stream data bytes behind one header.
    let total = 0,
      cols = 0,
      descr = '';
    for (let k = 0; k < m.shards; k++) {
      const h = readNpyHeader(shardFiles(k).read('embeds.npy'), `shard ${shardName(k)}`);
      total += h.rows;
      cols = h.cols;
      descr = h.descr;
    }
    const npy = path.join(out, 'embeds.npy'),
      meta = path.join(out, 'meta.jsonl');
    const tmpN = `${npy}.partial`,
      tmpM = `${meta}.partial`;
    const fn = fs.openSync(tmpN, 'w'),
      fm = fs.openSync(tmpM, 'w');
    try {
      fs.writeSync(fn, npyHeader(descr, [total, cols]));
      for (let k = 0; k < m.shards; k++) {
        const { info, read } = shardFiles(k);
        const b = read('embeds.npy');
        const h = readNpyHeader(b, `shard ${shardName(k)}`);
        fs.writeSync(fn, b.subarray(h.offset));
        const lines = read('meta.jsonl')
          .toString('utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => {
            const r = JSON.parse(l);
            if (r.row !== null) r.row += rows;
            return JSON.stringify(r);
          });
        if (lines.length) fs.writeSync(fm, lines.join('\n') + '\n');
        rows += h.rows;
        failed += info.failed;
      }
      fs.fsyncSync(fn);
      fs.fsyncSync(fm);
    } finally {
      fs.closeSync(fn);
      fs.closeSync(fm);
    }
    fs.renameSync(tmpN, npy);
    fs.renameSync(tmpM, meta);
    files.push(npy, meta);
  } else {
    const scores = path.join(out, 'scores.jsonl');
    const tmp = `${scores}.partial`;
    const fd = fs.openSync(tmp, 'w');
    try {
      for (let k = 0; k < m.shards; k++) {
        const { info, read } = shardFiles(k);
        const b = read('scores.jsonl');
        fs.writeSync(fd, b);
        rows += b.toString('utf8').split('\n').filter(Boolean).length;
        failed += info.failed;
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, scores);
    files.push(scores);
  }
  writeFileAtomic(
    path.join(out, MANIFEST),
    JSON.stringify({ ...m, merged: { from: dirs.map((d) => path.resolve(d)), rows, failed } }, null, 1) + '\n',
  );
  return { out, kind: m.kind, shards: m.shards, rows, failed, files };
}
