// The line reader under every command that reads NDJSON (replay's traces and logs, inspect, export)
// and the input limits they share (docs/limits.md). It splits as readline does (CRLF, LF or a lone
// CR; no empty line after a final newline), but on bytes, so that hostile input is refused early
// and in bounded memory, with FILE:LINE:
//   - a line longer than MAX_LINE_BYTES is refused while it is being read: no more than the limit
//     plus one read chunk is ever held for it (a 100 MB line costs 1 MiB, not 100 MB and minutes);
//   - a NUL byte, or bytes that are not UTF-8 (the spec: a trace is UTF-8 text), are refused
//     before any text is decoded (decoding would silently turn them into U+FFFD);
//   - the lines before a bad one are yielded first, so a replay runs (and logs) them.
// Nesting depth is checked per line by the parsers (nestingOver, before JSON.parse): the depth
// itself is harmless to V8's JSON.parse, but not to the code that walks what it returns.
import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import { TraceError } from './fields.ts';

/** The longest line (bytes, without its line break) of a trace or a log: 1 MiB. */
export const MAX_LINE_BYTES = 1 << 20;
/** The deepest nesting of arrays and objects in one trace or log line, or in a scenario file. */
export const MAX_DEPTH = 64;

/** Read chunks are cut to this size, so that a line inside one chunk is always below the limit. */
const SLICE = 1 << 16;
/** readline's line breaks: CRLF, LF, or a lone CR. */
const LINE_BREAK = /\r\n|\n|\r/;

/**
 * Whether `text` nests arrays and objects deeper than `max`. Cheap for ordinary lines: when the
 * line has at most `max` opening brackets in all, it cannot be deeper (found with indexOf, no
 * per-character loop); only then is it scanned, strings skipped.
 */
export function nestingOver(text: string, max = MAX_DEPTH): boolean {
  return nestingOverAt(text, max) >= 0;
}

/** The offset of the bracket that goes deeper than `max` levels, or -1 (see nestingOver). */
export function nestingOverAt(text: string, max = MAX_DEPTH): number {
  if (text.length <= max) return -1;
  let opens = 0;
  for (let i = text.indexOf('[') + 1; i > 0 && opens <= max; i = text.indexOf('[', i) + 1) opens++;
  for (let i = text.indexOf('{') + 1; i > 0 && opens <= max; i = text.indexOf('{', i) + 1) opens++;
  if (opens <= max) return -1;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // A string: skip it (brackets inside do not nest).
      for (i++; i < n; i++) {
        const k = text.charCodeAt(i);
        if (k === 92) i++;
        else if (k === 34) break;
      }
    } else if (c === 91 || c === 123) {
      if (++depth > max) return i;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return -1;
}

/** A parser's error text made printable: control characters (a NUL, an escape) as \u escapes. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The offset of the first byte of `b` that does not belong to valid UTF-8, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  const n = b.length;
  for (let i = 0; i < n; ) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let len: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) [len, min] = [2, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [len, min] = [3, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [len, min] = [4, 0x10000];
    else return i;
    if (i + len > n) return i;
    let cp = c & (0xff >> (len + 1));
    for (let k = 1; k < len; k++) {
      const d = b[i + k]!;
      if ((d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return -1;
}

const hexByte = (v: number): string => `0x${v.toString(16).padStart(2, '0')}`;

/** Where a byte offset is: the line (counted from `firstLine`, CRLF one break) and its column (from 1). */
function locate(b: Uint8Array, pos: number, firstLine: number): { line: number; col: number; start: number } {
  let line = firstLine;
  let start = 0;
  for (let i = 0; i < pos; i++) {
    const c = b[i];
    if (c === 10 || c === 13) {
      if (c === 13 && b[i + 1] === 10 && i + 1 < pos) i++;
      line++;
      start = i + 1;
    }
  }
  return { line, col: pos - start + 1, start };
}

