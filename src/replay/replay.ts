// `replay FILE`: runs a trace (or a hypercall log) against the simulated Xen, record by record, in
// order; checks expectations; writes the hypercall log, and a report on stdout (human, or one JSON
// object per record with --json). Exit status as trace-format.md says: 0 all ran and held, 1 an
// expectation (or an audit) failed, 2 the input is not a valid trace (nothing after the bad line
// runs). Two more: 1 for an exception inside the model, 130 when interrupted.
import { Hypervisor, SetupError } from '../../hypervisor/index.ts';
import type { Caller, FlushEvent, XenObserver } from '../../hypervisor/types.ts';
import { createLog, type HypercallLog, type LogLevel, type LogSink, type StopReason } from '../log/write.ts';
import { checkExpect, type ExpectCheck } from '../trace/expect.ts';
import { TraceError } from '../trace/fields.ts';
import { readTraceBatches } from '../trace/read.ts';
import { flattenResult, type RecordResult } from '../trace/result.ts';
import { hasCaller, isHypercallRecord, type Expect, type LoggedRecord, type TraceRecord } from '../trace/types.ts';
import { OutputError, stopExit } from '../log/output.ts';
import { LogChecker, type CheckFailure } from './check.ts';
import { callerOf, execute } from './execute.ts';
import { replayModel, type Model } from './model.ts';
import { outcomeJson, outcomeText, wentWrong, type Outcome } from './report.ts';

export interface Sink {
  write(s: string): unknown;
}

export interface ReplayOptions {
  /** One JSON object per record on `out` instead of the human report. */
  json?: boolean;
  /**
   * Report only the records that went wrong (a failed expectation, audit mismatches) and the
   * summary: for long traces, whose details are in the log.
   */
  quiet?: boolean;
  /** Report destination (default process.stdout). */
  out?: Sink;
  /** Error messages (default process.stderr). */
  err?: Sink;
  /** Write the hypercall log to this file (truncated) or sink. */
  log?: string | LogSink;
  logLevel?: LogLevel;
  /** Run hv.audit() after every record; a mismatch stops the replay (exit 1). */
  audit?: boolean;
  /** Abort = stop before the next record (reason "interrupted", exit 130). */
  signal?: AbortSignal;
  /** Xen's build: 'debug' (default) logs gdprintk texts with each refusal; 'release' none. */
  xenBuild?: 'debug' | 'release';
  /** The Xen release whose answers to give where 4.17 (default) and master differ. */
  xenVersion?: '4.17' | 'master';
  /**
   * A hypercall log is checked as it replays (default true): each record must come to what the
   * log recorded, and the log must be whole (check.ts). False only re-runs it.
   */
  check?: boolean;
  /** Called after each batch of records with the count replayed so far (a progress line). */
  onProgress?: (records: number) => void;
}

export interface ReplaySummary {
  exit: number;
  reason: StopReason;
  /** Records executed. */
  records: number;
  hypercalls: number;
  /** Hypercalls with rc < 0 or a refused entry. */
  refused: number;
  held: number;
  failed: number;
  /** The message of a bad input or an internal error. */
  error?: string;
}


/** The exception text of a model bug: its message and the first frame of the stack. */
function errorText(e: unknown): string {
  if (e instanceof Error) {
    const at = e.stack?.split('\n').find((l) => l.trim().startsWith('at '))?.trim();
    return at ? `${e.name}: ${e.message} (${at})` : `${e.name}: ${e.message}`;
  }
  return String(e);
}

/** The report's lines go out this many at a time (see Replayer.report). */
const REPORT_BATCH = 16;

