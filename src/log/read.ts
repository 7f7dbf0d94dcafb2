// Reading a hypercall log back, line by line (inspect and export): which lines are log lines, and
// what keeps a log from being read cleanly. It streams through the trace reader's line batches, so
// the limits of docs/limits.md hold.
import { TraceError } from '../trace/fields.ts';
import { MAX_DEPTH, nestingOver, printable, readLineBatches } from '../trace/lines.ts';
import { errnoName } from '../../hypervisor/abi.ts';
import type { Obj } from './line.ts';

/** One physical line of the log: its number (from 1), its text, and the object when it is one. */
export interface LogLine {
  n: number;
  text: string;
  /** null: not a JSON object (or a `#` comment). */
  o: Obj | null;
  comment: boolean;
  /** Why a line that is not a comment is not a log line: `FILE:LINE: …` (then `o` is null). */
  bad?: string;
  /** A format-2 line: `o` has what its text leaves to the reader (fullLine), `text` does not. */
  filled?: true;
}

/** Why a line is not a log line, or undefined: a JSON object whose `level` and `time` are numbers when present. */
function notLogLine(text: string, path: string, n: number): { o: Obj | null; bad?: string } {
  const at = `${path}:${n}: `;
  if (nestingOver(text)) return { o: null, bad: `${at}arrays and objects nested deeper than ${MAX_DEPTH} levels (the limit of a log line)` };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { o: null, bad: `${at}not valid JSON (${printable((e as Error).message)})` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return { o: null, bad: `${at}expected a JSON object (one log line), got ${Array.isArray(v) ? 'an array' : printable(JSON.stringify(v).slice(0, 48))}` };
  }
  const o = v as Obj;
  for (const k of ['level', 'time'] as const) {
    if (o[k] !== undefined && (typeof o[k] !== 'number' || !Number.isFinite(o[k]))) {
      return { o: null, bad: `${at}field "${k}": expected a number (pino's ${k}), got ${printable(JSON.stringify(o[k]).slice(0, 48))}` };
    }
  }
  return { o };
}

/** The record line before: where a format-2 refusal line takes its line, dom and vcpu from. */
interface LastRecord {
  time: unknown;
  line: unknown;
  dom: unknown;
  vcpu: unknown;
}

/** A result as format 1 wrote it: `errno` (rc's name) right after rc. */
function fullResult(r: unknown): unknown {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return r;
  const o = r as Obj;
  if (o.errno !== undefined || typeof o.rc !== 'number') return r;
  return { rc: o.rc, errno: errnoName(o.rc), ...o };
}

/** A refusal line's refusal as format 1 wrote it (at, errno, xen, chain, blockers always there). */
function fullRefusal(r: Obj): Obj {
  if (r.errno !== undefined || typeof r.rc !== 'number') return r;
  const o: Obj = { at: r.at ?? '', what: r.what, rc: r.rc, errno: errnoName(r.rc), reason: r.reason };
  if (r.mfn !== undefined) o.mfn = r.mfn;
  o.xen = r.xen ?? [r.reason];
  o.chain = r.chain ?? [];
  o.blockers = r.blockers ?? [];
  for (const k of Object.keys(r)) if (!(k in o)) o[k] = r[k];
  return o;
}

/**
 * A log line of format 2 (src/log/write.ts: each thing said once) as format 1 wrote it, so that
 * every reader reads logs of both formats alike: a record line's `line` (its time), result errno
 * and msg; a flush line's `line` and msg; a refusal line's line, dom and vcpu (its record line's),
 * msg and the refusal's defaults. A format-1 line comes back as it is.
 */
export function fullLine(o: Obj, last: LastRecord): Obj {
  if (typeof o.level !== 'number' || typeof o.time !== 'number') return o;
  if (typeof o.op === 'string') {
    last.time = o.time;
    last.line = o.line ?? o.time;
    last.dom = o.dom;
    last.vcpu = o.vcpu;
    if (o.msg !== undefined) return o;
    const { level, time, line, ...rest } = o;
    const full: Obj = { level, time, line: line ?? time, ...rest };
    if (full.result !== undefined) full.result = fullResult(full.result);
    full.msg = o.op;
    return full;
  }
  if (o.msg !== undefined) return o;
  if (o.event === 'tlb_flush') {
    const { level, time, line, ...rest } = o;
    return { level, time, line: line ?? time, ...rest, msg: 'tlb_flush' };
  }
  const r = o.refusal;
  if (o.event === undefined && r !== null && typeof r === 'object' && !Array.isArray(r)) {
    const refusal = fullRefusal(r as Obj);
    // Its record line has its time (a refusal line without one: a log at --log-level warn says all).
    const mine = last.time === o.time;
    const { level, time, line, dom, vcpu, ...rest } = o;
    const full: Obj = { level, time, line: line ?? (mine ? last.line : time) };
    const d = dom ?? (mine ? last.dom : undefined);
    const v = vcpu ?? (mine ? last.vcpu : undefined);
    if (d !== undefined) full.dom = d;
    if (v !== undefined) full.vcpu = v;
    Object.assign(full, rest);
    full.refusal = refusal;
    full.msg = `refused ${String(refusal.what)}: ${String(refusal.reason)}`;
    return full;
  }
  return o;
}

