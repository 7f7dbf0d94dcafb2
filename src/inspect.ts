// `inspect LOG`: reads a hypercall log back (the pino NDJSON that `replay --log` and `run` write,
// docs/trace-extensions.md) and answers the questions people open logs for — why was a pin
// refused, who flushed what, which vCPU waited for whom — without reading 10,000 lines.
//
// Default: a summary a person reads in seconds (hypercalls by op and errno, refusals grouped by
// reason and blocker, flushes by cause, IPIs, WARNs, BUGs, deadlocks, hazards). Filters print
// the matching lines, in order (raw NDJSON by default; `--format xen` as a Xen debug build's
// `xl dmesg`, `--format pretty` as pino-pretty, `--format summary` the summary of just those).
// It streams (the trace reader's line batches, with its limits: docs/limits.md): memory stays
// bounded whatever the log's length — per-line state is a few counters, plus for `--mfn` the
// entries and VAs known to map that one frame.
//
// Line kinds, in the order they are told apart: `event` (a string `event`: flushes, expectation
// failures, audit, bad input, end, and every guest event — `op_start` carries an `op` too, so
// `event` goes first), `record` (a string `op`), `refusal` (a `refusal` object), `other`. An event
// kind this file does not know is counted by name, never an error.
import { collect, runCommand, UsageError } from './command.ts';
export { collect, runCommand, UsageError };
import { Option, type Command } from 'commander';
import pinoPretty from 'pino-pretty';
import { errnoName } from '../hypervisor/abi.ts';
import { TraceError } from './trace/fields.ts';
import { MAX_DEPTH, nestingOver, printable, readLineBatches } from './trace/lines.ts';

export type Obj = Record<string, unknown>;

