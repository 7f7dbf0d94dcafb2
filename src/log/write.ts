// The hypercall log: pino 10, NDJSON, deterministic. No wall clock anywhere: `time` is the
// simulated time the replayer owns (the ordinal of the record being executed), `base` is null (no
// pid, no hostname), files are written synchronously (nothing logged before a stop is lost), so
// the same trace gives a byte-identical log.
//
// A log is a trace: its record lines carry `op` and the record's normalised fields, so replaying
// the log replays the trace (the reader ignores level, time, msg, line and result, and skips lines
// without `op`). Key order is pino's: level, time, then the fields below, msg last.
//
// Each line says a thing once (format 2, issue 18: the log had 3.4× the bytes of its trace): what
// a reader can tell from the line itself or from the record line before it is not written. Who
// reads a log (src/log/read.ts: readLog, under inspect, export and diff) puts it back, so logs of
// either format read the same; `xensim replay` checks both (src/replay/check.ts).
//   - `line` only where it is not `time` (a replay of a plain trace numbers both alike);
//   - a result's `errno` is not written: it is rc's name (errnoName);
//   - a record line and a flush line have no `msg` (it was the op, or the event);
//   - a refusal line follows its record line: its `line`, `dom` and `vcpu` are that line's, and
//     are written only when there is no record line (--log-level warn and above); it has no `msg`
//     (the blame is its `refusal`, once), and its refusal no `errno`, no empty `at`, `chain` or
//     `blockers`, and no `xen` when Xen's only text is the reason itself.
// Format 1 (before it) wrote all of these on every line. Pieces in [] below are format 1's only.
//
// Line kinds (T = simulated time, N = the trace line of the record):
//  record    info  (30), one per executed record (hypercalls, setup records, queries):
//            {"level":30,"time":T,"line":N?,"op":…,"dom":D,"vcpu":V,<the record's normalised fields>,
//             "expect":…?,"result":{"rc":-22,["errno":"EINVAL",]"done":0,"results":[…]?,"frame":{…}?,
//             "val":"0x…"?,"mfn":"0x…"?,"present":…?,"writable":…?,"tlb_hit":…?,"stale":…?,
//             "mismatches":[…]?}[,"msg":"<op>"]}
//            (dom/vcpu only on records made by a vCPU: hypercalls, store, decrease_reservation,
//             access — with the default resolved)
//  refusal   warn  (40), one per entry of result.refusals, after its record line:
//            {"level":40,"time":T,"line":N?,"dom":D?,"vcpu":V?,"refusal":{"at":"ops[0]"?,"what":…,
//             "rc":-22,["errno":"EINVAL",]"reason":…,"mfn":"0x…"?,"xen":[…]?,
//             "chain":[{"mfn":"0x…","level":1,"slot":16,"val":"0x…"}]?,
//             "blockers":[{"kind":"l1e","mfn":"0x…","slot":16?,"val":"0x…"?,"dom":1,"vcpu":0?,"rw":true?}]?,
//             "more_blockers":K? (blockers past the first 16, not listed),
//             "debug_stop":"ASSERT_UNREACHABLE() in …: a debug build stops here"? (debug builds)}
//             [,"msg":"refused <what>: <reason>"]}
//  flush     info  (30), from XenObserver.flush, before the record line of the record that caused it:
//            {"level":30,"time":T,"line":N?,"event":"tlb_flush","cause":"guest|cr3|type_change|
//             l2plus_update|realloc","dom":D,"vcpus":[…],"va":"0x…"?,"mfn":"0x…"?,"clock":C
//             [,"msg":"tlb_flush"]}
//  expect    warn  (40): {"line":N,"event":"expect_failed","record":"<op>","expected":…,"actual":…,
//            "msg":"expect failed"}  (actual: only the compared keys)
//  audit     error (50): {"line":N,"event":"audit","source":"record|--audit","mismatches":[…],
//            "msg":"audit mismatch"}
//  bad input error (50): {"line":N,"event":"bad_input","file":…,"field":…?,"error":"FILE:LINE: …",
//            "msg":"FILE:LINE: …"}
//  internal  error (50): {"line":N,"event":"internal_error","error":…,"msg":"internal error: …"}
//            (an exception from the model that is not a SetupError)
//  end       always the last line, written whatever the level: info (30) when finished, warn (40)
//            for expect_failed/interrupted, error (50) otherwise:
//            {"level":…,"time":T,"event":"end","reason":"finished|bad_input|expect_failed|audit|
//             interrupted|internal_error|diverged","records":R,"exit":S,"xen":"4.17|master",
//             "build":"debug|release","msg":"replay stopped"}
//            (xen, build: the model that wrote it; replay of the log uses the same)
//            (diverged: a replayed log's record did not come to what the log recorded)
//            (R = records executed; T = the time of the last one). A guest run's log (src/lab/run.ts)
//            ends the same way with "msg":"run stopped" and the verdict's outcome as the reason:
//            completed (info), deadlock|bug (warn), or bad_input|internal_error (error).
//  A guest event's refusal (a BUG names the one it hit) is written whole, as in format 1.
import { closeSync } from 'node:fs';
import { pino, type Level, type Logger } from 'pino';
import { errnoName } from '../../hypervisor/abi.ts';
import type { Caller, FlushEvent, Holder, Refusal } from '../../hypervisor/types.ts';
import { hasCaller, type TraceRecord } from '../trace/types.ts';
import { hex } from '../trace/write.ts';
import type { RecordResult } from '../trace/result.ts';
import { ByteOut } from './bytes.ts';
import { flushLine, head, recordLine, refusal, StringOut, type LineOut } from './json.ts';
import { lockOutput } from './lock.ts';
import { openOutput, refuseInputAsOutput, regularOrNew, requireDirectory, writeAllSync } from './output.ts';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Anything with write(string): a test's capture object, a stream. */
export interface LogSink {
  write(s: string): unknown;
}