/**
 * Reads LOG (`-` = standard input) line by line. Blank lines are skipped; nothing is kept. The
 * limits of docs/limits.md hold (lines of at most 1 MiB, UTF-8 text, nesting of at most 64 levels):
 * an over-long line or binary data throws TraceError (FILE:LINE: …) and nothing after it is read;
 * a line that is not a log line is yielded with `bad` saying why. Lines of a format-2 log come as
 * format 1 wrote them (fullLine), so readers know one format.
 */
export async function* readLog(path: string): AsyncGenerator<LogLine, void, undefined> {
  let n = 0;
  const last: LastRecord = { time: undefined, line: undefined, dom: undefined, vcpu: undefined };
  for await (const batch of readLineBatches(path === '-' ? process.stdin : path, path)) {
    for (const raw of batch) {
      n++;
      const text = n === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
      const t = text.trimStart();
      if (t === '') continue;
      if (t[0] === '#') {
        yield { n, text, o: null, comment: true };
        continue;
      }
      const { o, bad } = notLogLine(text, path, n);
      if (bad !== undefined) yield { n, text, o, comment: false, bad };
      else {
        const full = o === null ? o : fullLine(o, last);
        yield full === o ? { n, text, o, comment: false } : { n, text, o: full, comment: false, filled: true };
      }
    }
  }
}

/**
 * What keeps a log from being read cleanly, for inspect and export (exit 2): the first line that
 * is not a log line and how many there were, or no log line at all (an empty file). They read on
 * past bad lines — the summary or timeline of the rest is still worth having — but say so.
 */
export class LogCheck {
  private first: string | undefined;
  private bad = 0;
  private lines = 0;
  /** Lines with pino's level and time; trace records (an `op`, no level/time); record lines (both). */
  private logLines = 0;
  private traceRecords = 0;
  private recordLines = 0;
  /** The end line's record count. */
  private endRecords: number | undefined;
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  see(l: LogLine): void {
    const o = l.o;
    if (o !== null) {
      this.lines++;
      const logged = typeof o.level === 'number' && typeof o.time === 'number';
      if (logged) this.logLines++;
      if (o.op !== undefined) {
        if (logged) this.recordLines++;
        else this.traceRecords++;
      }
      if (logged && o.event === 'end' && typeof o.records === 'number') this.endRecords = o.records;
    }
    else if (l.bad !== undefined) {
      this.bad++;
      this.first ??= l.bad;
    }
  }

  /** The message (exit 2), or undefined: every line that is not a comment is a log line, and there is one. */
  problem(): string | undefined {
    if (this.bad > 0) return this.first + (this.bad > 1 ? ` (and ${this.bad - 1} more line(s) that are not log lines)` : '');
    if (this.lines === 0) return `${this.path}: no log lines (an empty file: a hypercall log has at least its end line)`;
    if (this.logLines === 0 && this.traceRecords > 0) {
      return `${this.path}: a trace, not a hypercall log (its lines have no level and time); make its log with: xensim replay ${this.path} --log run.log`;
    }
    return undefined;
  }

  /** What a readable log lacks (a note, not an error): its record lines, when written at --log-level warn or above. */
  lacks(): string | undefined {
    if (this.recordLines > 0 || this.endRecords === undefined || this.endRecords === 0) return undefined;
    return `${this.path}: written at --log-level warn or above: its ${this.endRecords} record lines (info) are not in it, so hypercalls, their results and Xen's flushes are not counted; refusals, failures and the end are. Write it again with --log-level info (the default) for all of it`;
  }
}

/**
 * The message of an error from reading a log: a limit (TraceError, FILE:LINE: …) or the file
 * itself (missing, a directory). Anything else is a bug and is thrown on.
 */
export function logReadError(path: string, e: unknown): string {
  if (e instanceof TraceError) return e.message;
  const ne = e as NodeJS.ErrnoException;
  if (ne === null || typeof ne !== 'object' || typeof ne.code !== 'string') throw e;
  if (ne.code === 'ENOENT') return `${path}: no such file`;
  if (ne.code === 'EISDIR') return `${path}: is a directory, not a log file`;
  return `${path}: cannot read the log (${ne.message})`;
}