/** One physical line of the log: its number (from 1), its text, and the object when it is one. */
export interface LogLine {
  n: number;
  text: string;
  /** null: not a JSON object (or a `#` comment). */
  o: Obj | null;
  comment: boolean;
  /** Why a line that is not a comment is not a log line: `FILE:LINE: …` (then `o` is null). */
  bad?: string;
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

/**
 * Reads LOG (`-` = standard input) line by line. Blank lines are skipped; nothing is kept. The
 * limits of docs/limits.md hold (lines of at most 1 MiB, UTF-8 text, nesting of at most 64 levels):
 * an over-long line or binary data throws TraceError (FILE:LINE: …) and nothing after it is read;
 * a line that is not a log line is yielded with `bad` saying why.
 */
export async function* readLog(path: string): AsyncGenerator<LogLine, void, undefined> {
  let n = 0;
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
      yield bad === undefined ? { n, text, o, comment: false } : { n, text, o, comment: false, bad };
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
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  see(l: LogLine): void {
    if (l.o !== null) this.lines++;
    else if (l.bad !== undefined) {
      this.bad++;
      this.first ??= l.bad;
    }
  }

  /** The message (exit 2), or undefined: every line that is not a comment is a log line, and there is one. */
  problem(): string | undefined {
    if (this.bad > 0) return this.first + (this.bad > 1 ? ` (and ${this.bad - 1} more line(s) that are not log lines)` : '');
    if (this.lines === 0) return `${this.path}: no log lines (an empty file: a hypercall log has at least its end line)`;
    return undefined;
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

// ---------------------------------------------------------------------------------------------
// Small readers of log values.

export const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isStr = (v: unknown): v is string => typeof v === 'string';
export const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export type LineKind = 'event' | 'record' | 'refusal' | 'other';

export function lineKind(o: Obj): LineKind {
  if (isStr(o.event)) return 'event';
  if (isStr(o.op)) return 'record';
  if (isObj(o.refusal)) return 'refusal';
  return 'other';
}

/** A 64-bit log value: a JSON integer or a "0x…" string. */
export function u64(v: unknown): bigint | undefined {
  if (isNum(v) && Number.isInteger(v) && v >= 0) return BigInt(v);
  if (isStr(v) && /^0x[0-9a-f]{1,16}$/i.test(v)) return BigInt(v);
  return undefined;
}

/** An MFN-like log value as a number. */
export function mfnOf(v: unknown): number | undefined {
  const b = u64(v);
  return b === undefined || b > 0xff_ffff_ffffn ? undefined : Number(b);
}

const MFN_MASK = (1n << 40n) - 1n;
/** The frame a present PTE maps (bits 12–51); undefined for a non-present entry. */
export function pteTarget(v: unknown): number | undefined {
  const b = u64(v);
  if (b === undefined || (b & 1n) === 0n) return undefined;
  return Number((b >> 12n) & MFN_MASK);
}

export const hexOf = (n: number | bigint): string => '0x' + n.toString(16);

export const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
export const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

export const HYPERCALL_OPS = new Set(['mmu_update', 'mmuext_op', 'update_va_mapping', 'update_va_mapping_otherdomain', 'multicall', 'hypercall']);

/** The event kinds this file knows; others are counted as unknown (and still shown). */
export const KNOWN_EVENTS = new Set([
  // the hypervisor and the replayer
  'tlb_flush', 'expect_failed', 'audit', 'bad_input', 'internal_error', 'end',
  // the guest (guest/events.ts)
  'op_start', 'op_end', 'vm_unmap_aliases', 'purge', 'tlb_flush_kernel', 'ipi_send', 'ipi_ack', 'irq',
  'warn', 'bug', 'va_hazard', 'pin', 'exchange', 'stop_machine', 'deadlock', 'phase',
]);

/** The kernel operation of an op_start/op_end line: its first word ("vmalloc name=a pages=8" → vmalloc). */
export function guestOpName(o: Obj): string {
  const d = isStr(o.operation) ? o.operation : isStr(o.op) ? o.op : '?';
  return d.split(/\s/, 1)[0] || d;
}

/** The errno name of a record's result ("OK", "EINVAL", …). */
export function resultErrno(o: Obj): string {
  const r = o.result;
  if (!isObj(r)) return 'none';
  if (isStr(r.errno)) return r.errno;
  return isNum(r.rc) ? errnoName(r.rc) : 'none';
}

/** `pin` for a pin, `entry` for a page-table entry write (mmu_update, update_va_mapping), `other`. */
export function refusalCategory(what: string): 'pin' | 'entry' | 'other' {
  if (/^pin_l[1-4]_table\b/.test(what)) return 'pin';
  if (/^(mmu_update|update_va_mapping)\b/.test(what)) return 'entry';
  return 'other';
}

/** The operation a refusal is about: the first word of `what`. */
export const refusalOp = (what: string): string => what.split(/\s/, 1)[0] ?? what;

/** A reason with its numbers blanked, so refusals of different frames group together. */
export function normReason(reason: string): string {
  return reason.replace(/0x[0-9a-f]+/gi, '0x…');
}

function blockerKind(b: Obj): string {
  const kind = isStr(b.kind) ? b.kind : '?';
  return kind + (b.rw === true ? ' rw' : b.rw === false ? ' ro' : '');
}

/** The kinds of blocker of a refusal, e.g. "l1e rw" or "l1e rw + pin"; "none" when there are none. */
export function blockerSig(blockers: unknown, dom?: unknown): string {
  if (!Array.isArray(blockers) || blockers.length === 0) return 'none';
  const kinds = new Set<string>();
  for (const b of blockers) {
    if (!isObj(b)) continue;
    kinds.add(blockerKind(b) + (isNum(dom) && isNum(b.dom) && b.dom !== dom ? ' (foreign)' : ''));
  }
  return [...kinds].sort().join(' + ');
}

/** One blocker in words, as `replay` prints it: "L1 0x1003 slot 17 maps it writable". */
export function blockerText(b: Obj, dom?: unknown): string {
  const d = isNum(b.dom) && b.dom !== dom ? ` (d${b.dom})` : '';
  const slot = isNum(b.slot) ? String(b.slot) : '?';
  const mfn = isStr(b.mfn) ? b.mfn : String(b.mfn);
  switch (b.kind) {
    case 'l1e':
      return `L1 ${mfn} slot ${slot} maps it${b.rw === true ? ' writable' : b.rw === false ? ' read-only' : ''}${d}`;
    case 'l2e':
    case 'l3e':
    case 'l4e':
      return `L${b.kind[1]} ${mfn} slot ${slot} references it${d}`;
    case 'pin':
      return `pinned ${mfn}${d}`;
    case 'cr3':
      return `CR3 of d${String(b.dom)}v${isNum(b.vcpu) ? b.vcpu : '?'}`;
    case 'gdt':
      return `GDT of d${String(b.dom)}v${isNum(b.vcpu) ? b.vcpu : '?'}`;
    case 'cr3_user':
      return `user CR3 of d${String(b.dom)}v${isNum(b.vcpu) ? b.vcpu : '?'}`;
    default:
      return `${String(b.kind)} ${mfn}${d}`;
  }
}

/** The validation chain in words: "L4 0x1000 slot 0 → L3 0x1001 slot 0". */
export function chainText(chain: unknown): string {
  if (!Array.isArray(chain)) return '';
  return chain
    .filter(isObj)
    .map((c) => `L${String(c.level)} ${String(c.mfn)} slot ${String(c.slot)}`)
    .join(' → ');
}

/** A deadlock cycle in words: "vCPU0 spins on purge_lock held by vCPU1; vCPU1 waits for …". */
export function waitsText(edges: unknown): string {
  if (!Array.isArray(edges)) return '';
  return edges
    .filter(isObj)
    .map((e) => `vCPU${String(e.vcpu)} ${isStr(e.why) ? e.why : `waits for vCPU${String(e.waitsFor)}`}`)
    .join('; ');
}

/** Walks a record's calls: the record itself and, for a multicall, every entry (depth first). */
export function* callsOf(o: Obj): Generator<Obj> {
  yield o;
  if (Array.isArray(o.calls)) for (const c of o.calls) if (isObj(c)) yield* callsOf(c);
}

/** The MMUEXT command names of a record (its own ops and those of its multicall entries). */
export function* mmuextCmds(o: Obj): Generator<string> {
  for (const c of callsOf(o)) {
    if (!Array.isArray(c.ops)) continue;
    for (const op of c.ops) if (isObj(op)) yield isStr(op.cmd) ? op.cmd : `cmd ${String(op.cmd)}`;
  }
}

/** A record's result failed: rc < 0 or a multicall entry < 0 (access page faults are not refusals). */
export function recordFailed(o: Obj): boolean {
  if (o.op === 'access') return false;
  const r = o.result;
  if (!isObj(r)) return false;
  if (isNum(r.rc) && r.rc < 0) return true;
  return Array.isArray(r.results) && r.results.some((x) => isNum(x) && x < 0);
}

// ---------------------------------------------------------------------------------------------
// The summary.

/** A Map<string, number> with a cap on its keys: past `cap` distinct keys, new ones count as "(other)". */
class Counter {
  readonly m = new Map<string, number>();
  private readonly cap: number;
  constructor(cap = 500) {
    this.cap = cap;
  }
  add(k: string, n = 1): void {
    const have = this.m.get(k);
    if (have !== undefined) this.m.set(k, have + n);
    else if (this.m.size < this.cap) this.m.set(k, n);
    else this.m.set('(other)', (this.m.get('(other)') ?? 0) + n);
  }
  get total(): number {
    let t = 0;
    for (const v of this.m.values()) t += v;
    return t;
  }
  json(): Record<string, number> {
    return Object.fromEntries(this.m);
  }
}

interface RefusalGroup {
  category: 'pin' | 'entry' | 'other';
  op: string;
  errno: string;
  reason: string;
  blockers: string;
  count: number;
  /** The first few frames refused (at most 8). */
  mfns: string[];
  first: { line: number; time: number | null; what: string; reason: string; blocker: string | null; dom: number | null; vcpu: number | null };
}

const LIST_CAP = 10;

export interface SummaryJson {
  file: string;
  lines: number;
  unparsed: number;
  comments: number;
  time: { first: number; last: number } | null;
  levels: Record<string, number>;
  kinds: Record<LineKind, number>;
  records: { total: number; hypercalls: number; by_op: Record<string, { total: number; results: Record<string, number> }> };
  mmuext_cmds: Record<string, number>;
  multicall_entries: Record<string, Record<string, number>>;
  refusals: { total: number; pins: number; entries: number; other: number; groups: RefusalGroup[] };
  flushes: { total: number; by_cause: Record<string, number> };
  ipis: { sent: number; waited: number; acks: number; by_func: Record<string, number> };
  irqs: { disabled: number; enabled: number; by_why: Record<string, number> };
  warns: { total: number; by_where: Record<string, number>; first: { time: number | null; vcpu: number | null; where: string; msg: string }[] };
  bugs: { total: number; list: { time: number | null; vcpu: number | null; where: string; msg: string; reason: string | null }[] };
  deadlocks: { total: number; list: { time: number | null; cycle: string; waits: number }[] };
  hazards: { total: number; by_kind: Record<string, number>; first: { time: number | null; vcpu: number | null; kind: string; start: string; end: string; stale_vcpus: number[] }[] };
  guest: {
    events: number;
    ops: Record<string, number>;
    vm_unmap_aliases: number;
    purges: number;
    kernel_flushes: number;
    stop_machine: number;
    pins: { ok: number; failed: number };
    exchanges: { ok: number; failed: number };
  };
  events: Record<string, number>;
  unknown_events: Record<string, number>;
  expect_failed: number;
  audit_mismatches: number;
  bad_input: string[];
  internal_errors: string[];
  end: { reason: string; records: number | null; exit: number | null } | null;
}

/** Everything the summary counts, fed one line at a time. */
export class Summary {
  lines = 0;
  unparsed = 0;
  comments = 0;
  firstTime: number | null = null;
  lastTime: number | null = null;
  readonly levels = new Counter();
  readonly kinds = { event: 0, record: 0, refusal: 0, other: 0 };
  records = 0;
  hypercalls = 0;
  readonly byOp = new Map<string, Counter>();
  readonly cmds = new Counter();
  readonly mcEntries = new Map<string, Counter>();
  readonly groups = new Map<string, RefusalGroup>();
  readonly refusals = { total: 0, pins: 0, entries: 0, other: 0 };
  readonly flushes = new Counter();
  readonly ipi = { sent: 0, waited: 0, acks: 0 };
  readonly ipiFuncs = new Counter();
  readonly irqs = { disabled: 0, enabled: 0 };
  readonly irqWhy = new Counter();
  readonly warns = new Counter();
  readonly warnList: SummaryJson['warns']['first'] = [];
  bugs = 0;
  readonly bugList: SummaryJson['bugs']['list'] = [];
  deadlocks = 0;
  readonly deadlockList: SummaryJson['deadlocks']['list'] = [];
  readonly hazards = new Counter();
  readonly hazardList: SummaryJson['hazards']['first'] = [];
  guestEvents = 0;
  readonly guestOps = new Counter();
  readonly guest = { vm_unmap_aliases: 0, purges: 0, kernel_flushes: 0, stop_machine: 0 };
  readonly guestPins = { ok: 0, failed: 0 };
  readonly guestExchanges = { ok: 0, failed: 0 };
  readonly events = new Counter();
  readonly unknownEvents = new Counter();
  expectFailed = 0;
  auditMismatches = 0;
  readonly badInput: string[] = [];
  readonly internalErrors: string[] = [];
  end: SummaryJson['end'] = null;

  readonly file: string;
  constructor(file: string) {
    this.file = file;
  }

  addUnparsed(comment: boolean): void {
    if (comment) this.comments++;
    else this.unparsed++;
  }

  add(o: Obj, n: number): void {
    this.lines++;
    if (isNum(o.time)) {
      if (this.firstTime === null) this.firstTime = o.time;
      this.lastTime = o.time;
    }
    if (isNum(o.level)) this.levels.add(LEVEL_NAMES[o.level] ?? String(o.level));
    const kind = lineKind(o);
    this.kinds[kind]++;
    if (kind === 'record') this.addRecord(o);
    else if (kind === 'refusal') this.addRefusal(o, o.refusal as Obj, n);
    else if (kind === 'event') this.addEvent(o);
  }

  private addRecord(o: Obj): void {
    const op = o.op as string;
    this.records++;
    if (HYPERCALL_OPS.has(op)) this.hypercalls++;
    let c = this.byOp.get(op);
    if (c === undefined) {
      if (this.byOp.size >= 200) return;
      this.byOp.set(op, (c = new Counter()));
    }
    c.add(resultErrno(o));
    for (const cmd of mmuextCmds(o)) this.cmds.add(cmd);
    if (op === 'multicall' && Array.isArray(o.calls)) {
      const results = isObj(o.result) && Array.isArray(o.result.results) ? o.result.results : [];
      o.calls.forEach((call, i) => {
        const sub = isObj(call) && isStr(call.op) ? call.op : '?';
        let e = this.mcEntries.get(sub);
        if (e === undefined) this.mcEntries.set(sub, (e = new Counter()));
        const rc = results[i];
        e.add(isNum(rc) ? errnoName(rc) : 'none');
      });
    }
  }

  private addRefusal(o: Obj, r: Obj, n: number): void {
    this.refusals.total++;
    const what = isStr(r.what) ? r.what : '?';
    const category = refusalCategory(what);
    if (category === 'pin') this.refusals.pins++;
    else if (category === 'entry') this.refusals.entries++;
    else this.refusals.other++;
    const op = refusalOp(what);
    const errno = isStr(r.errno) ? r.errno : isNum(r.rc) ? errnoName(r.rc) : '?';
    const reasonText = isStr(r.reason) ? r.reason : '?';
    const reason = normReason(reasonText);
    const blockers = blockerSig(r.blockers, o.dom);
    const key = [category, op, errno, reason, blockers].join('\u0000');
    let g = this.groups.get(key);
    if (g === undefined) {
      if (this.groups.size >= 500) return;
      const b0 = Array.isArray(r.blockers) ? r.blockers.find(isObj) : undefined;
      g = {
        category,
        op,
        errno,
        reason,
        blockers,
        count: 0,
        mfns: [],
        first: {
          line: isNum(o.line) ? o.line : n,
          time: isNum(o.time) ? o.time : null,
          what,
          reason: reasonText,
          blocker: b0 !== undefined ? blockerText(b0, o.dom) : null,
          dom: isNum(o.dom) ? o.dom : null,
          vcpu: isNum(o.vcpu) ? o.vcpu : null,
        },
      };
      this.groups.set(key, g);
    }
    g.count++;
    if (isStr(r.mfn) && g.mfns.length < 8 && !g.mfns.includes(r.mfn)) g.mfns.push(r.mfn);
  }

  private addEvent(o: Obj): void {
    const ev = o.event as string;
    this.events.add(ev);
    const time = isNum(o.time) ? o.time : null;
    const vcpu = isNum(o.vcpu) ? o.vcpu : null;
    const guestKinds = !['tlb_flush', 'expect_failed', 'audit', 'bad_input', 'internal_error', 'end'].includes(ev);
    if (guestKinds) this.guestEvents++;
    switch (ev) {
      case 'tlb_flush':
        this.flushes.add(isStr(o.cause) ? o.cause : '?');
        return;
      case 'expect_failed':
        this.expectFailed++;
        return;
      case 'audit':
        this.auditMismatches += Array.isArray(o.mismatches) ? o.mismatches.length : 1;
        return;
      case 'bad_input':
        if (this.badInput.length < LIST_CAP) this.badInput.push(isStr(o.error) ? o.error : String(o.msg));
        return;
      case 'internal_error':
        if (this.internalErrors.length < LIST_CAP) this.internalErrors.push(isStr(o.error) ? o.error : String(o.msg));
        return;
      case 'end':
        this.end = { reason: isStr(o.reason) ? o.reason : '?', records: isNum(o.records) ? o.records : null, exit: isNum(o.exit) ? o.exit : null };
        return;
      case 'op_start':
        this.guestOps.add(guestOpName(o));
        return;
      case 'op_end':
      case 'phase':
        return;
      case 'exchange':
        if (o.ok === false) this.guestExchanges.failed++;
        else this.guestExchanges.ok++;
        return;
      case 'vm_unmap_aliases':
        this.guest.vm_unmap_aliases++;
        return;
      case 'purge':
        this.guest.purges++;
        return;
      case 'tlb_flush_kernel':
        this.guest.kernel_flushes++;
        return;
      case 'stop_machine':
        if (o.phase === 'start') this.guest.stop_machine++;
        return;
      case 'pin':
        if (o.ok === false) this.guestPins.failed++;
        else this.guestPins.ok++;
        return;
      case 'ipi_send':
        this.ipi.sent++;
        if (o.wait === true) this.ipi.waited++;
        this.ipiFuncs.add(isStr(o.func) ? o.func : '?');
        return;
      case 'ipi_ack':
        this.ipi.acks++;
        return;
      case 'irq':
        if (o.enabled === false) this.irqs.disabled++;
        else this.irqs.enabled++;
        this.irqWhy.add(`${o.enabled === false ? 'off' : 'on'}: ${isStr(o.why) ? o.why : '?'}`);
        return;
      case 'warn': {
        const where = isStr(o.where) ? o.where : '?';
        this.warns.add(where);
        if (this.warnList.length < LIST_CAP) this.warnList.push({ time, vcpu, where, msg: isStr(o.message) ? o.message : isStr(o.msg) ? o.msg : '' });
        return;
      }
      case 'bug': {
        this.bugs++;
        if (this.bugList.length < LIST_CAP) {
          const r = isObj(o.refusal) ? o.refusal : undefined;
          this.bugList.push({
            time,
            vcpu,
            where: isStr(o.where) ? o.where : '?',
            msg: isStr(o.message) ? o.message : isStr(o.msg) ? o.msg : '',
            reason: r !== undefined && isStr(r.reason) ? r.reason : null,
          });
        }
        return;
      }
      case 'deadlock':
        this.deadlocks++;
        if (this.deadlockList.length < LIST_CAP) {
          this.deadlockList.push({ time, cycle: waitsText(o.cycle), waits: Array.isArray(o.waits) ? o.waits.length : 0 });
        }
        return;
      case 'va_hazard': {
        const k = isStr(o.kind) ? o.kind : '?';
        this.hazards.add(k);
        if (this.hazardList.length < LIST_CAP) {
          this.hazardList.push({
            time,
            vcpu,
            kind: k,
            start: String(o.start),
            end: String(o.end),
            stale_vcpus: Array.isArray(o.stale_vcpus) ? o.stale_vcpus.filter(isNum) : [],
          });
        }
        return;
      }
      default:
        this.unknownEvents.add(ev);
    }
  }

  json(): SummaryJson {
    const byOp: SummaryJson['records']['by_op'] = {};
    for (const [op, c] of this.byOp) byOp[op] = { total: c.total, results: c.json() };
    const mc: SummaryJson['multicall_entries'] = {};
    for (const [op, c] of this.mcEntries) mc[op] = c.json();
    return {
      file: this.file,
      lines: this.lines,
      unparsed: this.unparsed,
      comments: this.comments,
      time: this.firstTime === null ? null : { first: this.firstTime, last: this.lastTime ?? this.firstTime },
      levels: this.levels.json(),
      kinds: { ...this.kinds },
      records: { total: this.records, hypercalls: this.hypercalls, by_op: byOp },
      mmuext_cmds: this.cmds.json(),
      multicall_entries: mc,
      refusals: { ...this.refusals, groups: [...this.groups.values()].sort((a, b) => b.count - a.count) },
      flushes: { total: this.flushes.total, by_cause: this.flushes.json() },
      ipis: { ...this.ipi, by_func: this.ipiFuncs.json() },
      irqs: { ...this.irqs, by_why: this.irqWhy.json() },
      warns: { total: this.warns.total, by_where: this.warns.json(), first: this.warnList },
      bugs: { total: this.bugs, list: this.bugList },
      deadlocks: { total: this.deadlocks, list: this.deadlockList },
      hazards: { total: this.hazards.total, by_kind: this.hazards.json(), first: this.hazardList },
      guest: {
        events: this.guestEvents,
        ops: this.guestOps.json(),
        ...this.guest,
        pins: { ...this.guestPins },
        exchanges: { ...this.guestExchanges },
      },
      events: this.events.json(),
      unknown_events: this.unknownEvents.json(),
      expect_failed: this.expectFailed,
      audit_mismatches: this.auditMismatches,
      bad_input: this.badInput,
      internal_errors: this.internalErrors,
      end: this.end,
    };
  }
}

/** "a 3, b 1" from a count map, largest first. */
function counts(m: Record<string, number>, limit = 12): string {
  const e = Object.entries(m).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const shown = e.slice(0, limit).map(([k, v]) => `${k} ${v}`);
  if (e.length > limit) shown.push(`… ${e.length - limit} more`);
  return shown.join(', ');
}

function table(head: string[], rows: string[][]): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(head), ...rows.map(fmt)];
}

const at = (time: number | null, line?: number | null): string =>
  `${line !== undefined && line !== null ? `line ${line}, ` : ''}t=${time ?? '?'}`;

/** The summary as a person reads it: the most telling things first, nothing that is zero twice. */
export function summaryText(s: SummaryJson): string {
  const out: string[] = [];
  const span = s.time ? `, time ${s.time.first}..${s.time.last}` : '';
  const extra = [s.unparsed ? `${s.unparsed} not JSON` : '', s.comments ? `${s.comments} comments` : ''].filter(Boolean).join(', ');
  out.push(`${s.file}: ${s.lines} lines${extra ? ` (+ ${extra})` : ''}${span}`);
  if (s.end) out.push(`stopped: ${s.end.reason}${s.end.records !== null ? `, ${s.end.records} records` : ''}${s.end.exit !== null ? `, exit ${s.end.exit}` : ''}`);
  out.push(`levels: ${counts(s.levels) || 'none'}`);

  // Hypercalls by op and errno.
  const ops = Object.entries(s.records.by_op);
  const hc = ops.filter(([op]) => HYPERCALL_OPS.has(op));
  out.push('', `hypercalls: ${s.records.hypercalls}`);
  if (hc.length > 0) {
    const errnos = [...new Set(hc.flatMap(([, v]) => Object.keys(v.results)))].sort((a, b) => (a === 'OK' ? -1 : b === 'OK' ? 1 : a < b ? -1 : 1));
    const rows = hc
      .sort((a, b) => b[1].total - a[1].total)
      .map(([op, v]) => [`  ${op}`, String(v.total), ...errnos.map((e) => (v.results[e] ? String(v.results[e]) : ''))]);
    out.push(...table(['  op', 'total', ...errnos], rows));
  }
  if (Object.keys(s.mmuext_cmds).length > 0) out.push(`  mmuext commands: ${counts(s.mmuext_cmds, 20)}`);
  for (const [op, r] of Object.entries(s.multicall_entries)) out.push(`  in multicalls: ${op} ${counts(r)}`);
  const other = ops.filter(([op]) => !HYPERCALL_OPS.has(op));
  if (other.length > 0) {
    const parts = other.map(([op, v]) => {
      const bad = Object.entries(v.results).filter(([e]) => e !== 'OK' && e !== 'none');
      return `${op} ${v.total}${bad.length ? ` (${bad.map(([e, n]) => `${e} ${n}`).join(', ')})` : ''}`;
    });
    out.push(`other records: ${s.records.total - s.records.hypercalls} — ${parts.join(', ')}`);
  }

  // Refusals.
  const r = s.refusals;
  out.push('', `refused: ${r.total}${r.total ? ` (pins ${r.pins}, entries ${r.entries}, other ${r.other})` : ''}`);
  for (const g of r.groups.slice(0, 20)) {
    out.push(`  ${g.count}× ${g.op} -${g.errno}  ${g.reason}  [blocker: ${g.blockers}]`);
    const f = g.first;
    const who = f.dom !== null ? ` d${f.dom}v${f.vcpu ?? '?'}` : '';
    out.push(`      first at ${at(f.time, f.line)}${who}: ${f.what}${f.blocker ? ` — ${f.blocker}` : ''}`);
    if (g.mfns.length > 1) out.push(`      frames: ${g.mfns.join(', ')}${g.count > g.mfns.length ? ', …' : ''}`);
  }
  if (r.groups.length > 20) out.push(`  … ${r.groups.length - 20} more groups (--json lists them all)`);

  // Flushes, guest, problems.
  out.push('', `TLB flushes: ${s.flushes.total}${s.flushes.total ? ` — ${counts(s.flushes.by_cause)}` : ''}`);
  if (s.guest.events > 0) {
    out.push(`IPIs: ${s.ipis.sent} sent (${s.ipis.waited} waited for), ${s.ipis.acks} acks${s.ipis.sent ? ` — ${counts(s.ipis.by_func)}` : ''}`);
    if (s.irqs.disabled + s.irqs.enabled > 0) out.push(`interrupts: ${s.irqs.disabled} off, ${s.irqs.enabled} on — ${counts(s.irqs.by_why, 6)}`);
    const g = s.guest;
    out.push(
      `guest: ${g.events} events; ops ${counts(g.ops) || 'none'}; vm_unmap_aliases ${g.vm_unmap_aliases}, purges ${g.purges}, ` +
        `kernel TLB flushes ${g.kernel_flushes}, stop_machine ${g.stop_machine}` +
        (g.pins.ok + g.pins.failed ? `, pins ${g.pins.ok} ok / ${g.pins.failed} failed` : '') +
        (g.exchanges.ok + g.exchanges.failed ? `, memory exchanges ${g.exchanges.ok} ok / ${g.exchanges.failed} refused` : ''),
    );
  } else {
    out.push('guest events: none (a replay log)');
  }
  out.push(`WARN: ${s.warns.total}  BUG: ${s.bugs.total}  deadlocks: ${s.deadlocks.total}  hazards: ${s.hazards.total}`);
  for (const w of s.warns.first.slice(0, 3)) out.push(`  WARN ${at(w.time)} vCPU${w.vcpu ?? '?'} ${w.where}: ${w.msg}`);
  if (s.warns.total > 3) out.push(`  WARN sites: ${counts(s.warns.by_where)}`);
  for (const b of s.bugs.list.slice(0, 3)) out.push(`  BUG ${at(b.time)} vCPU${b.vcpu ?? '?'} ${b.where}: ${b.msg}${b.reason ? ` (${b.reason})` : ''}`);
  for (const d of s.deadlocks.list.slice(0, 3)) out.push(`  DEADLOCK ${at(d.time)}: ${d.cycle}`);
  for (const h of s.hazards.first.slice(0, 3)) {
    out.push(`  hazard ${at(h.time)} vCPU${h.vcpu ?? '?'} ${h.kind} ${h.start}..${h.end}, stale on vCPUs [${h.stale_vcpus.join(',')}]`);
  }
  if (s.expect_failed || s.audit_mismatches) out.push(`expectations failed: ${s.expect_failed}  audit mismatches: ${s.audit_mismatches}`);
  for (const b of s.bad_input) out.push(`bad input: ${b}`);
  for (const e of s.internal_errors) out.push(`internal error: ${e}`);
  if (Object.keys(s.unknown_events).length > 0) out.push(`other events: ${counts(s.unknown_events)}`);
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Filters.

export interface FilterOptions {
  refused?: boolean;
  vcpu?: number;
  dom?: number;
  /** Record ops, MMUEXT command names, refused operations, guest op names or event kinds. */
  op?: string[];
  mfn?: number;
  /** Minimum pino level (30 info, 40 warn, 50 error). */
  level?: number;
  since?: number;
  until?: number;
}

export function hasFilter(f: FilterOptions): boolean {
  return f.refused === true || [f.vcpu, f.dom, f.op, f.mfn, f.level, f.since, f.until].some((v) => v !== undefined);
}

const MFN_KEYS = new Set(['mfn', 'src_mfn', 'mfns']);

/**
 * "Does this line touch frame X?", in log order. A line touches X when it names X — as an
 * argument (`mfn`, `src_mfn`, `mfns`, anywhere in it), as the table an `mmu_update` or `store`
 * writes, in a present entry value that maps X (`val` of a store, an mmu_update req, an
 * update_va_mapping, a read's result, a refusal's blocker or chain link), as a refusal's frame,
 * blocker or chain link, in a TLB flush, in the frame range a `create_domain` hands out — or when
 * it writes an entry or a VA that an earlier line showed mapping X (so the line that removes a
 * mapping shows too), or destroys the domain X was given to. An expectation failure or audit
 * line right after a record that touched X touches it too. State: the entries and VAs known to
 * map X, X's owner — bounded by the mappings of one frame.
 */
export class FrameTracker {
  readonly x: number;
  private readonly xhex: string;
  private readonly wordRe: RegExp;
  /** "table:slot" of entries known to map X. */
  readonly entries = new Set<string>();
  /** VAs (bigint) known to map X. */
  readonly vas = new Set<bigint>();
  owner: number | undefined;
  private lastRecordLine: number | undefined;
  private lastRecordTouched = false;

  constructor(x: number) {
    this.x = x;
    this.xhex = x.toString(16);
    this.wordRe = new RegExp(`(?:0x0*${this.xhex}|mfn 0*${this.xhex})(?![0-9a-f])`, 'i');
  }

  private mapsX(v: unknown): boolean {
    if (isStr(v) && !v.toLowerCase().includes(this.xhex)) return false;
    return pteTarget(v) === this.x;
  }

  private isX(v: unknown): boolean {
    return mfnOf(v) === this.x;
  }

  /** An entry write: table T slot S gets value v (`applied`: Xen carried it out). */
  private entryWrite(table: number | undefined, slot: number | undefined, v: unknown, applied: boolean): boolean {
    let hit = table === this.x;
    if (table === undefined || slot === undefined) return hit || this.mapsX(v);
    const key = `${table}:${slot}`;
    if (this.mapsX(v)) {
      if (applied) this.entries.add(key);
      hit = true;
    } else if (this.entries.has(key)) {
      if (applied) this.entries.delete(key);
      hit = true;
    }
    return hit;
  }

  /** update_va_mapping: va gets value v. */
  private vaWrite(va: unknown, v: unknown, applied: boolean): boolean {
    const a = u64(va);
    if (a === undefined) return false;
    if (this.mapsX(v)) {
      if (applied) this.vas.add(a);
      return true;
    }
    if (this.vas.has(a)) {
      if (applied) this.vas.delete(a);
      return true;
    }
    return false;
  }

  private vaInRange(start: unknown, end: unknown): boolean {
    const s = u64(start);
    const e = u64(end);
    if (s === undefined || e === undefined) return false;
    for (const va of this.vas) if (va >= s && va < e) return true;
    return false;
  }

  /** Any key named mfn/src_mfn/mfns, at any depth, equal to X. */
  private scan(v: unknown, depth = 0): boolean {
    if (depth > 6) return false;
    if (Array.isArray(v)) {
      for (const x of v) if (this.scan(x, depth + 1)) return true;
      return false;
    }
    if (!isObj(v)) return false;
    for (const [k, x] of Object.entries(v)) {
      if (MFN_KEYS.has(k)) {
        if (Array.isArray(x) ? x.some((m) => this.isX(m)) : this.isX(x)) return true;
      } else if (x !== null && typeof x === 'object' && this.scan(x, depth + 1)) {
        return true;
      }
    }
    return false;
  }

  /**
   * One call (a record, or a multicall entry with its rc): what it touches. `ok`: it succeeded;
   * `done`: entries of an mmu_update that were applied.
   */
  private call(c: Obj, ok: boolean, done: number): boolean {
    let hit = false;
    switch (c.op) {
      case 'mmu_update':
        if (Array.isArray(c.reqs)) {
          c.reqs.forEach((r, i) => {
            if (!isObj(r)) return;
            const ptr = u64(r.ptr);
            if (ptr === undefined) return;
            const table = Number((ptr >> 12n) & MFN_MASK);
            if ((ptr & 7n) === 1n) hit = table === this.x || hit; // MMU_MACHPHYS_UPDATE: val is a pfn
            else hit = this.entryWrite(table, Number((ptr & 0xfffn) >> 3n), r.val, i < done) || hit;
          });
        }
        break;
      case 'mmuext_op':
        if (Array.isArray(c.ops)) {
          for (const op of c.ops) {
            if (!isObj(op)) continue;
            const la = u64(op.linear_addr);
            if (la !== undefined && this.vas.has(la)) hit = true;
          }
        }
        break;
      case 'update_va_mapping':
      case 'update_va_mapping_otherdomain':
        hit = this.vaWrite(c.va, c.val, ok) || hit;
        break;
      case 'store': {
        const mfn = mfnOf(c.mfn);
        const slot = isNum(c.slot) ? c.slot : undefined;
        const count = isNum(c.count) && c.count > 1 ? Math.min(c.count, 512) : 1;
        if (count === 1) {
          hit = this.entryWrite(mfn, slot, c.val, ok) || hit;
        } else {
          // The builder's bulk store: value val + i*stride into slot + i.
          const v0 = u64(c.val);
          const stride = u64(c.stride) ?? 0n;
          if (mfn === this.x) hit = true;
          if (v0 !== undefined && slot !== undefined && mfn !== undefined) {
            for (let i = 0; i < count; i++) {
              const v = (v0 + BigInt(i) * stride) & 0xffff_ffff_ffff_ffffn;
              hit = this.entryWrite(mfn, slot + i, '0x' + v.toString(16), ok) || hit;
            }
          }
        }
        break;
      }
      case 'access': {
        const r = isObj(c.result) ? c.result : {};
        const a = u64(c.va);
        if (a !== undefined && this.isX(r.mfn)) {
          this.vas.add(a);
          hit = true;
        } else if (a !== undefined && this.vas.has(a)) {
          hit = true;
        }
        break;
      }
      case 'read': {
        const r = isObj(c.result) ? c.result : {};
        if (this.mapsX(r.val)) {
          const mfn = mfnOf(c.mfn);
          if (mfn !== undefined && isNum(c.slot)) this.entries.add(`${mfn}:${c.slot}`);
          hit = true;
        }
        break;
      }
      case 'create_domain': {
        const fr = isObj(c.frames) ? c.frames : {};
        const base = mfnOf(fr.base);
        if (base !== undefined && isNum(fr.count) && this.x >= base && this.x < base + fr.count) {
          if (isNum(c.domid)) this.owner = c.domid;
          hit = true;
        }
        break;
      }
      case 'destroy_domain':
        if (isNum(c.domid) && c.domid === this.owner) hit = true;
        break;
      case 'audit': {
        const r = isObj(c.result) ? c.result : {};
        if (Array.isArray(r.mismatches) && r.mismatches.some((m) => isStr(m) && this.wordRe.test(m))) hit = true;
        break;
      }
    }
    if (Array.isArray(c.calls)) {
      // A multicall: each entry's own rc says whether it ran (a failed one may have done part).
      const results = isObj(c.result) && Array.isArray(c.result.results) ? c.result.results : [];
      c.calls.forEach((sub, j) => {
        const rc = results[j];
        const subOk = ok && rc === 0;
        if (isObj(sub) && this.call(sub, subOk, subOk ? Infinity : 0)) hit = true;
      });
    }
    return hit;
  }

  private refusal(r: Obj): boolean {
    let hit = this.isX(r.mfn);
    if (Array.isArray(r.blockers)) {
      for (const b of r.blockers) {
        if (!isObj(b)) continue;
        if (this.isX(b.mfn)) hit = true;
        if (this.mapsX(b.val)) {
          const t = mfnOf(b.mfn);
          if (t !== undefined && isNum(b.slot)) this.entries.add(`${t}:${b.slot}`);
          hit = true;
        }
      }
    }
    if (Array.isArray(r.chain)) {
      for (const c of r.chain) if (isObj(c) && (this.isX(c.mfn) || this.mapsX(c.val))) hit = true;
    }
    if (!hit && isStr(r.what) && /\bmfn 0x/.test(r.what) && this.wordRe.test(r.what)) hit = true;
    if (!hit && Array.isArray(r.xen)) hit = r.xen.some((m) => isStr(m) && new RegExp(`mfn 0*${this.xhex}(?![0-9a-f])`, 'i').test(m));
    return hit;
  }

  /** Whether line `o` touches X; updates what is known about X's mappings. */
  touches(o: Obj): boolean {
    const kind = lineKind(o);
    let hit = false;
    if (kind === 'record') {
      const r = isObj(o.result) ? o.result : {};
      const ok = !(isNum(r.rc) && r.rc < 0) || (o.op === 'update_va_mapping' && r.rc === -14);
      const done = isNum(r.done) ? r.done : ok ? Infinity : 0;
      hit = this.call(o, ok, done) || this.scan(o);
      this.lastRecordLine = isNum(o.line) ? o.line : undefined;
      this.lastRecordTouched = hit;
      return hit;
    }
    if (kind === 'refusal') return this.refusal(o.refusal as Obj);
    if (kind === 'event') {
      switch (o.event) {
        case 'tlb_flush': {
          const va = u64(o.va);
          return this.isX(o.mfn) || (va !== undefined && this.vas.has(va));
        }
        case 'expect_failed':
        case 'audit':
          if (o.event === 'audit' && Array.isArray(o.mismatches) && o.mismatches.some((m) => isStr(m) && this.wordRe.test(m))) return true;
          return this.lastRecordTouched && isNum(o.line) && o.line === this.lastRecordLine;
        case 'bug':
        case 'exchange':
          hit = isObj(o.refusal) && this.refusal(o.refusal);
          break;
        case 'va_hazard':
        case 'tlb_flush_kernel':
          hit = this.vaInRange(o.start, o.end);
          break;
      }
      return hit || this.scan(o);
    }
    return this.scan(o);
  }
}

/** The filter a command line asks for: every option must hold (AND). Stateful: feed every line. */
export class LineFilter {
  private readonly frame: FrameTracker | undefined;
  private readonly ops: Set<string> | undefined;
  /** The domain of the latest line that named one: guest events carry none of their own. */
  private curDom: number | undefined;

  readonly f: FilterOptions;

  constructor(f: FilterOptions) {
    this.f = f;
    this.frame = f.mfn !== undefined ? new FrameTracker(f.mfn) : undefined;
    this.ops = f.op !== undefined ? new Set(f.op) : undefined;
  }

  test(o: Obj): boolean {
    // Stateful parts first, on every line, so later lines are judged with full knowledge.
    const touches = this.frame !== undefined ? this.frame.touches(o) : true;
    const kind = lineKind(o);
    if (isNum(o.dom)) this.curDom = o.dom;
    else if (this.curDom === undefined && o.op === 'create_domain' && isNum(o.domid)) this.curDom = o.domid;
    if (!touches) return false;
    const f = this.f;
    if (f.level !== undefined && !(isNum(o.level) && o.level >= f.level)) return false;
    if (f.since !== undefined && !(isNum(o.time) && o.time >= f.since)) return false;
    if (f.until !== undefined && !(isNum(o.time) && o.time <= f.until)) return false;
    if (f.vcpu !== undefined && !this.aboutVcpu(o, f.vcpu)) return false;
    if (f.dom !== undefined && !this.aboutDom(o, kind, f.dom)) return false;
    if (this.ops !== undefined && !this.aboutOp(o, kind)) return false;
    if (f.refused === true && !isRefused(o, kind)) return false;
    return true;
  }

  private aboutVcpu(o: Obj, v: number): boolean {
    if (o.vcpu === v) return true;
    if (Array.isArray(o.vcpus) && o.vcpus.includes(v)) return true;
    if (o.event === 'ipi_send' && Array.isArray(o.targets) && o.targets.includes(v)) return true;
    if (o.event === 'ipi_ack' && o.from === v) return true;
    if (o.event === 'deadlock') {
      const edges = [...(Array.isArray(o.cycle) ? o.cycle : []), ...(Array.isArray(o.waits) ? o.waits : [])];
      return edges.some((e) => isObj(e) && (e.vcpu === v || e.waitsFor === v));
    }
    return false;
  }

  private aboutDom(o: Obj, kind: LineKind, d: number): boolean {
    if (isNum(o.dom)) return o.dom === d;
    if (kind === 'record') {
      if ((o.op === 'create_domain' || o.op === 'destroy_domain') && o.domid === d) return true;
      const r = isObj(o.result) ? o.result : {};
      return isObj(r.frame) && r.frame.owner === d;
    }
    // Guest events name no domain: they are the current guest's.
    return kind === 'event' && !['end', 'bad_input', 'internal_error', 'expect_failed', 'audit'].includes(o.event as string) && this.curDom === d;
  }

  private aboutOp(o: Obj, kind: LineKind): boolean {
    const ops = this.ops!;
    if (isStr(o.op) && ops.has(o.op)) return true;
    if (isStr(o.event) && ops.has(o.event)) return true;
    if ((o.event === 'op_start' || o.event === 'op_end') && ops.has(guestOpName(o))) return true;
    if (kind === 'record') {
      for (const c of callsOf(o)) if (isStr(c.op) && ops.has(c.op)) return true;
      for (const cmd of mmuextCmds(o)) if (ops.has(cmd)) return true;
    }
    const r = isObj(o.refusal) ? o.refusal : undefined;
    return r !== undefined && isStr(r.what) && ops.has(refusalOp(r.what));
  }
}

/** A refusal line, a failed record (not an access's page fault), a BUG with a refusal, a failed guest pin or exchange. */
export function isRefused(o: Obj, kind = lineKind(o)): boolean {
  if (kind === 'refusal') return true;
  if (kind === 'record') return recordFailed(o);
  if (kind === 'event') return (o.event === 'bug' && isObj(o.refusal)) || ((o.event === 'pin' || o.event === 'exchange') && o.ok === false);
  return false;
}

// ---------------------------------------------------------------------------------------------
// --format xen: refusals as a Xen debug build prints them.

/**
 * Where a Xen debug build's gdprintk of each message sits: xen/arch/x86/mm.c and its line, in the
 * `(XEN) mm.c:LINE:dXvY msg` form `xl dmesg` shows. Three positions are real (xen-pv-mm.md §3.6:
 * 2713 Bad type, 1043 Could not get page type, 1096 Error getting mfn). The others are stable,
 * plausible positions picked for this simulator — in the right function's neighbourhood, in mm.c's
 * order — not looked up in one Xen release: tools may rely on them staying put, people should not
 * go looking for them in a Xen tree. The first pattern that matches wins; a text not listed
 * prints as mm.c:0.
 */
export const XEN_MESSAGE_SITES: ReadonlyArray<readonly [RegExp, string, number]> = [
  [/^Bad L1 flags /, 'mm.c', 1017],
  [/^d\d+ non-privileged attempt to map MMIO space/, 'mm.c', 1024],
  [/^pg_owner d\d+ l1e_owner d\d+, but real_pg_owner/, 'mm.c', 1036],
  [/^Could not get page type /, 'mm.c', 1043], // real
  [/^Error getting mfn /, 'mm.c', 1096], // real
  [/^Attempt to create linear p\.t\. \(feature disabled\)/, 'mm.c', 1150],
  [/^Attempt to create linear p\.t\. with write perms/, 'mm.c', 1157],
  [/^Bad L2 flags /, 'mm.c', 1188],
  [/^Bad L3 flags /, 'mm.c', 1223],
  [/^Bad L4 flags /, 'mm.c', 1258],
  [/^Failure -?\d+ in promote_l1_table/, 'mm.c', 1402],
  [/^Failure -?\d+ in promote_l2_table/, 'mm.c', 1453],
  [/^Failure -?\d+ in promote_l3_table/, 'mm.c', 1522],
  [/^Failure -?\d+ in promote_l4_table/, 'mm.c', 1597],
  [/^L4 update in Xen-private area/, 'mm.c', 2211],
  [/^Could not get page ref for mfn /, 'mm.c', 2561],
  [/^Type count overflow on mfn /, 'mm.c', 2693],
  [/^Bad type \(saw /, 'mm.c', 2713], // real
  [/^Error while validating mfn /, 'mm.c', 2764],
  [/^Error -?\d+ installing new mfn /, 'mm.c', 3254],
  [/^Cannot specify itself as foreign domain/, 'mm.c', 3137],
  [/^Unknown domain d/, 'mm.c', 3149],
  [/^d\d+ may not act on d/, 'mm.c', 3162],
  [/^Error mfn [0-9a-f]+: not owned by/, 'mm.c', 3306],
  [/^Error -?\d+ while pinning mfn /, 'mm.c', 3348],
  [/^mfn [0-9a-f]+ already pinned/, 'mm.c', 3357],
  [/^mfn [0-9a-f]+ bad, or bad owner/, 'mm.c', 3385],
  [/^mfn [0-9a-f]+ not pinned/, 'mm.c', 3392],
  [/^Error while installing new baseptr/, 'mm.c', 3421],
  [/^vcpumask could not be read \(the entry/, 'mm.c', 4437],
  [/^vcpumask could not be read/, 'mm.c', 3468],
  [/^Non-physdev domain tried to FLUSH_CACHE/, 'mm.c', 3502],
  [/^Bad args to SET_LDT/, 'mm.c', 3531],
  [/^Error clearing mfn /, 'mm.c', 3606],
  [/^Error copying from mfn /, 'mm.c', 3641],
  [/^Error copying to mfn /, 'mm.c', 3652],
  [/^Invalid extended pt command/, 'mm.c', 3703],
  [/^Could not get page for normal update/, 'mm.c', 3906],
  [/^L\d update with a foreign data owner/, 'mm.c', 3927],
  [/^mfn [0-9a-f]+ has type .* which mmu_update cannot write/, 'mm.c', 3962],
  [/^Invalid page update command/, 'mm.c', 3988],
  [/^Could not get page for mach->phys update/, 'mm.c', 4012],
  [/^va 0x[0-9a-f]+ is not a guest address/, 'mm.c', 4379],
  [/^no L1 maps va /, 'mm.c', 4386],
  [/^mfn 0x[0-9a-f]+ mapping va .* is not a validated L1/, 'mm.c', 4391],
  [/^steal_page: mfn /, 'mm.c', 4622],
  [/^Could not get page for mfn /, 'memory.c', 352],
  [/^Multicall reentry is disallowed/, 'multicall.c', 51],
];

/** "mm.c:2713" for a Xen message (see XEN_MESSAGE_SITES). */
export function xenSite(msg: string): string {
  for (const [re, file, line] of XEN_MESSAGE_SITES) if (re.test(msg)) return `${file}:${line}`;
  return 'mm.c:0';
}

/** The `xl dmesg` lines of a refusal line (none for other lines, or a refusal Xen printed nothing for). */
export function xenDmesg(o: Obj): string[] {
  const r = o.refusal;
  if (!isObj(r) || !Array.isArray(r.xen)) return [];
  const who = `d${isNum(o.dom) ? o.dom : '?'}v${isNum(o.vcpu) ? o.vcpu : '?'}`;
  return r.xen.filter(isStr).map((m) => `(XEN) ${xenSite(m)}:${who} ${m}`);
}

// ---------------------------------------------------------------------------------------------
// The command.

export type InspectFormat = 'summary' | 'xen' | 'pretty' | 'lines';
export const INSPECT_FORMATS: readonly InspectFormat[] = ['summary', 'xen', 'pretty', 'lines'];

export interface InspectOptions extends FilterOptions {
  json?: boolean;
  /** Default: summary without filters, lines with them. */
  format?: InspectFormat;
  /** pretty: colours (default: when stdout is a TTY). */
  color?: boolean;
  out?: Sink;
  err?: Sink;
  signal?: AbortSignal;
}

export interface Sink {
  write(s: string): unknown;
}

/** A buffered writer that respects a stream's back-pressure (`write` false → wait for `drain`). */
export class Writer {
  private buf = '';
  private readonly sink: Sink;
  constructor(sink: Sink) {
    this.sink = sink;
  }
  async write(s: string): Promise<void> {
    this.buf += s;
    if (this.buf.length >= 1 << 16) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.buf === '') return;
    const s = this.buf;
    this.buf = '';
    const ok = this.sink.write(s);
    const ee = this.sink as Partial<NodeJS.WritableStream>;
    if (ok === false && typeof ee.once === 'function') {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          ee.off?.('drain', done);
          ee.off?.('error', done);
          ee.off?.('close', done);
          resolve();
        };
        ee.once!('drain', done);
        ee.once!('error', done);
        ee.once!('close', done);
      });
    }
  }
}

