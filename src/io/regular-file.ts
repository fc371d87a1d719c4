/**
 * Open files as regular files only. Opening a FIFO for reading blocks until a writer appears, and a device
 * (`/dev/zero`) never ends, so every reader opens through here: the open is non-blocking, then `fstat` on
 * the open descriptor (no race between a check and the open) refuses anything that is not a regular file —
 * FIFOs, sockets, devices, directories — with the caller's typed error. Sizes can be checked before reading.
 */
import * as fs from 'fs';

/** Builds the caller's typed error for `problem` (e.g. `(p) => new WeightsFormatError(file, p)`). */
/** The problem text for a missing file, so callers can word that case their own way. */
export const NO_SUCH_FILE = 'cannot open: no such file (ENOENT)';

export type FileError = (problem: string) => Error;

// O_NONBLOCK keeps open() of a FIFO from waiting for a writer; it changes nothing for regular files.
const FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

function kind(st: fs.Stats): string {
  if (st.isDirectory()) return 'not a regular file (a folder)';
  if (st.isFIFO()) return 'not a regular file (a FIFO / named pipe)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'not a regular file (a device)';
  if (st.isSocket()) return 'not a regular file (a socket)';
  return 'not a regular file';
}

function openProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return NO_SUCH_FILE;
  if (code === 'EISDIR') return 'not a regular file (a folder)';
  return `cannot open: ${code ?? (e as Error).message}`;
}

export interface RegularFile {
  fd: number;
  size: number;
}

/** Open `file` for reading; refuses non-regular files and (with `maxBytes`) files larger than that. */
export function openRegularFile(file: string, fail: FileError, maxBytes?: number, limitName = 'the limit'): RegularFile {
  let fd: number;
  try {
    fd = fs.openSync(file, FLAGS);
  } catch (e) {
    throw fail(openProblem(e));
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw fail(kind(st));
    if (maxBytes !== undefined && st.size > maxBytes) throw fail(`file is ${st.size} bytes, more than ${limitName} (${maxBytes})`);
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Read a whole regular file (bounded by `maxBytes` when given). */
export function readRegularFile(file: string, fail: FileError, maxBytes?: number, limitName?: string): Buffer {
  const { fd, size } = openRegularFile(file, fail, maxBytes, limitName);
  try {
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, off, size - off, off);
      } catch (e) {
        throw fail(`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (n === 0) throw fail(`file shrank while being read (${off} of ${size} bytes)`);
      off += n;
    }
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

/** `readRegularFile` as UTF-8 text. */
export function readRegularText(file: string, fail: FileError, maxBytes?: number, limitName?: string): string {
  return readRegularFile(file, fail, maxBytes, limitName).toString('utf8');
}

/** Async form for the image loader (reads overlap): open non-blocking, fstat, then the caller reads. */
export async function openRegularFileAsync(file: string, fail: FileError): Promise<{ fh: fs.promises.FileHandle; size: number }> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, FLAGS);
  } catch (e) {
    throw fail(openProblem(e));
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw fail(kind(st));
    return { fh, size: st.size };
  } catch (e) {
    await fh.close();
    throw e;
  }
}