/** One replay: the loop's state (the hypervisor, the log, the report, the counts) and its steps. */
class Replayer {
  readonly s: ReplaySummary = { exit: 0, reason: 'finished', records: 0, hypercalls: 0, refused: 0, held: 0, failed: 0 };
  private readonly out: Sink;
  private readonly err: Sink;
  readonly log: HypercallLog | undefined;
  /** The log's clock (simulated time), or a stand-in without a log. */
  private readonly clock: { time: number; line: number };
  /**
   * Who reads a refusal's blockers: the report and the log. With --quiet and no log, only the line
   * of a record whose expectation failed, so they are searched for records with one.
   */
  private readonly everyBlocker: boolean;
  /**
   * --quiet, no log, no --audit: a record with no expectation that is not a logged record and not
   * an audit is only run and counted (runOne), as nothing reads its outcome.
   */
  private readonly countOnly: boolean;
  /**
   * The report's lines go out REPORT_BATCH at a time: a write per line to a file or pipe cost more
   * than the simulator, and joining a whole batch's lines, once they have outlived a young-space
   * collection, cost more than joining them young.
   */
  private report: string[] = [];
  /** The line of the record being run (for an internal error's message). */
  private recordLine = 0;
  private hv!: Hypervisor;

  private readonly path: string;
  private readonly opts: ReplayOptions;
  /** The check of a log against its replay (undefined with check: false). */
  private readonly checker: LogChecker | undefined;
  /** The Xen release and build that answer (the flags, else the log's own: model.ts). */
  private readonly model: Model;
  /** Flags that contradict the log's model: the replay does not start. */
  private readonly refused: CheckFailure | undefined;
  /** What the hypervisor tells of its flushes: to the log, and once the input shows it is a log, to the check. */
  private readonly observer: XenObserver = {};
  /** The flushes the record being run caused (for the check against the log's tlb_flush lines). */
  private readonly flushes: FlushEvent[] = [];
  private checkingFlushes = false;

  constructor(path: string, opts: ReplayOptions) {
    this.path = path;
    this.opts = opts;
    this.out = opts.out ?? process.stdout;
    this.err = opts.err ?? process.stderr;
    const { model, refused } = replayModel(path, { version: opts.xenVersion, build: opts.xenBuild }, opts.check !== false);
    this.model = model;
    this.refused = refused;
    this.log = opts.log !== undefined ? createLog({ dest: opts.log, level: opts.logLevel ?? 'info', inputs: [path], xen: model }) : undefined;
    this.clock = this.log?.clock ?? { time: 0, line: 0 };
    this.everyBlocker = opts.quiet !== true || this.log !== undefined;
    this.countOnly = !this.everyBlocker && opts.audit !== true;
    this.checker = opts.check === false ? undefined : new LogChecker(path);
  }

  /** Makes the hypervisor; false (the replay stopped) when that fails. */
  start(): boolean {
    const observer = this.observer;
    const log = this.log;
    if (log !== undefined && log.enabled('info')) observer.flush = (e) => log.flush(e);
    try {
      if (this.refused !== undefined) return this.checkFailed(this.refused);
      this.hv = new Hypervisor({ observer, debugBuild: this.model.build !== 'release', blockers: this.everyBlocker, xenVersion: this.model.version });
      return true;
    } catch (e) {
      this.internalError(e, `${this.path}: internal error: `);
      return false;
    }
  }

  /**
   * Records come in batches (one read chunk each): no promise per record. The log lines of a
   * batch's records reach the file in one write when the batch is done (or the replay stops): a
   * write per line cost more than the simulator.
   */
  async run(): Promise<void> {
    run: for await (const batch of readTraceBatches(this.path, this.checker?.shape)) {
      this.log?.hold();
      try {
        for (const e of batch) if (!this.runOne(e.line, e.record, e.log)) break run;
      } finally {
        this.flushReport();
        this.log?.release();
      }
      this.opts.onProgress?.(this.s.records);
    }
    const whole = this.s.reason === 'finished' ? this.checker?.finish(this.s.records) : undefined;
    if (whole !== undefined) this.checkFailed(whole);
    else if (this.s.reason === 'finished' && this.s.failed > 0) {
      this.s.reason = 'expect_failed';
      this.s.exit = 1;
    }
  }