export interface InspectResult {
  exit: number;
  /** Lines that passed the filters (all parsed lines without filters). */
  matched: number;
  summary?: SummaryJson;
}

/** Runs `inspect` on LOG. Exit 0, or 2 when the log cannot be read or has lines that are not log lines (what could be read is still shown). Never throws for a bad log. */
export async function inspect(path: string, opts: InspectOptions = {}): Promise<InspectResult> {
  const out = new Writer(opts.out ?? process.stdout);
  const err = opts.err ?? process.stderr;
  const filtering = hasFilter(opts);
  let format: InspectFormat = opts.format ?? (filtering ? 'lines' : 'summary');
  if (opts.json && format !== 'summary') format = 'lines';
  const filter = filtering ? new LineFilter(opts) : undefined;
  const summary = format === 'summary' ? new Summary(path) : undefined;
  const pretty =
    format === 'pretty'
      ? pinoPretty.prettyFactory({
          colorize: opts.color ?? (process.stdout.isTTY === true && process.env.NO_COLOR === undefined),
          // Simulated time is an ordinal, not an epoch: print it as it is.
          translateTime: false,
        })
      : undefined;
  let matched = 0;
  let xenRefusals = 0;
  let xenPrinted = 0;
  const check = new LogCheck(path);
  try {
    for await (const line of readLog(path)) {
      if (opts.signal?.aborted) break;
      check.see(line);
      if (line.o === null) {
        if (summary !== undefined && !filtering) summary.addUnparsed(line.comment);
        continue;
      }
      if (filter !== undefined && !filter.test(line.o)) continue;
      matched++;
      switch (format) {
        case 'summary':
          summary!.add(line.o, line.n);
          break;
        case 'lines':
          await out.write(line.text + '\n');
          break;
        case 'pretty':
          await out.write(pretty!(line.o));
          break;
        case 'xen': {
          const ls = xenDmesg(line.o);
          if (isObj(line.o.refusal) && lineKind(line.o) === 'refusal') xenRefusals++;
          xenPrinted += ls.length;
          for (const l of ls) await out.write(l + '\n');
          break;
        }
      }
    }
  } catch (e) {
    const msg = logReadError(path, e);
    await out.flush();
    err.write(msg + '\n');
    return { exit: 2, matched };
  }
  // Lines that are not log lines (or none at all): what could be read is shown, and exit 2 says the rest.
  const problem = opts.signal?.aborted ? undefined : check.problem();
  const exit = problem === undefined ? 0 : 2;
  if (summary !== undefined) {
    const s = summary.json();
    if (problem === undefined || s.lines > 0) await out.write(opts.json ? JSON.stringify(s) + '\n' : summaryText(s));
    await out.flush();
    if (problem !== undefined) err.write(problem + '\n');
    return { exit, matched, summary: s };
  }
  await out.flush();
  if (problem !== undefined) err.write(problem + '\n');
  if (format === 'xen' && xenRefusals > 0 && xenPrinted === 0) {
    err.write(`${path}: ${xenRefusals} refusal(s), but Xen printed nothing for them (a release build's log: --xen-build release)\n`);
  }
  return { exit, matched };
}