export interface LogOptions {
  /** A file path (truncated, written synchronously) or a sink. */
  dest: string | LogSink;
  /** The command's input files: a `dest` that is one of them is refused (output.ts). */
  inputs?: readonly string[];
  level?: LogLevel;
  /** The model that wrote it, stated on the end line so that replay can use the same (default 4.17, debug). */
  xen?: { version: string; build: 'debug' | 'release' };
}

/** The simulated time and the trace line in progress; the replayer sets both. */
export interface SimClock {
  time: number;
  line: number;
}

export type StopReason = 'finished' | 'bad_input' | 'expect_failed' | 'audit' | 'interrupted' | 'internal_error' | 'diverged';
/** Why a guest run's log ends: the verdict's outcome, or what stopped it (src/lab/run.ts). */
export type RunEndReason = 'completed' | 'deadlock' | 'bug' | 'pruned' | 'bad_input' | 'internal_error' | 'interrupted';

/** A holder as Xen names it, plus, in a guest run, what the guest says the mapping is (guest/blame.ts). */
export type BlameHolder = Holder & { guest?: string };

/** A Holder in JSON form (a refusal's blocker in the log). */
export function holderJson(h: BlameHolder): Record<string, unknown> {
  const o: Record<string, unknown> = { kind: h.kind, mfn: hex(h.mfn) };
  if (h.slot !== undefined) o.slot = h.slot;
  if (h.val !== undefined) o.val = hex(h.val);
  o.dom = h.dom;
  if (h.vcpu !== undefined) o.vcpu = h.vcpu;
  if (h.rw !== undefined) o.rw = h.rw;
  if (h.guest !== undefined) o.guest = h.guest;
  return o;
}

/** Blockers a refusal line lists; `more_blockers` counts the ones past them (docs/limits.md). */
export const MAX_LOGGED_BLOCKERS = 16;

/**
 * A Refusal in JSON form: hex strings for MFNs and entry values. `compact`: a refusal line's
 * (format 2: no errno, no empty at/chain/blockers, no xen that only repeats the reason).
 */
export function refusalJson(r: Refusal, compact = false): Record<string, unknown> {
  const o: Record<string, unknown> = compact && r.at === '' ? {} : { at: r.at };
  o.what = r.what;
  o.rc = r.rc;
  if (!compact) o.errno = errnoName(r.rc);
  o.reason = r.reason;
  if (r.mfn !== undefined) o.mfn = hex(r.mfn);
  if (!compact || !(r.xen.length === 1 && r.xen[0] === r.reason)) o.xen = r.xen;
  if (!compact || r.chain.length > 0) o.chain = r.chain.map((c) => ({ mfn: hex(c.mfn), level: c.level, slot: c.slot, val: hex(c.val) }));
  // A frame can have thousands of holders, and a multicall thousands of refusals: the log lists
  // the first MAX_LOGGED_BLOCKERS of each and counts the rest, so a line stays bounded.
  if (!compact || r.blockers.length > 0) o.blockers = r.blockers.slice(0, MAX_LOGGED_BLOCKERS).map(holderJson);
  if (r.blockers.length > MAX_LOGGED_BLOCKERS) o.more_blockers = r.blockers.length - MAX_LOGGED_BLOCKERS;
  if (r.debug_stop !== undefined) o.debug_stop = r.debug_stop;
  return o;
}

