// Files xensim writes (the hypercall log, exports, reports): opened and written with errors a user
// can act on. Every I/O failure becomes an OutputError whose message is one line naming the option,
// the path and the cause ("--log /mnt/ro/x.log: read-only file system"), which the CLI prints with
// exit status 2 — never a stack trace. A missing directory is an error, not created behind the
// user's back.

import { openSync, statSync, writeSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';

export class OutputError extends Error {
  override name = 'OutputError';
}

/** The cause of an fs error in words (errno code as Node names it). */
export function ioCause(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'EISDIR':
      return 'is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EFBIG':
      return 'file too large';
    case 'EIO':
      return 'input/output error';
    default:
      return e instanceof Error ? e.message : String(e);
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Refuses an output that is one of the command's inputs (the same file, by device and inode, so
 * `./t.ndjson` and a link to it are caught too): opening it for writing would truncate the input
 * before it is read.
 */
export function refuseInputAsOutput(path: string, what: string, inputs: readonly string[]): void {
  const out = statOrUndefined(path);
  if (out === undefined || !out.isFile()) return;
  for (const input of inputs) {
    const st = statOrUndefined(input);
    if (st !== undefined && st.dev === out.dev && st.ino === out.ino) {
      throw new OutputError(`${what} ${path}: is the input ${input}; writing it would destroy it (choose another path)`);
    }
  }
}

/**
 * Opens `path` for writing (truncated) and returns the fd. `what` names the option in messages
 * ("--log"). The directory must exist; a directory, one of `inputs`, or an unwritable place is an
 * OutputError.
 */
export function openOutput(path: string, what: string, inputs: readonly string[] = []): number {
  refuseInputAsOutput(path, what, inputs);
  requireDirectory(path, what);
  try {
    return openSync(path, 'w');
  } catch (e) {
    throw new OutputError(`${what} ${path}: ${ioCause(e)}`);
  }
}

/** The directory `path` goes in must exist (nothing is created behind the user's back). */
export function requireDirectory(path: string, what: string): void {
  const dir = dirname(path);
  let dirOk = false;
  try {
    dirOk = statSync(dir).isDirectory();
  } catch {
    dirOk = false;
  }
  if (!dirOk) throw new OutputError(`${what} ${path}: no such directory ${dir} (create it first)`);
}

/** A path that is, or will be, a regular file (not a device, a pipe or a directory). */
export function regularOrNew(path: string): boolean {
  const st = statOrUndefined(path);
  return st === undefined || st.isFile();
}

/** write(2) until the whole buffer is out; an error is an OutputError naming `what` and `path`. */
export function writeAllSync(fd: number, buf: Uint8Array, what: string, path: string): void {
  try {
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off);
  } catch (e) {
    throw new OutputError(`${what} ${path}: ${ioCause(e)}`);
  }
}

/**
 * The exit status of a command stopped through its AbortSignal: the CLI aborts with a reason that
 * carries it (128 + the signal's number: SIGINT 130, SIGTERM 143, SIGHUP 129); 130 otherwise.
 */
export function stopExit(signal: AbortSignal | undefined): number {
  const exit = (signal?.reason as { exit?: unknown } | undefined)?.exit;
  return typeof exit === 'number' ? exit : 130;
}