  /** One turn of the loop: execute → check → log → report. False = stop the replay. */
  private runOne(line: number, rec: TraceRecord, logged: LoggedRecord | undefined): boolean {
    if (this.opts.signal?.aborted) {
      this.stop('interrupted', stopExit(this.opts.signal));
      return false;
    }
    if (logged !== undefined && !this.checkingFlushes) this.checkFlushes();
    const misplaced = this.checker?.place(line, logged);
    if (misplaced !== undefined) return this.checkFailed(misplaced);
    this.recordLine = line;
    this.clock.line = line;
    this.clock.time = this.s.records + 1;
    const caller = callerOf(this.hv, rec, this.path, line);
    if (this.flushes.length > 0) this.flushes.length = 0;
    const result = this.execute(line, rec, caller);
    if (result === undefined) return false;
    this.count(rec, result);
    // Nothing more to do for this record: no log, no report of it (--quiet), nothing to check.
    if (this.countOnly && logged === undefined && rec.expect === undefined && rec.op !== 'audit') return true;
    const o: Outcome = { line, rec, caller, result, check: this.checkExpect(rec, result), audit: this.opts.audit ? this.hv.audit() : undefined };
    this.logOutcome(o);
    this.reportOutcome(o);
    const diverged = logged === undefined ? undefined : this.checker?.compare(line, rec, logged, result, this.flushes);
    if (diverged !== undefined) return this.checkFailed(diverged);
    if (o.audit !== undefined && o.audit.length > 0) {
      this.stop('audit', 1, `${this.path}:${line}: audit after ${rec.op} found ${o.audit.length} mismatch(es): ${o.audit[0]}`);
      return false;
    }
    return true;
  }

  /**
   * The input is a log: from now on the flushes each record causes are kept for the check. (Not
   * before: a plain trace's replay makes no flush event it does not log.)
   */
  private checkFlushes(): void {
    if (this.checker === undefined) return;
    this.checkingFlushes = true;
    const flushes = this.flushes;
    const logged = this.observer.flush;
    this.observer.flush = logged === undefined ? (e) => void flushes.push(e) : (e) => (flushes.push(e), logged(e));
  }

  /** The log and its replay disagree (exit 1), or the log cannot be replayed faithfully (exit 2): the replay stops. */
  private checkFailed(f: CheckFailure): false {
    if (this.opts.json === true) {
      const j: Record<string, unknown> = { check: f.exit === 1 ? 'diverged' : 'not_replayable', exit: f.exit };
      if (f.line !== undefined) j.line = f.line;
      if (f.key !== undefined) Object.assign(j, { key: f.key, log: f.log ?? null, replay: f.replay ?? null });
      j.error = f.message;
      this.report.push(JSON.stringify(j) + '\n');
    }
    this.stop(f.exit === 1 ? 'diverged' : 'bad_input', f.exit, f.message);
    return false;
  }

  /** Xen's answer; a SetupError is bad input (thrown on), any other exception stops the replay (undefined). */
  private execute(line: number, rec: TraceRecord, caller: Caller): RecordResult | undefined {
    if (!this.everyBlocker) {
      this.hv.blockers = rec.expect !== undefined;
      // Nobody reads a refusal's words but the line of a failed expectation or audit, and the
      // check of a log.
      this.hv.explain = rec.expect !== undefined || this.opts.audit === true || this.checkingFlushes;
    }
    try {
      return execute(this.hv, rec, caller);
    } catch (e) {
      if (e instanceof SetupError) {
        const field = e.field ?? (hasCaller(rec) ? (rec.dom === undefined ? 'vcpu' : 'dom') : undefined);
        throw new TraceError(this.path, line, field !== undefined ? `field "${field}": ${e.message}` : e.message, field);
      }
      this.internalError(e, `${this.path}:${line}: internal error in the model running ${rec.op}: `);
      return undefined;
    }
  }

  private count(rec: TraceRecord, result: RecordResult): void {
    this.s.records++;
    if (!isHypercallRecord(rec)) return;
    this.s.hypercalls++;
    if (result.rc < 0 || (result.refusals !== undefined && result.refusals.length > 0) || result.results?.some((r) => r < 0)) {
      this.s.refused++;
    }
  }