/**
 * A log file written synchronously: truncated on open (its directory must exist: output.ts), each line on disk
 * when the logging call returns — or, between hold() and release(), the lines kept in one reused
 * buffer and written 64 KiB at a time. The replayer holds for each batch of records (one read
 * chunk of the trace) and releases when the batch is done or the replay stops: a write(2) per line
 * cost more than the simulator (a call costs 3–15 µs here). The log's own lines are written into
 * the buffer piece by piece (`bytes`, json.ts); pino's (rare) lines come as strings (write). Why
 * not pino.destination({sync: true}): SonicBoom measures and copies every line on top of the write.
 */
export class LogFile {
  private fd: number;
  /** Files not yet ended: flushed and closed at process exit, should a caller die before it. */
  private static readonly open = new Set<LogFile>();
  /** A write(2) once this much is buffered: here a call costs ~15 µs whatever its size. */
  private static readonly WRITE_BYTES = 1 << 16;
  private static exitHook = false;
  /** Lines are kept until release(). */
  private held = false;
  /** The bytes not yet written. */
  readonly bytes = new ByteOut(LogFile.WRITE_BYTES * 2);

  private readonly path: string;
  /** A write failed: later lines are dropped, and end() only closes. */
  private failed = false;
  /** Gives back the lock on the path (none for a device or a pipe). */
  private unlock: () => void = () => {};

  constructor(path: string, inputs: readonly string[] = []) {
    this.path = path;
    // Locked before it is truncated: a log another xensim writes is refused (lock.ts).
    refuseInputAsOutput(path, '--log', inputs);
    requireDirectory(path, '--log');
    if (regularOrNew(path)) this.unlock = lockOutput(path, '--log');
    try {
      this.fd = openOutput(path, '--log', inputs);
    } catch (e) {
      this.unlock();
      throw e;
    }
    LogFile.open.add(this);
    if (!LogFile.exitHook) {
      LogFile.exitHook = true;
      process.on('exit', () => {
        for (const f of LogFile.open) f.end();
      });
    }
  }

  write(s: string): boolean {
    this.bytes.utf8(s);
    this.lineDone();
    return true;
  }

  /** A line is in `bytes`: written now, or (held) once 64 KiB wait. */
  lineDone(): void {
    if (!this.held || this.bytes.pos >= LogFile.WRITE_BYTES) this.drain();
  }

  /** From now until release(), lines are kept and written together (64 KiB at a time). */
  hold(): void {
    this.held = true;
  }

  /** Writes every line kept since hold(), and stops holding. */
  release(): void {
    this.held = false;
    this.drain();
  }

  private drain(): void {
    if (this.bytes.pos === 0) return;
    const n = this.bytes.pos;
    this.bytes.pos = 0;
    this.writeAll(this.bytes.buf.subarray(0, n));
  }

  private writeAll(buf: Buffer): void {
    if (this.fd < 0 || this.failed) return;
    try {
      writeAllSync(this.fd, buf, '--log', this.path);
    } catch (e) {
      // Once a write failed (a full disk), nothing more is tried: the caller stops with the error.
      this.failed = true;
      throw e;
    }
  }

  flushSync(): void {
    this.drain();
  }

  /** Writes what is held and closes; later writes are dropped. */
  end(): void {
    if (this.fd < 0) return;
    LogFile.open.delete(this);
    try {
      this.release();
    } catch {
      // The write error was reported where it happened; closing must still happen.
    }
    closeSync(this.fd);
    this.fd = -1;
    this.unlock();
  }
}

/** The pino logger of a replay, with one method per line kind (see the schema above). */
export class HypercallLog {
  readonly clock: SimClock = { time: 0, line: 0 };
  readonly logger: Logger;
  /** A child at level trace: the end line is written whatever the level. */
  private readonly always: Logger;
  private readonly stream: LogFile | undefined;
  private readonly xen: { version: string; build: 'debug' | 'release' };
  /** Where the lines go: the file, or the sink given. */
  private readonly dest: LogSink;
  /** The level lets record and flush lines (info), refusal lines (warn) through. */
  private readonly info: boolean;
  private readonly warn: boolean;

  constructor(opts: LogOptions) {
    this.xen = opts.xen ?? { version: '4.17', build: 'debug' };
    const clock = this.clock;
    const options = {
      base: null,
      level: opts.level ?? 'info',
      timestamp: () => ',"time":' + clock.time,
    };
    if (typeof opts.dest === 'string') {
      this.stream = new LogFile(opts.dest, opts.inputs);
      this.logger = pino(options, this.stream);
      this.dest = this.stream;
      this.out = this.stream.bytes;
    } else {
      this.stream = undefined;
      this.logger = pino(options, opts.dest as pino.DestinationStream);
      this.dest = opts.dest;
      this.text = new StringOut();
      this.out = this.text;
    }
    this.always = this.logger.child({}, { level: 'trace' });
    this.info = this.logger.isLevelEnabled('info');
    this.warn = this.logger.isLevelEnabled('warn');
  }

