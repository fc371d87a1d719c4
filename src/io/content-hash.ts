/**
 * Content identity of model weights for the feature cache: sha256 of every weight/config file's bytes, so
 * a different model behind the same path can never reuse another's cached features.
 *
 * Hashing a 600 MB model takes seconds, so each file's hash is remembered in `<cacheDir>/weights-hashes.json`
 * under (path, device, inode, size, mtime, ctime). The memo is used only when the file's mtime and ctime are
 * both older than the moment its hash was taken (minus a 2 s racy-write window, as git does): any write to
 * the file's bytes moves its ctime to "now", which no user call (utimes, touch -r, cp -p) can set back, so a
 * content change always misses the memo and is re-hashed.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { openRegularFile } from './regular-file';

/** Files that can hold weights or a model's configuration (what loaders read from a model folder). */
const MODEL_FILE = /\.(safetensors|bin|pt|pth|json|txt|model)$/i;
const RACY_MS = 2000;
const MEMO_FILE = 'weights-hashes.json';

interface MemoEntry {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  hashedAt: number;
  sha256: string;
}

/**
 * Feed the bytes of the open file `fd` (from its start) to `h` in 4 MiB reads, calling `onBytes` after each read;
 * the one streaming file hash (the feature cache, the converter, batch manifests). `fd` is not closed here.
 */
export function hashInto(h: crypto.Hash, fd: number, onBytes?: (n: number) => void): void {
  const buf = Buffer.allocUnsafe(4 << 20);
  for (let pos = 0; ;) {
    const n = fs.readSync(fd, buf, 0, buf.length, pos);
    if (n <= 0) break;
    h.update(buf.subarray(0, n));
    pos += n;
    onBytes?.(n);
  }
}

/** Feed the bytes of `file` to `h` (see hashInto). */
export function hashFileInto(h: crypto.Hash, file: string, onBytes?: (n: number) => void): void {
  const fd = fs.openSync(file, 'r');
  try {
    hashInto(h, fd, onBytes);
  } finally {
    fs.closeSync(fd);
  }
}

function sha256File(file: string, fail: (p: string) => Error): string {
  const { fd } = openRegularFile(file, fail);
  const h = crypto.createHash('sha256');
  try {
    hashInto(h, fd);
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function loadMemo(file: string | null): Record<string, MemoEntry> {
  if (!file) return {};
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8'));
    return j && typeof j === 'object' && !Array.isArray(j) ? j : {};
  } catch {
    return {}; // a missing or damaged memo only costs a re-hash
  }
}

/**
 * sha256 identity of the model at `modelPath` (a file, or a folder: its model files, by name). `memoDir`
 * (the cache folder) keeps per-file hashes between runs; null hashes every time.
 */
export function weightsContentId(modelPath: string, memoDir: string | null, fail: (p: string) => Error): string {
  const st = fs.statSync(modelPath);
  const files = st.isDirectory()
    ? fs
        .readdirSync(modelPath)
        .filter((f) => MODEL_FILE.test(f))
        .sort()
        .map((f) => path.join(modelPath, f))
    : [modelPath];
  const memoFile = memoDir ? path.join(memoDir, MEMO_FILE) : null;
  const memo = loadMemo(memoFile);
  let changed = false;
  const whole = crypto.createHash('sha256');
  for (const f of files) {
    const s = fs.statSync(f, { bigint: false });
    if (!s.isFile()) continue;
    const abs = path.resolve(f);
    const m = memo[abs];
    let sha: string;
    const fresh =
      m &&
      m.dev === s.dev &&
      m.ino === s.ino &&
      m.size === s.size &&
      m.mtimeMs === s.mtimeMs &&
      m.ctimeMs === s.ctimeMs &&
      s.mtimeMs < m.hashedAt - RACY_MS &&
      s.ctimeMs < m.hashedAt - RACY_MS &&
      /^[0-9a-f]{64}$/.test(m.sha256);
    if (fresh) sha = m.sha256;
    else {
      const hashedAt = Date.now();
      sha = sha256File(f, fail);
      memo[abs] = { dev: s.dev, ino: s.ino, size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, hashedAt, sha256: sha };
      changed = true;
    }
    whole.update(`${path.basename(f)}\t${s.size}\t${sha}\n`);
  }
  if (changed && memoFile) {
    try {
      fs.mkdirSync(path.dirname(memoFile), { recursive: true });
      const tmp = `${memoFile}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(memo));
      fs.renameSync(tmp, memoFile);
    } catch {
      /* the memo is an optimisation only */
    }
  }
  return whole.digest('hex');
}
