// An export's output file, written so that nothing is lost or destroyed: to a temporary file in
// the same directory, renamed onto the path only once the export is complete. A failed or stopped
// export (a read error, a full disk, Ctrl-C) leaves the old file as it was — never a 0-byte or half
// file. A path that exists and is not a regular file (/dev/null, /dev/full, a FIFO, /dev/stdout)
// is written in place: renaming onto a device would replace the device node. Writes go through a
// 64 KiB buffer and src/log/output.ts (one-line OutputErrors naming the option and the path).
import { closeSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { OutputError, ioCause, openOutput, refuseInputAsOutput, writeAllSync } from '../log/output.ts';

const FLUSH_BYTES = 1 << 16;

/** Where an export writes: text and bytes, in order. */
export interface Sink {
  text(s: string): void;
  bytes(b: Uint8Array): void;
  /** Everything written: flush, close, rename into place. */
  commit(): void;
  /** Failed or stopped: the temporary file is removed, the path untouched. */
  discard(): void;
}

/** A sink onto anything with write() (a test's capture); commit and discard do nothing. */
export function memorySink(out: { write(s: string | Uint8Array): unknown }): Sink {
  return { text: (s) => void out.write(s), bytes: (b) => void out.write(b), commit: () => undefined, discard: () => undefined };
}

function isSpecial(path: string): boolean {
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new OutputError(`is a directory`);
    return !st.isFile();
  } catch (e) {
    if (e instanceof OutputError) throw e;
    return false;
  }
}

/**
 * Where an export writes first: a temporary file beside OUT (renamed onto it when whole), or OUT
 * itself when it is a device or a pipe (a rename would replace the node). Errors name OUT.
 */
function openTemp(path: string, what: string, inputs: readonly string[]): { fd: number; tmp: string; special: boolean } {
  refuseInputAsOutput(path, what, inputs);
  let special: boolean;
  try {
    special = isSpecial(path);
  } catch (e) {
    throw new OutputError(`${what} ${path}: ${(e as Error).message}`);
  }
  const tmp = special ? path : join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    return { fd: openOutput(tmp, what), tmp, special };
  } catch (e) {
    // The message names the path the user gave, not the temporary one.
    throw e instanceof OutputError ? new OutputError(e.message.split(tmp).join(path)) : e;
  }
}

/**
 * Opens OUT for an export. `what` names the option (`--perfetto`); `inputs` are the command's
 * inputs, which OUT may not be.
 */
export function fileSink(path: string, what: string, inputs: readonly string[]): Sink {
  const { fd, tmp, special } = openTemp(path, what, inputs);
  let open = true;
  let text = '';
  const chunks: Uint8Array[] = [];
  let pending = 0;
  const flush = (): void => {
    if (text !== '') {
      chunks.push(Buffer.from(text));
      text = '';
    }
    for (const c of chunks) writeAllSync(fd, c, what, path);
    chunks.length = 0;
    pending = 0;
  };
  const close = (): void => {
    if (!open) return;
    open = false;
    closeSync(fd);
  };
  return {
    text(s) {
      text += s;
      if (text.length >= FLUSH_BYTES) flush();
    },
    bytes(b) {
      if (text !== '') {
        chunks.push(Buffer.from(text));
        text = '';
      }
      chunks.push(b);
      pending += b.length;
      if (pending >= FLUSH_BYTES) flush();
    },
    commit() {
      try {
        flush();
      } finally {
        close();
      }
      if (special) return;
      try {
        renameSync(tmp, path);
      } catch (e) {
        throw new OutputError(`${what} ${path}: ${ioCause(e)}`);
      }
    },
    discard() {
      close();
      if (!special) {
        try {
          unlinkSync(tmp);
        } catch {
          // already gone
        }
      }
    },
  };
}

/** Two outputs of one command on one path would overwrite each other: refused. */
export function refuseSameOutput(a: { what: string; path: string }, b: { what: string; path: string }): void {
  let same = resolve(a.path) === resolve(b.path);
  if (!same) {
    try {
      const sa = statSync(a.path);
      const sb = statSync(b.path);
      same = sa.dev === sb.dev && sa.ino === sb.ino && sa.isFile();
    } catch {
      same = false;
    }
  }
  if (same) throw new OutputError(`${b.what} ${b.path}: is also the ${a.what} output; one would overwrite the other (choose two paths)`);
}