/**
 * Whether bytes are not text: the first NUL byte or byte that is not UTF-8, with its line (from
 * `firstLine`), column and the offset where its line starts; undefined for UTF-8 text.
 */
export function binaryProblem(bytes: Buffer, firstLine = 1): { line: number; start: number; detail: string } | undefined {
  const nul = bytes.indexOf(0);
  const bad = isUtf8(bytes) ? -1 : firstInvalidUtf8(bytes);
  if (nul < 0 && bad < 0) return undefined;
  const pos = nul < 0 ? bad : bad < 0 ? nul : Math.min(nul, bad);
  const at = locate(bytes, pos, firstLine);
  const detail =
    pos === nul
      ? `binary data: a NUL byte at column ${at.col} (xensim reads UTF-8 text)`
      : `not UTF-8 text: byte ${hexByte(bytes[pos]!)} at column ${at.col} does not start a valid UTF-8 character`;
  return { line: at.line, start: at.start, detail };
}

/** Splits text into its lines; `complete`: it ends with a line break (no line after it). */
function split(text: string, complete = true): string[] {
  const lines = text.includes('\r') ? text.split(LINE_BREAK) : text.split('\n');
  if (complete) lines.pop(); // the empty string after the final break
  return lines;
}

/**
 * A file's bytes, a chunk at a time, through a file handle and two reused buffers (a read stream
 * costs about 3× the reads themselves). The next read is started before a chunk is handed out, so
 * the disk (or page cache) works while the caller parses: a replay used to sit idle ~7 % of its
 * time waiting for each read. Each chunk is valid until the next is asked for.
 */
async function* fileChunks(path: string): AsyncGenerator<Buffer, void, undefined> {
  const file = await open(path, 'r');
  const bufs = [Buffer.allocUnsafe(SLICE), Buffer.allocUnsafe(SLICE)] as const;
  let which = 0;
  let next: Promise<{ bytesRead: number }> | undefined = file.read(bufs[0], 0, SLICE, null);
  try {
    for (;;) {
      const { bytesRead } = await next;
      next = undefined;
      if (bytesRead === 0) return;
      const chunk = bufs[which]!.subarray(0, bytesRead);
      which ^= 1;
      // Reads are sequential (position null): only one is ever in flight. Its failure is thrown
      // where it is awaited; until then it is marked handled (the caller may be busy for a while).
      next = file.read(bufs[which]!, 0, SLICE, null);
      next.catch(() => undefined);
      yield chunk;
    }
  } finally {
    // A caller that stops early leaves a read in flight: it must end before the file is closed.
    await next?.catch(() => undefined);
    await file.close();
  }
}

/**
 * The lines of a text file (or of a stream: `-` for standard input), in batches of about one read
 * chunk each. Throws TraceError(name, line, …) for a line over MAX_LINE_BYTES, a NUL byte or bytes
 * that are not UTF-8 — after yielding the lines before it. Errors of the file itself (ENOENT,
 * EISDIR) are thrown as they come. Batches, not lines: an async iterator costs a promise per step,
 * which for a 100-byte record line is more than parsing it. One loop over the bytes on purpose: it
 * is the hot path of every reader (split into calls, it measured slower), so it runs past 60 lines.
 */
export function readLineBatches(
  source: string | AsyncIterable<Buffer | string>,
  name: string = typeof source === 'string' ? source : '-',
): AsyncGenerator<string[], void, undefined> {
  return readLineBlocks(source, name, (bytes, complete) => split(bytes.toString('utf8'), complete));
}

/**
 * The whole lines of a text file as the bytes read (readLineBatches without decoding or splitting
 * the text: the trace reader splits as it scans, readline's rules). Each chunk's bytes are valid
 * until the next chunk is asked for, and the reader counts its lines into `length` before it asks
 * (the line numbers of the line reader's own errors come from it).
 */
export function readLineChunks(
  source: string | AsyncIterable<Buffer | string>,
  name: string = typeof source === 'string' ? source : '-',
): AsyncGenerator<LineChunk, void, undefined> {
  return readLineBlocks(source, name, (bytes, complete) => ({ bytes, complete, length: 0 }));
}

