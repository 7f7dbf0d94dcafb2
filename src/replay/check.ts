// Replaying a hypercall log checks it: the model being deterministic, each record must come to what
// the log recorded (the record line's `result` and the refusal lines after it), and the log must
// be whole — every record line once, in order, up to its end line. A piece of the shell (no Xen or
// Linux function): docs/trace-extensions.md, "Replaying a log checks it".
import { errnoName } from '../../hypervisor/abi.ts';
import type { Refusal } from '../../hypervisor/types.ts';
import type { FlushEvent } from '../../hypervisor/types.ts';
import { flushFields } from '../log/write.ts';
import { resultToJson, type RecordResult } from '../trace/result.ts';
import type { LoggedRecord, LogShape, TraceRecord } from '../trace/types.ts';

/** Why a replay of a log stops: 1 the log and the replay disagree, 2 the log cannot be replayed faithfully. */
export interface CheckFailure {
  exit: 1 | 2;
  message: string;
  /** For `--json`: the log's line, and where the first difference is (a dotted key) with both sides. */
  line?: number;
  key?: string;
  log?: unknown;
  replay?: unknown;
}

/** One refusal in the words of the log's refusal line: `refused <what>: <reason>`. */
function blameText(r: { what?: unknown; reason?: unknown }): string {
  return `refused ${String(r.what)}: ${String(r.reason)}`;
}

function blameList(list: readonly string[]): string {
  return list.length === 0 ? 'none (nothing refused)' : list.join('; ');
}

/** The first key (a dotted path) where two JSON values differ, with both sides; undefined when equal. */
function firstDifference(path: string, log: unknown, replay: unknown): { key: string; log: unknown; replay: unknown } | undefined {
  if (JSON.stringify(log) === JSON.stringify(replay)) return undefined;
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(log) && isObj(replay)) {
    for (const key of new Set([...Object.keys(replay), ...Object.keys(log)])) {
      const d = firstDifference(`${path}.${key}`, log[key], replay[key]);
      if (d !== undefined) return d;
    }
  }
  return { key: path, log, replay };
}

/** Whether a logged result names its errno (format 1 did; format 2 leaves it to rc: src/log/write.ts). */
function withErrno(result: unknown): boolean {
  return result !== null && typeof result === 'object' && 'errno' in result;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return typeof v === 'number' && v < 0 && Number.isInteger(v) ? `${s} (${errnoName(v)})` : s;
}

/** The check of one replay of a log: fed each record before and after it runs, then the end. */
export class LogChecker {
  /** Filled in by the reader (readTraceBatches). */
  readonly shape: LogShape = { firstLogLine: 0, firstTraceRecord: 0, recordLines: 0, afterEnd: 0, strayFlush: 0 };
  private readonly path: string;
  /** Record lines seen; the time and line of the last one. */
  private k = 0;
  private prevTime = -Infinity;
  private prevLine = -Infinity;
  /** A replay's log numbers its records by `time`, a run's log by `line`: which can this still be. */
  private byTime = true;
  private byLine = true;

  constructor(path: string) {
    this.path = path;
  }

  /** Before a record runs: is it where a whole log would have it? */
  place(line: number, log: LoggedRecord | undefined): CheckFailure | undefined {
    const s = this.shape;
    if (s.firstLogLine > 0 && s.firstTraceRecord > 0) {
      return { exit: 2, message: `${this.path}: not a hypercall log: line ${s.firstLogLine} is a log line, line ${s.firstTraceRecord} a plain trace record (a log is written whole by --log; replay it alone, or the trace alone)` };
    }
    if (log === undefined) return undefined;
    this.k++;
    const at = `${this.path}:${line}: `;
    const l = typeof log.line === 'number' ? log.line : NaN;
    if (log.time <= this.prevTime || l <= this.prevLine) {
      return { exit: 1, message: `${at}this record line repeats or goes back (time ${log.time}, line ${String(log.line)}; the record before it had time ${this.prevTime}, line ${this.prevLine}): a duplicated or moved line`, line };
    }
    this.prevTime = log.time;
    this.prevLine = l;
    this.byTime &&= log.time === this.k;
    this.byLine &&= l === this.k;
    if (!this.byTime && !this.byLine) {
      return { exit: 1, message: `${at}a record line is missing before this one: it is the log's record ${this.k}, but its time is ${log.time} and its line ${String(log.line)}`, line };
    }
    return undefined;
  }

