/**
 * Exactly-once output on a plain file system: a shard is a folder built under a hidden temporary name and
 * renamed into place when complete. rename(2) of a folder is atomic and fails onto a non-empty folder, so a
 * reader (or a rerun) sees either no shard or a complete one, and when two workers finish the same shard the
 * second one's rename fails and its copy is dropped (the outputs are deterministic, so either copy is right).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const TMP_PREFIX = '.tmp-';

/** Write a file and flush it to disk (so that a renamed shard is complete after a crash, not just a kill). */
export function writeDurable(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Write a single file atomically (temp name in the same folder + rename). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `${TMP_PREFIX}${path.basename(file)}-${tag()}`);
  writeDurable(tmp, data);
  fs.renameSync(tmp, file);
}

/** Create `file` with `data` only if it does not exist (atomic: link(2) of a finished temp file). */
export function createExclusive(file: string, data: string): boolean {
  const tmp = path.join(path.dirname(file), `${TMP_PREFIX}${path.basename(file)}-${tag()}`);
  writeDurable(tmp, data);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function tag(): string {
  return `${os.hostname().replace(/[^A-Za-z0-9_.]/g, '_')}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A fresh hidden folder next to where shard `name` will live. */
export function shardTempDir(parent: string, name: string): string {
  fs.mkdirSync(parent, { recursive: true });
  const dir = path.join(parent, `${TMP_PREFIX}${name}-${tag()}`);
  fs.mkdirSync(dir);
  return dir;
}

/** Publish a finished temp folder as `final`. False when another worker published it first (ours is dropped). */
export function commitShard(tmp: string, final: string): boolean {
  const dfd = fs.openSync(tmp, 'r');
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
  try {
    fs.renameSync(tmp, final);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      fs.rmSync(tmp, { recursive: true, force: true });
      return false;
    }
    throw e;
  }
  const pfd = fs.openSync(path.dirname(final), 'r');
  try {
    fs.fsyncSync(pfd);
  } finally {
    fs.closeSync(pfd);
  }
  return true;
}

/**
 * Remove temp folders/files left by killed processes of this host (their pid is gone). Temp entries of other
 * hosts or of live processes are left alone: they may be shards in progress.
 */
export function removeStaleTemps(parent: string): number {
  if (!fs.existsSync(parent)) return 0;
  const host = os.hostname().replace(/[^A-Za-z0-9_.]/g, '_');
  let removed = 0;
  for (const name of fs.readdirSync(parent)) {
    if (!name.startsWith(TMP_PREFIX)) continue;
    const m = /-([^-]+)-(\d+)-[a-z0-9]+$/.exec(name);
    if (!m || m[1] !== host || alive(Number(m[2]))) continue;
    fs.rmSync(path.join(parent, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false; // our own leftovers cannot be in progress: we are just starting
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function isTemp(name: string): boolean {
  return name.startsWith(TMP_PREFIX);
}