/** Whole lines of bytes: each ends with a line break, but for the file's last line when not `complete`. */
export interface LineChunk {
  bytes: Buffer;
  complete: boolean;
  /** Its lines: set by the reader of the chunk. */
  length: number;
}

/**
 * The line reader of readLineBatches and readLineChunks; `cut` makes a batch of whole-line bytes.
 * Its lines are counted when the next batch is asked for (readLineChunks' reader counts them).
 */
async function* readLineBlocks<T extends { length: number }>(
  source: string | AsyncIterable<Buffer | string>,
  name: string,
  cut: (bytes: Buffer, complete: boolean) => T,
): AsyncGenerator<T, void, undefined> {
  const input = typeof source === 'string' ? fileChunks(source) : source;
  /** Lines yielded so far. */
  let line = 0;
  /** The bytes after the last line break: the start of a line still being read (no break in it). */
  let carry: Buffer[] = [];
  let carryLen = 0;
  /** The text so far ended with a CR: an LF right after it is that CR's CRLF. */
  let skipLf = false;

  const tooLong = (): TraceError =>
    new TraceError(name, line + 1, `line longer than ${MAX_LINE_BYTES} bytes (1 MiB, the limit of a trace or log line)`);

  /**
   * Whole lines (`bytes` ends with a line break, or is the file's last line): checked, decoded and
   * split. A NUL or a byte that is not UTF-8: the lines before it are yielded, then the error.
   */
  function* emit(bytes: Buffer, complete = true): Generator<T, void, undefined> {
    // (bytes is never empty: every batch holds a line)
    const bad = binaryProblem(bytes, line + 1);
    if (bad !== undefined) {
      if (bad.start > 0) yield cut(bytes.subarray(0, bad.start), true);
      throw new TraceError(name, bad.line, bad.detail);
    }
    const lines = cut(bytes, complete);
    yield lines;
    line += lines.length;
  }

  for await (const raw of input) {
    const whole = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    for (let off = 0; off < whole.length; off += SLICE) {
      let chunk = whole.subarray(off, Math.min(whole.length, off + SLICE));
      if (skipLf) {
        skipLf = false;
        if (chunk[0] === 10) chunk = chunk.subarray(1);
        if (chunk.length === 0) continue;
      }
      const lastBreak = Math.max(chunk.lastIndexOf(10), chunk.lastIndexOf(13));
      if (lastBreak < 0) {
        // No line ends here: keep a copy (the buffer is reused) and read on.
        if (carryLen + chunk.length > MAX_LINE_BYTES) throw tooLong();
        carry.push(Buffer.from(chunk));
        carryLen += chunk.length;
        continue;
      }
      let start = 0;
      if (carryLen > 0) {
        // The carried line ends at this chunk's first break: only that line is copied together.
        const lf = chunk.indexOf(10);
        const cr = chunk.indexOf(13);
        const first = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
        if (carryLen + first > MAX_LINE_BYTES) throw tooLong();
        carry.push(chunk.subarray(0, first + 1));
        const joined = Buffer.concat(carry, carryLen + first + 1);
        carry = [];
        carryLen = 0;
        start = first + 1;
        if (chunk[first] === 13 && chunk[start] === 10) start++;
        yield* emit(joined);
      }
      if (start <= lastBreak) yield* emit(chunk.subarray(start, lastBreak + 1));
      if (lastBreak + 1 < chunk.length) {
        carry.push(Buffer.from(chunk.subarray(lastBreak + 1)));
        carryLen = chunk.length - lastBreak - 1;
      }
      skipLf = lastBreak === chunk.length - 1 && chunk[lastBreak] === 13;
    }
  }
  if (carryLen > 0) {
    // The last line, without a final line break.
    const bytes = Buffer.concat(carry, carryLen);
    carry = [];
    yield* emit(bytes, false);
  }
}