  /** The record's own expectation, and audit's implicit "no mismatches". */
  private checkExpect(rec: TraceRecord, result: RecordResult): ExpectCheck | undefined {
    let expect: Expect | undefined = rec.expect;
    if (rec.op === 'audit') {
      expect = { ...(typeof expect === 'number' ? { rc: expect } : (expect ?? {})), mismatches: [] };
    }
    if (expect === undefined) return undefined;
    const check = checkExpect(rec.op, expect, flattenResult(result));
    if (check.ok) this.s.held++;
    else this.s.failed++;
    return check;
  }

  /** The log: the record line, its refusals, a failed expectation, audit mismatches. */
  private logOutcome({ rec, caller, result, check, audit }: Outcome): void {
    const log = this.log;
    if (log === undefined) return;
    log.record(rec, caller, result);
    if (result.refusals !== undefined) log.refusals(caller, result.refusals);
    if (check !== undefined && !check.ok) log.expectFailed(rec.op, check.expected, check.actual);
    if (rec.op === 'audit' && result.mismatches!.length > 0) log.audit(result.mismatches!, 'record');
    if (audit !== undefined && audit.length > 0) log.audit(audit, '--audit');
  }

  /** The report: every record, or with --quiet only those that went wrong. */
  private reportOutcome(o: Outcome): void {
    if (this.opts.quiet === true && !wentWrong(o)) return;
    this.report.push(this.opts.json === true ? outcomeJson(o) : outcomeText(o, this.hv.firstDomain()));
    if (this.report.length >= REPORT_BATCH) this.flushReport();
  }

  flushReport(): void {
    if (this.report.length > 0) this.out.write(this.report.join(''));
    this.report = [];
  }

  stop(reason: StopReason, exit: number, message?: string): void {
    this.s.reason = reason;
    this.s.exit = exit;
    if (message !== undefined) {
      this.s.error = message;
      this.flushReport(); // what ran before the stop is reported before why it stopped
      this.err.write(message + '\n');
    }
  }

  /** A model bug (or a bad input, a TraceError): logged, and the replay stops. */
  fail(e: unknown): void {
    if (e instanceof TraceError) {
      this.log?.badInput(e.message, e.file, e.line, e.field);
      this.stop('bad_input', 2, e.message);
    } else {
      this.internalError(e, `${this.path}:${this.recordLine}: internal error: `);
    }
  }

  private internalError(e: unknown, prefix: string): void {
    // The log (or another output) cannot be written: not the model's fault; the CLI says it in one
    // line with exit 2, after close() has ended what can still be ended.
    if (e instanceof OutputError) throw e;
    const msg = errorText(e);
    this.log?.internalError(msg);
    this.stop('internal_error', 1, prefix + msg);
  }

  close(): void {
    this.flushReport();
    this.log?.end(this.s.reason, this.s.records, this.s.exit);
    this.log?.close();
  }

  /** The summary after the human report. */
  summary(): void {
    const s = this.s;
    const others = s.records - s.hypercalls;
    const lines = [
      '',
      `${s.records} records: ${s.hypercalls} hypercalls (${s.refused} refused), ${others} setup records and queries`,
      `expectations: ${s.held} held, ${s.failed} failed`,
      `stopped: ${s.reason.replace('_', ' ')}, exit ${s.exit}`,
    ];
    this.out.write(lines.join('\n') + '\n');
  }
}

/**
 * Runs the trace at `path`: read → execute → report → log, record by record (Replayer.runOne).
 * Never throws for bad input or a model exception: see the summary.
 */
export async function replay(path: string, opts: ReplayOptions = {}): Promise<ReplaySummary> {
  const r = new Replayer(path, opts);
  let started = false;
  try {
    started = r.start();
    if (started) await r.run();
  } catch (e) {
    r.fail(e);
  } finally {
    r.close();
  }
  // A hypervisor that could not be made, or input refused before any record ran (a missing or
  // empty file, a bad first line): the message says so, and there is nothing to sum up.
  const nothingRan = r.s.records === 0 && r.s.reason === 'bad_input';
  if (started && opts.json !== true && !nothingRan) r.summary();
  return r.s;
}