  /**
   * Where the record, refusal and flush lines are built, piece by piece, as pino would write them
   * (level, time, the fields in order): the file's buffer, or a string for the sink (json.ts).
   * pino's serialisation key by key, and then one JSON.stringify of each line's object, cost more
   * than the simulated Xen.
   */
  private readonly out: LineOut;
  private readonly text: StringOut | undefined;

  /** The line in `out` is whole: to the file's buffer, or to the sink. */
  private put(): void {
    if (this.stream !== undefined) this.stream.lineDone();
    else this.dest.write(this.text!.take());
  }

  /** An info line's start: pino's level and time, and the trace line where it is not the time. */
  private head(): void {
    const { time, line } = this.clock;
    head(this.out, 30, time, line === time ? undefined : line);
  }

  enabled(level: Level): boolean {
    return this.logger.isLevelEnabled(level);
  }

  /** The record line: the record in its normalised form (a trace line) plus its result. */
  record(rec: TraceRecord, caller: Caller | undefined, result: RecordResult): void {
    if (!this.info) return;
    this.head();
    recordLine(this.out, rec, hasCaller(rec) ? caller : undefined, result);
    this.put();
  }

  /** A refusal line each; the record line before them (when the level keeps it) says where and who. */
  refusals(caller: Caller, refusals: readonly Refusal[]): void {
    if (refusals.length === 0 || !this.warn) return;
    const { time, line } = this.clock;
    const o = this.out;
    for (const r of refusals) {
      head(o, 40, time, this.info ? undefined : line);
      if (!this.info) (o.k(',"dom":'), o.int(caller.dom), o.k(',"vcpu":'), o.int(caller.vcpu));
      o.k(',"refusal":');
      refusal(o, r, MAX_LOGGED_BLOCKERS);
      o.k('}\n');
      this.put();
    }
  }

  flush(e: FlushEvent): void {
    if (!this.info) return;
    this.head();
    flushLine(this.out, e);
    this.put();
  }

  expectFailed(op: string, expected: unknown, actual: unknown): void {
    this.logger.warn({ line: this.clock.line, event: 'expect_failed', record: op, expected, actual }, 'expect failed');
  }

  audit(mismatches: readonly string[], source: 'record' | '--audit'): void {
    this.logger.error({ line: this.clock.line, event: 'audit', source, mismatches }, 'audit mismatch');
  }

  badInput(message: string, file: string, line: number, field?: string): void {
    const o: Record<string, unknown> = { line, event: 'bad_input', file };
    if (field !== undefined) o.field = field;
    o.error = message;
    this.logger.error(o, message);
  }

  internalError(message: string): void {
    this.logger.error({ line: this.clock.line, event: 'internal_error', error: message }, `internal error: ${message}`);
  }

  /** The last line: why the replay (or the guest run) stopped. */
  end(reason: StopReason | RunEndReason, records: number, exit: number, what: 'replay' | 'run' = 'replay'): void {
    const level: Level =
      reason === 'finished' || reason === 'completed' || reason === 'pruned'
        ? 'info'
        : reason === 'expect_failed' || reason === 'interrupted' || reason === 'deadlock' || reason === 'bug'
          ? 'warn'
          : 'error';
    this.always[level]({ event: 'end', reason, records, exit, xen: this.xen.version, build: this.xen.build }, `${what} stopped`);
  }

  /**
   * Keeps a file log's lines until release() and writes them in one go (the replayer's batch of
   * records); a sink is written to as before.
   */
  hold(): void {
    this.stream?.hold();
  }

  release(): void {
    this.stream?.release();
  }

  /** Flushes and closes a file destination. */
  close(): void {
    this.stream?.end();
  }
}

export function createLog(opts: LogOptions): HypercallLog {
  return new HypercallLog(opts);
}

/** A TLB flush as its log line states it (without level, time and line): replay's check compares these. */
export function flushFields(e: FlushEvent): Record<string, unknown> {
  const o: Record<string, unknown> = { event: 'tlb_flush', cause: e.cause, dom: e.dom, vcpus: e.vcpus };
  if (e.va !== undefined) o.va = hex(e.va);
  if (e.mfn !== undefined) o.mfn = hex(e.mfn);
  o.clock = e.clock;
  return o;
}
