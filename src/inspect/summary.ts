// inspect's summary: everything it counts, fed one log line at a time, as JSON (SummaryJson).
// The text a person reads is format-summary.ts. Memory stays bounded: every counter caps its keys
// and every list its length.
import { errnoName } from '../../hypervisor/abi.ts';
import {
  blockerSig,
  blockerText,
  guestOpName,
  HYPERCALL_OPS,
  isNum,
  isObj,
  isStr,
  LEVEL_NAMES,
  lineKind,
  mmuextCmds,
  normReason,
  recordFailed,
  refusalCategory,
  refusalOp,
  resultErrno,
  waitsText,
  type LineKind,
  type Obj,
} from '../log/line.ts';

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

export interface CallerCounts {
  hypercalls: number;
  /** Hypercalls whose rc, or a multicall entry's, was an errno. */
  failed: number;
  by_op: Record<string, number>;
}

/** Hypercall counts per caller key, at most 4,096 keys (one per vCPU of 64 domains of 64). */
class CallerTable {
  readonly m = new Map<string, { hypercalls: number; failed: number; ops: Counter }>();
  add(key: string, op: string, failed: boolean): void {
    let c = this.m.get(key);
    if (c === undefined) {
      if (this.m.size >= 4096) return;
      this.m.set(key, (c = { hypercalls: 0, failed: 0, ops: new Counter(64) }));
    }
    c.hypercalls++;
    if (failed) c.failed++;
    c.ops.add(op);
  }
  json(): Record<string, CallerCounts> {
    const out: Record<string, CallerCounts> = {};
    for (const [k, c] of this.m) out[k] = { hypercalls: c.hypercalls, failed: c.failed, by_op: c.ops.json() };
    return out;
  }
}

export interface SummaryJson {
  file: string;
  lines: number;
  unparsed: number;
  comments: number;
  time: { first: number; last: number } | null;
  levels: Record<string, number>;
  kinds: Record<LineKind, number>;
  records: { total: number; hypercalls: number; by_op: Record<string, { total: number; results: Record<string, number> }> };
  /** Hypercalls by caller, as xenalyze splits them: "d1v0" → counts, and by domain "d1". */
  by_caller: Record<string, CallerCounts>;
  by_domain: Record<string, CallerCounts>;
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

/** Events of the hypervisor and the replayer; every other kind is the guest's. */
const REPLAY_EVENTS = new Set(['tlb_flush', 'expect_failed', 'audit', 'bad_input', 'internal_error', 'end']);

/** Adds to a list of at most LIST_CAP entries. */
function capped<T>(list: T[], item: T): void {
  if (list.length < LIST_CAP) list.push(item);
}

function okOrFailed(c: { ok: number; failed: number }, o: Obj): void {
  if (o.ok === false) c.failed++;
  else c.ok++;
}

const timeAndVcpu = (o: Obj) => ({ time: isNum(o.time) ? o.time : null, vcpu: isNum(o.vcpu) ? o.vcpu : null });
const messageOf = (o: Obj): string => (isStr(o.message) ? o.message : isStr(o.msg) ? o.msg : '');

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
  readonly byCaller = new CallerTable();
  readonly byDomain = new CallerTable();
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
    if (HYPERCALL_OPS.has(op)) {
      this.hypercalls++;
      const failed = recordFailed(o);
      const dom = isNum(o.dom) ? `d${o.dom}` : 'd?';
      this.byDomain.add(dom, op, failed);
      this.byCaller.add(`${dom}v${isNum(o.vcpu) ? o.vcpu : 0}`, op, failed);
    }
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
    if (!REPLAY_EVENTS.has(ev)) this.guestEvents++;
    const on = this.onEvent.get(ev);
    if (on !== undefined) on(o);
    else this.unknownEvents.add(ev);
  }

  /** What each event kind adds (a Map: an event named "constructor" is just unknown). */
  private readonly onEvent = new Map<string, (o: Obj) => void>([
    // the hypervisor and the replayer
    ['tlb_flush', (o) => this.flushes.add(isStr(o.cause) ? o.cause : '?')],
    ['expect_failed', () => this.expectFailed++],
    ['audit', (o) => (this.auditMismatches += Array.isArray(o.mismatches) ? o.mismatches.length : 1)],
    ['bad_input', (o) => capped(this.badInput, isStr(o.error) ? o.error : String(o.msg))],
    ['internal_error', (o) => capped(this.internalErrors, isStr(o.error) ? o.error : String(o.msg))],
    ['end', (o) => (this.end = { reason: isStr(o.reason) ? o.reason : '?', records: isNum(o.records) ? o.records : null, exit: isNum(o.exit) ? o.exit : null })],
    // the guest
    ['op_start', (o) => this.guestOps.add(guestOpName(o))],
    ['op_end', () => {}],
    ['phase', () => {}],
    ['exchange', (o) => okOrFailed(this.guestExchanges, o)],
    ['pin', (o) => okOrFailed(this.guestPins, o)],
    ['vm_unmap_aliases', () => this.guest.vm_unmap_aliases++],
    ['purge', () => this.guest.purges++],
    ['tlb_flush_kernel', () => this.guest.kernel_flushes++],
    ['stop_machine', (o) => o.phase === 'start' && this.guest.stop_machine++],
    ['ipi_send', (o) => this.addIpi(o)],
    ['ipi_ack', () => this.ipi.acks++],
    ['irq', (o) => this.addIrq(o)],
    ['warn', (o) => this.addWarn(o)],
    ['bug', (o) => this.addBug(o)],
    ['deadlock', (o) => this.addDeadlock(o)],
    ['va_hazard', (o) => this.addHazard(o)],
  ]);

  private addIpi(o: Obj): void {
    this.ipi.sent++;
    if (o.wait === true) this.ipi.waited++;
    this.ipiFuncs.add(isStr(o.func) ? o.func : '?');
  }

  private addIrq(o: Obj): void {
    if (o.enabled === false) this.irqs.disabled++;
    else this.irqs.enabled++;
    this.irqWhy.add(`${o.enabled === false ? 'off' : 'on'}: ${isStr(o.why) ? o.why : '?'}`);
  }

  private addWarn(o: Obj): void {
    const where = isStr(o.where) ? o.where : '?';
    this.warns.add(where);
    capped(this.warnList, { ...timeAndVcpu(o), where, msg: messageOf(o) });
  }

  private addBug(o: Obj): void {
    this.bugs++;
    const r = isObj(o.refusal) ? o.refusal : undefined;
    const reason = r !== undefined && isStr(r.reason) ? r.reason : null;
    capped(this.bugList, { ...timeAndVcpu(o), where: isStr(o.where) ? o.where : '?', msg: messageOf(o), reason });
  }

  private addDeadlock(o: Obj): void {
    this.deadlocks++;
    const { time } = timeAndVcpu(o);
    capped(this.deadlockList, { time, cycle: waitsText(o.cycle), waits: Array.isArray(o.waits) ? o.waits.length : 0 });
  }

  private addHazard(o: Obj): void {
    const kind = isStr(o.kind) ? o.kind : '?';
    this.hazards.add(kind);
    const stale = Array.isArray(o.stale_vcpus) ? o.stale_vcpus.filter(isNum) : [];
    capped(this.hazardList, { ...timeAndVcpu(o), kind, start: String(o.start), end: String(o.end), stale_vcpus: stale });
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
      by_caller: this.byCaller.json(),
      by_domain: this.byDomain.json(),
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