  /** After a record ran: the first difference between what the log recorded and what the replay gives. */
  compare(line: number, rec: TraceRecord, log: LoggedRecord, result: RecordResult, flushes: readonly FlushEvent[]): CheckFailure | undefined {
    const replayBlame = (result.refusals ?? []).map((r: Refusal) => blameText(r));
    const logBlame = log.refusals.map((r) => blameText((r ?? {}) as { what?: unknown; reason?: unknown }));
    let d: { key: string; log: unknown; replay: unknown } | undefined = firstDifference('result', log.result, resultToJson(result, withErrno(log.result)));
    if (d === undefined && replayBlame.join('\n') !== logBlame.join('\n')) d = { key: 'refusals', log: logBlame.length, replay: replayBlame.length };
    if (d === undefined && (flushes.length > 0 || log.flushes.length > 0)) d = this.flushDifference(log.flushes, flushes);
    if (d === undefined) return undefined;
    const lines = [
      `${this.path}:${line}: the replay diverges from the log at record ${this.k} (${rec.op}, time ${log.time}): ${d.key}: the log says ${show(d.log)}, the replay gives ${show(d.replay)}`,
      `  the log's blame:    ${blameList(logBlame)}`,
      `  the replay's blame: ${blameList(replayBlame)}`,
    ];
    return { exit: 1, message: lines.join('\n'), line, key: d.key, log: d.log, replay: d.replay };
  }

  /** The first difference between the tlb_flush lines before a record line and the flushes its replay caused. */
  private flushDifference(logged: readonly unknown[], replayed: readonly FlushEvent[]): { key: string; log: unknown; replay: unknown } | undefined {
    for (let i = 0; i < Math.max(logged.length, replayed.length); i++) {
      const l = logged[i] as Record<string, unknown> | undefined;
      const mine = replayed[i] === undefined ? undefined : flushFields(replayed[i]);
      if (l === undefined || mine === undefined) {
        return { key: 'tlb_flush lines', log: `${logged.length} (a tlb_flush line ${l === undefined ? 'missing' : 'too many'})`, replay: replayed.length };
      }
      const { level: _l, time: _t, line: _n, msg: _m, ...fields } = l;
      const diff = firstDifference(`tlb_flush[${i}]`, fields, mine);
      if (diff !== undefined) return diff;
    }
    return undefined;
  }

  /** After the last record: is the log whole? `records` = records the replay ran. */
  finish(records: number): CheckFailure | undefined {
    const s = this.shape;
    if (s.firstLogLine === 0) return undefined; // a plain trace: nothing recorded to check against
    const p = this.path;
    const end = s.end;
    if (end === undefined) {
      if (s.recordLines === 0) return { exit: 2, message: `${p}: not a hypercall log: log lines (pino's level and time) but no record line and no end line` };
      return { exit: 2, message: `${p}: truncated: no end line (a hypercall log's last line is {"event":"end",…}): the run that wrote it did not finish, or the file was cut; ${records} records replayed` };
    }
    if (s.strayFlush > 0) return { exit: 1, message: `${p}:${s.strayFlush}: a tlb_flush line that no record line follows (a flush line comes before the record that caused it): the record line after it is missing` };
    if (s.afterEnd > 0) return { exit: 1, message: `${p}:${s.afterEnd}: a line after the end line (line ${end.line}): the log goes on after it stopped` };
    if (typeof end.records !== 'number') return { exit: 2, message: `${p}:${end.line}: the end line has no record count (field "records")` };
    if (s.recordLines === 0 && end.records > 0) {
      return { exit: 2, message: `${p}: its ${end.records} record lines are missing: the log was written at --log-level warn or above, which keeps only refusals and failures; write it again with --log-level info (the default) to replay it` };
    }
    if (end.records !== s.recordLines) {
      return { exit: 1, message: `${p}:${end.line}: the end line says ${end.records} records, the log has ${s.recordLines} record lines: ${end.records > s.recordLines ? 'a record line is missing (the last)' : 'a record line too many'}` };
    }
    return undefined;
  }
}