// ---------------------------------------------------------------------------------------------
// Command-line parsing.


/** `0x…` is hex, plain digits decimal, digits with a–f hex (as Xen prints MFNs). */
export function parseMfnArg(s: string): number {
  const t = s.trim().toLowerCase();
  let n: number;
  if (/^0x[0-9a-f]{1,10}$/.test(t)) n = parseInt(t.slice(2), 16);
  else if (/^[0-9]{1,13}$/.test(t)) n = parseInt(t, 10);
  else if (/^[0-9a-f]{1,10}$/.test(t)) n = parseInt(t, 16);
  else throw new UsageError(`--mfn: not a frame number: ${JSON.stringify(s)} (0x1011, 4113, or Xen's 1011 with a hex digit)`);
  if (n > 0xff_ffff_ffff) throw new UsageError(`--mfn: ${s} is over 2^40-1`);
  return n;
}

function parseIntArg(name: string, s: string): number {
  const t = s.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^[0-9]+$/.test(t) ? parseInt(t, 10) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`${name}: not a non-negative integer: ${JSON.stringify(s)}`);
  return n;
}

function parseNumArg(name: string, s: string): number {
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${name}: not a number: ${JSON.stringify(s)}`);
  return n;
}

export function parseLevelArg(s: string): number {
  const t = s.trim().toLowerCase();
  if (t in LEVEL_VALUES) return LEVEL_VALUES[t]!;
  if (/^[0-9]+$/.test(t)) return parseInt(t, 10);
  throw new UsageError(`--level: ${JSON.stringify(s)} is not a level (trace, debug, info, warn, error, fatal, or a number)`);
}

interface InspectFlags {
  json?: boolean;
  refused?: boolean;
  vcpu?: string;
  dom?: string;
  op?: string[];
  mfn?: string;
  level?: string;
  since?: string;
  until?: string;
  format?: InspectFormat;
  color?: boolean;
}

/** The command-line flags as InspectOptions (throws UsageError). */
export function inspectOptions(flags: InspectFlags): InspectOptions {
  const o: InspectOptions = {};
  if (flags.json) o.json = true;
  if (flags.refused) o.refused = true;
  if (flags.vcpu !== undefined) o.vcpu = parseIntArg('--vcpu', flags.vcpu);
  if (flags.dom !== undefined) o.dom = parseIntArg('--dom', flags.dom);
  if (flags.op !== undefined) o.op = flags.op.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  if (flags.mfn !== undefined) o.mfn = parseMfnArg(flags.mfn);
  if (flags.level !== undefined) o.level = parseLevelArg(flags.level);
  if (flags.since !== undefined) o.since = parseNumArg('--since', flags.since);
  if (flags.until !== undefined) o.until = parseNumArg('--until', flags.until);
  if (flags.format !== undefined) o.format = flags.format;
  if (flags.color !== undefined) o.color = flags.color;
  return o;
}


/** Adds `xensim inspect LOG …` to the program. */
export function registerInspect(program: Command): Command {
  return program
    .command('inspect')
    .description('summarise a hypercall log, or print the lines that match filters')
    .argument('<log>', 'a hypercall log (pino NDJSON from replay --log or run); - for stdin')
    .option('--json', 'the summary as one JSON object (with filters: the matching lines as NDJSON)')
    .option('--refused', 'refusals, failed records, BUGs with a refusal, failed guest pins')
    .option('--vcpu <n>', 'lines by or about vCPU n (its calls and events, flushes of its TLB, IPIs to it, deadlocks it is in)')
    .option('--dom <n>', 'lines of domain n (guest events count as the current guest\'s)')
    .option('--op <name>', 'record op, MMUEXT command, refused operation, guest op or event kind (repeat, or a,b)', collect)
    .option('--mfn <x>', 'every line touching frame x, in order (0x1011; plain digits are decimal)')
    .option('--level <level>', 'lines at this pino level or above (info, warn, error, or 30/40/50)')
    .option('--since <t>', 'lines at simulated time >= t')
    .option('--until <t>', 'lines at simulated time <= t')
    .addOption(new Option('--format <format>', 'summary | xen (xl dmesg) | pretty (pino-pretty) | lines (raw NDJSON)').choices(INSPECT_FORMATS))
    .option('--no-color', 'no colours in --format pretty')
    .action(async (log: string, flags: InspectFlags) => {
      await runCommand(async (signal) => {
        const opts = inspectOptions(flags);
        // commander's --no-color defaults color to true: let pretty decide by the TTY unless asked.
        if (flags.color !== false) delete opts.color;
        return (await inspect(log, { ...opts, signal })).exit;
      });
    });
}
