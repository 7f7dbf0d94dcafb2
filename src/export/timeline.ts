// A hypercall log as a timeline: tracks (one per vCPU, per domain), slices that nest, instants
// and counters — what both `export --perfetto` and `export --html` draw. Streaming: it is fed one
// log line at a time and emits each event as soon as it is final; its state is the open slices
// of each track, the pinned frames of each domain, and the vCPUs still to acknowledge an IPI.
//
// Time. The log's `time` is simulated (replay: the record's ordinal; run: one tick per line), and
// one unit is drawn as 1 µs. Timestamps are integers in ns here (the writers print µs with up to
// three decimals, so Perfetto's ns and chrome://tracing's µs agree exactly). Every line gets its own
// instant: its `time` × 1000 ns, or 10 ns after the previous line's when that is later (a flush
// logged inside the hypercall that caused it shares the record's tick; a tick with more than 100
// lines pushes later ones right until the log's time catches up). Each slice keeps the exact
// simulated `time` and trace `line` in its args.
//
// Tracks. pid = the domain (the Xen process, pid 0x7ff2 = DOMID_XEN, holds records made by no
// vCPU — create_domain, queries, audit — and the TLB-clock counter). On each domain, tid = vCPU
// id: its kernel operations (op_start/op_end) and stop_machine as enclosing slices, IPI waits
// (ipi_send with wait until the last target's ipi_ack) inside them, and its hypercalls and other
// records as the innermost slices; refusals, flushes of its TLB, WARNs, BUGs, hazards, deadlock
// as instants. Interrupts-off spans sit on a second track per vCPU (tid 100000 + vCPU): they start
// and end in different operations (local_irq_disable is an op of its own), so they cannot nest
// with them.
//
// Nesting is by construction: a record slice is a leaf that ends before the next slice boundary
// on its track (or after 0.9 of a tick); operations, stop_machine and IPI waits are a stack, and
// closing one closes whatever is still open above it at the same instant. Whatever is open at the
// end of the log is closed there, with `unfinished: true` (a deadlock leaves IPI waits open).
import {
  blockerText,
  chainText,
  guestOpName,
  HYPERCALL_OPS,
  isNum,
  isObj,
  isStr,
  lineKind,
  mfnOf,
  mmuextCmds,
  recordFailed,
  refusalCategory,
  refusalOp,
  resultErrno,
  u64,
  waitsText,
  type Obj,
} from '../log/line.ts';
import { xenDmesg } from '../inspect/format-xen.ts';

export const XEN_PID = 0x7ff2; // DOMID_XEN
export const TOOLSTACK_TID = 0;
export const IRQ_TID_BASE = 100_000;
/** One unit of simulated time, in ns. */
export const TICK_NS = 1000;
/** The least distance between two lines, in ns. */
export const STEP_NS = 10;
/** The longest a record slice is drawn, in ns. */
export const LEAF_NS = 900;
/** The guest's domain when no line has named one yet. */
const DEFAULT_DOM = 1;
const DOMID_SELF = 0x7ff0n;
/**
 * The most vCPU tracks one `tlb_flush` line is drawn on (the most vCPUs a scenario may have). A
 * flush naming more is one instant on Xen's track: each per-vCPU instant carries the line's args,
 * so fanning out a line naming n vCPUs would cost n × its size (a 1 MB line of 158,730 vCPUs: 1.75 GB).
 */
export const MAX_FLUSH_FANOUT = 64;

export type TlEvent =
  | { ph: 'X'; pid: number; tid: number; ts: number; dur: number; name: string; cat: string; args: Obj }
  | { ph: 'i'; pid: number; tid: number; ts: number; name: string; cat: string; s: 't' | 'p' | 'g'; args: Obj }
  | { ph: 'C'; pid: number; tid: number; ts: number; name: string; args: Record<string, number> }
  | {
      ph: 'M';
      pid: number;
      tid: number;
      name: 'process_name' | 'process_sort_index' | 'thread_name' | 'thread_sort_index';
      args: Obj;
    };

/** A slice as it opens (its X event comes when it closes): for writers that need begin and end. */
export interface Opened {
  pid: number;
  tid: number;
  ts: number;
  name: string;
  cat: string;
  args: Obj;
}

interface Frame {
  kind: 'op' | 'stop_machine' | 'ipi';
  name: string;
  cat: string;
  b: number;
  args: Obj;
  /** ipi: the vCPUs still to acknowledge. */
  pending?: Set<number>;
  func?: string;
}

/** A record's slice while open: also what `opened` is given (one object per record, not two). */
type Leaf = Opened;

interface Track {
  pid: number;
  tid: number;
  stack: Frame[];
  leaf: Leaf | null;
}

/** An event line, with where it goes: its domain, its vCPU's track, its Perfetto args. */
interface EventAt {
  o: Obj;
  ts: number;
  dom: number;
  vcpu: number | undefined;
  main: Track | undefined;
  args: Obj;
}

export interface TimelineStats {
  lines: number;
  slices: number;
  instants: number;
  counters: number;
  /** The last timestamp, ns. */
  end: number;
}

/** obj[k] = v, as a spread copies it: a key "__proto__" (JSON.parse makes it an own key) stays a key. */
function put(obj: Obj, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
  else obj[k] = v;
}

/** A short JSON text of a record for a slice's args (level, time, line, msg and result left out), cut at 400 characters. */
function recordText(o: Obj): string {
  // One JSON.stringify of a shallow copy less those keys (one native call, not one per key): the
  // same text as joining each key's, and cut where that would have stopped — its first 400
  // characters when it runs past 400 before its closing brace.
  const rest: Obj = {};
  for (const k in o) if (k !== 'level' && k !== 'time' && k !== 'msg' && k !== 'result' && k !== 'line') put(rest, k, o[k]);
  const s = JSON.stringify(rest);
  return s.length - 1 > 400 ? s.slice(0, 400) + '…' : s;
}

/** The command names of an mmuext_op's own ops, as mmuextCmds names them. */
function ownCmds(ops: unknown): string[] {
  const out: string[] = [];
  if (Array.isArray(ops)) for (const op of ops) if (isObj(op)) out.push(isStr(op.cmd) ? op.cmd : `cmd ${String(op.cmd)}`);
  return out;
}

/** The slice name of a record: "mmuext_op pin_l4_table+new_baseptr", "multicall[3]", "store". */
export function recordName(o: Obj): string {
  const op = o.op as string;
  if (op === 'mmuext_op') {
    // Its own ops (no generator on the hot path); with entries of its own, mmuextCmds walks them.
    const cmds = Array.isArray(o.calls) ? [...mmuextCmds(o)] : ownCmds(o.ops);
    return `mmuext_op ${cmds.slice(0, 3).join('+')}${cmds.length > 3 ? `+${cmds.length - 3}` : ''}`;
  }
  if (op === 'multicall' && Array.isArray(o.calls)) return `multicall[${o.calls.length}]`;
  return op;
}

function slimResult(o: Obj): Obj | undefined {
  const r = o.result;
  if (!isObj(r)) return undefined;
  const out: Obj = {};
  for (const k of ['rc', 'errno', 'done', 'mfn', 'val', 'writable', 'tlb_hit', 'stale', 'present']) if (k in r) out[k] = r[k];
  if (Array.isArray(r.results)) out.results = r.results.length > 64 ? `${r.results.length} results` : r.results;
  if (isObj(r.frame)) out.frame = r.frame;
  if (Array.isArray(r.mismatches)) out.mismatches = r.mismatches.length;
  return out;
}

export class Timeline {
  private readonly emit: (e: TlEvent) => void;
  private readonly opened: ((o: Opened) => void) | undefined;
  private last = -STEP_NS;
  private readonly tracks = new Map<string, Track>();
  private readonly procs = new Set<number>();
  private readonly irqOff = new Map<string, { pid: number; tid: number; b: number; why: string }>();
  private readonly pinned = new Map<number, Set<number>>();
  private curDom: number | undefined;
  /** A multicall whose failed mmuext entries wait for their refusal lines to say how far they got. */
  private pendingMc: { dom: number; calls: Map<number, Obj>; failedAt: Map<number, number> } | null = null;
  private lastRecordTrack: Track | undefined;
  /** The track looked up last (most lines are on the one before's). */
  private lastTrack: Track | undefined;
  readonly stats: TimelineStats = { lines: 0, slices: 0, instants: 0, counters: 0, end: 0 };

  /**
   * `emit` gets every event once final (a slice when it closes); `opened`, when given, each slice
   * as it opens, with the args object its X event will carry unless closing adds a flag to it.
   */
  constructor(emit: (e: TlEvent) => void, opened?: (o: Opened) => void) {
    this.emit = emit;
    this.opened = opened;
  }

  private pos(o: Obj): number {
    const t = isNum(o.time) ? Math.round(o.time * TICK_NS) : -Infinity;
    const ts = Math.max(t, this.last + STEP_NS);
    this.last = ts;
    return ts;
  }

  private proc(pid: number): void {
    if (this.procs.has(pid)) return;
    this.procs.add(pid);
    const name = pid === XEN_PID ? 'Xen' : `d${pid}`;
    this.emit({ ph: 'M', pid, tid: 0, name: 'process_name', args: { name } });
    this.emit({ ph: 'M', pid, tid: 0, name: 'process_sort_index', args: { sort_index: pid === XEN_PID ? -1 : pid } });
    if (pid !== XEN_PID && !this.pinned.has(pid)) {
      this.pinned.set(pid, new Set());
    }
  }

  private track(pid: number, tid: number): Track {
    const last = this.lastTrack;
    if (last !== undefined && last.pid === pid && last.tid === tid) return last;
    const key = `${pid}:${tid}`;
    let t = this.tracks.get(key);
    if (t !== undefined) return (this.lastTrack = t);
    this.proc(pid);
    t = { pid, tid, stack: [], leaf: null };
    this.tracks.set(key, t);
    let name: string;
    let sort: number;
    if (pid === XEN_PID) {
      name = tid === TOOLSTACK_TID ? 'toolstack, queries' : `Xen ${tid}`;
      sort = tid;
    } else if (tid >= IRQ_TID_BASE) {
      name = `vCPU${tid - IRQ_TID_BASE} irqs off`;
      sort = (tid - IRQ_TID_BASE) * 2 + 1;
    } else {
      name = `vCPU${tid}`;
      sort = tid * 2;
    }
    this.emit({ ph: 'M', pid, tid, name: 'thread_name', args: { name } });
    this.emit({ ph: 'M', pid, tid, name: 'thread_sort_index', args: { sort_index: sort } });
    return (this.lastTrack = t);
  }

  private vcpuTrack(dom: number, vcpu: number): Track {
    return this.track(dom, vcpu);
  }

  private xenTrack(): Track {
    return this.track(XEN_PID, TOOLSTACK_TID);
  }

  private closeLeaf(t: Track, at: number): void {
    const l = t.leaf;
    if (l === null) return;
    t.leaf = null;
    const end = Math.min(at, l.ts + LEAF_NS);
    this.emit({ ph: 'X', pid: t.pid, tid: t.tid, ts: l.ts, dur: end - l.ts, name: l.name, cat: l.cat, args: l.args });
    this.stats.slices++;
  }

  private openLeaf(t: Track, ts: number, name: string, cat: string, args: Obj): void {
    this.closeLeaf(t, ts);
    const leaf: Leaf = { pid: t.pid, tid: t.tid, ts, name, cat, args };
    t.leaf = leaf;
    this.opened?.(leaf);
  }

  private push(t: Track, ts: number, f: Omit<Frame, 'b'>): void {
    this.closeLeaf(t, ts);
    t.stack.push({ ...f, b: ts });
    this.opened?.({ pid: t.pid, tid: t.tid, ts, name: f.name, cat: f.cat, args: f.args });
  }

  /**
   * Closes frame `i` of the track and everything above it at `ts` (those get `closed_early`, or
   * all of them `unfinished` at the end of the log).
   */
  private popTo(t: Track, i: number, ts: number, atEnd = false): void {
    this.closeLeaf(t, ts);
    while (t.stack.length > i) {
      const f = t.stack.pop()!;
      const args = atEnd ? { ...f.args, unfinished: true } : t.stack.length > i ? { ...f.args, closed_early: true } : f.args;
      this.emit({ ph: 'X', pid: t.pid, tid: t.tid, ts: f.b, dur: ts - f.b, name: f.name, cat: f.cat, args });
      this.stats.slices++;
    }
  }

  private findFrame(t: Track, match: (f: Frame) => boolean): number {
    for (let i = t.stack.length - 1; i >= 0; i--) if (match(t.stack[i]!)) return i;
    return -1;
  }

  private instant(t: Track, ts: number, name: string, cat: string, args: Obj, s: 't' | 'p' | 'g' = 't'): void {
    this.emit({ ph: 'i', pid: t.pid, tid: t.tid, ts, name, cat, s, args });
    this.stats.instants++;
  }

  private counter(pid: number, ts: number, name: string, args: Record<string, number>): void {
    this.proc(pid);
    this.emit({ ph: 'C', pid, tid: 0, ts, name, args });
    this.stats.counters++;
  }

  private domOf(o: Obj): number {
    return isNum(o.dom) ? o.dom : (this.curDom ?? DEFAULT_DOM);
  }

  /** Feeds one parsed log line. */
  feed(o: Obj): void {
    this.stats.lines++;
    const kind = lineKind(o);
    if (this.pendingMc !== null && kind !== 'refusal') this.resolveMc();
    if (kind === 'other') return;
    const ts = this.pos(o);
    if (kind === 'record') this.record(o, ts);
    else if (kind === 'refusal') this.refusal(o, o.refusal as Obj, ts);
    else this.event(o, ts);
  }

  private record(o: Obj, ts: number): void {
    const op = o.op as string;
    if (op === 'create_domain' && isNum(o.domid)) {
      this.curDom ??= o.domid;
      this.proc(o.domid);
      this.counter(o.domid, ts, 'pinned frames', { pinned: this.pinned.get(o.domid)?.size ?? 0 });
    }
    if (isNum(o.dom)) this.curDom = o.dom;
    const t = isNum(o.vcpu) ? this.vcpuTrack(this.domOf(o), o.vcpu) : this.xenTrack();
    const failed = recordFailed(o);
    const args: Obj = { time: o.time, record: recordText(o) };
    if (isNum(o.line)) args.line = o.line;
    const res = slimResult(o);
    if (res !== undefined) args.result = res;
    this.openLeaf(t, ts, failed ? `${recordName(o)} → ${resultErrno(o)}` : recordName(o), HYPERCALL_OPS.has(op) ? 'hypercall' : 'record', args);
    this.lastRecordTrack = t;
    this.pins(o, ts);
  }

  // Pinned frames per domain, from successful pin/unpin commands and domain destruction.
  private pins(o: Obj, ts: number): void {
    if (o.op === 'destroy_domain' && isNum(o.domid)) {
      const set = this.pinned.get(o.domid);
      if (set !== undefined && set.size > 0) {
        set.clear();
        this.counter(o.domid, ts, 'pinned frames', { pinned: 0 });
      }
      return;
    }
    const r = isObj(o.result) ? o.result : undefined;
    if (r === undefined) return;
    if (o.op === 'mmuext_op') {
      const n = Array.isArray(o.ops) ? o.ops.length : 0;
      const done = isNum(r.done) ? r.done : r.rc === 0 ? n : 0;
      this.applyPins(this.pgOwner(o, this.domOf(o)), o, done, ts);
    } else if (o.op === 'multicall' && Array.isArray(o.calls) && Array.isArray(r.results)) {
      const dom = this.domOf(o);
      const results: unknown[] = r.results;
      const pending = new Map<number, Obj>();
      o.calls.forEach((c, j) => {
        if (!isObj(c) || c.op !== 'mmuext_op' || !Array.isArray(c.ops)) return;
        const rc = results[j];
        if (rc === 0) this.applyPins(this.pgOwner(c, dom), c, c.ops.length, ts);
        else pending.set(j, c);
      });
      if (pending.size > 0) this.pendingMc = { dom, calls: pending, failedAt: new Map() };
    }
  }

  private pgOwner(c: Obj, dom: number): number {
    const fd = u64(c.foreigndom);
    return fd !== undefined && fd !== DOMID_SELF && fd < DOMID_SELF ? Number(fd) : dom;
  }

  private applyPins(dom: number, c: Obj, done: number, ts: number): void {
    if (!Array.isArray(c.ops)) return;
    let set = this.pinned.get(dom);
    let changed = false;
    for (let i = 0; i < Math.min(done, c.ops.length); i++) {
      const op = c.ops[i];
      if (!isObj(op) || !isStr(op.cmd)) continue;
      const mfn = mfnOf(op.mfn);
      if (mfn === undefined) continue;
      if (/^pin_l[1-4]_table$/.test(op.cmd)) {
        if (set === undefined) this.pinned.set(dom, (set = new Set()));
        if (!set.has(mfn)) {
          set.add(mfn);
          changed = true;
        }
      } else if (op.cmd === 'unpin_table' && set?.delete(mfn)) {
        changed = true;
      }
    }
    if (changed) this.counter(dom, ts, 'pinned frames', { pinned: set!.size });
  }

  private resolveMc(): void {
    const p = this.pendingMc!;
    this.pendingMc = null;
    for (const [j, c] of p.calls) this.applyPins(this.pgOwner(c, p.dom), c, p.failedAt.get(j) ?? 0, this.last);
  }

  private refusal(o: Obj, r: Obj, ts: number): void {
    if (this.pendingMc !== null && isStr(r.at)) {
      const m = /^calls\[(\d+)\]\.ops\[(\d+)\]$/.exec(r.at);
      if (m !== null) this.pendingMc.failedAt.set(Number(m[1]), Number(m[2]));
    }
    const t = isNum(o.vcpu) ? this.vcpuTrack(this.domOf(o), o.vcpu) : this.xenTrack();
    const what = isStr(r.what) ? r.what : '?';
    const blockers = Array.isArray(r.blockers) ? r.blockers.filter(isObj) : [];
    const args: Obj = {
      kind: refusalCategory(what),
      what,
      errno: r.errno,
      reason: r.reason,
      blockers: blockers.map((b) => blockerText(b, o.dom)),
      time: o.time,
    };
    if (isNum(o.line)) args.line = o.line;
    if (r.mfn !== undefined) args.mfn = r.mfn;
    if (Array.isArray(r.chain) && r.chain.length > 0) args.chain = chainText(r.chain);
    if (Array.isArray(r.xen)) {
      args.xen = r.xen;
      args.dmesg = xenDmesg(o);
    }
    this.instant(t, ts, `refused ${refusalOp(what)}`, 'refusal', args);
  }

  private event(o: Obj, ts: number): void {
    const ev = o.event as string;
    const dom = this.domOf(o);
    const vcpu = isNum(o.vcpu) ? o.vcpu : undefined;
    const main = vcpu !== undefined ? this.vcpuTrack(dom, vcpu) : undefined;
    // The args: time first, then the line's fields but level, time, msg and event (one copy).
    const args: Obj = { time: o.time };
    for (const k in o) if (k !== 'level' && k !== 'time' && k !== 'msg' && k !== 'event') put(args, k, o[k]);
    const e: EventAt = { o, ts, dom, vcpu, main, args };
    if (this.vcpuEvent(ev, e) || this.globalEvent(ev, e)) return;
    // Everything else (vm_unmap_aliases, purge, tlb_flush_kernel, pin, exchange, unknown kinds).
    this.instant(main ?? this.xenTrack(), ts, ev, 'guest', e.args);
  }

  /** An event on a vCPU's track; false: not one of these, or no vCPU (a plain instant then). */
  private vcpuEvent(ev: string, e: EventAt): boolean {
    const { o, ts, main, args } = e;
    switch (ev) {
      case 'op_start':
        if (main) this.push(main, ts, { kind: 'op', name: isStr(o.operation) ? o.operation : guestOpName(o), cat: 'op', args });
        return true;
      case 'op_end':
        if (main) {
          const name = isStr(o.operation) ? o.operation : guestOpName(o);
          this.close(main, ts, (f) => f.kind === 'op' && f.name === name, `op_end ${name} (no start)`, 'op', args);
        }
        return true;
      case 'stop_machine':
        return main !== undefined && this.stopMachine(main, e);
      case 'ipi_send':
        return main !== undefined && this.ipiSend(main, e);
      case 'ipi_ack':
        return main !== undefined && this.ipiAck(main, e);
      case 'irq':
        return this.irq(e);
      case 'warn':
        if (main) this.instant(main, ts, `WARN ${isStr(o.where) ? o.where : ''}`.trim(), 'warn', args);
        return main !== undefined;
      case 'bug':
        return main !== undefined && this.bug(main, e);
      case 'va_hazard':
        if (main) this.instant(main, ts, `hazard ${isStr(o.kind) ? o.kind : ''}`.trim(), 'hazard', args);
        return main !== undefined;
    }
    return false;
  }

  /** An event of Xen, the replayer or the whole guest; false: not one of these. */
  private globalEvent(ev: string, e: EventAt): boolean {
    const { o, ts, args } = e;
    switch (ev) {
      case 'tlb_flush':
        this.tlbFlush(e);
        return true;
      case 'deadlock':
        this.deadlock(e);
        return true;
      case 'expect_failed':
        this.instant(this.lastRecordTrack ?? this.xenTrack(), ts, 'expect failed', 'expect', args);
        return true;
      case 'audit':
        this.instant(this.xenTrack(), ts, 'audit mismatch', 'audit', args);
        return true;
      case 'bad_input':
      case 'internal_error':
        this.instant(this.xenTrack(), ts, ev, 'error', args, 'g');
        return true;
      case 'end':
        this.instant(this.xenTrack(), ts, `end: ${isStr(o.reason) ? o.reason : '?'}`, 'end', args, 'g');
        return true;
      case 'phase':
        this.instant(this.xenTrack(), ts, `phase ${isStr(o.phase) ? o.phase : '?'}`, 'phase', args, 'g');
        return true;
    }
    return false;
  }

  /** Closes the innermost open frame that `match`es, or marks `orphan` when none is open. */
  private close(t: Track, ts: number, match: (f: Frame) => boolean, orphan: string, cat: string, args: Obj): void {
    const i = this.findFrame(t, match);
    if (i >= 0) this.popTo(t, i, ts);
    else this.instant(t, ts, orphan, cat, args);
  }

  private tlbFlush({ o, ts, dom, args }: EventAt): void {
    const vcpus = Array.isArray(o.vcpus) ? o.vcpus.filter(isNum) : [];
    const name = `tlb_flush ${isStr(o.cause) ? o.cause : ''}`.trim();
    if (vcpus.length === 0) this.instant(this.xenTrack(), ts, name, 'flush', args);
    else if (vcpus.length > MAX_FLUSH_FANOUT) this.instant(this.xenTrack(), ts, `${name} (${vcpus.length} vCPUs)`, 'flush', args);
    else for (const v of vcpus) this.instant(this.vcpuTrack(dom, v), ts, name, 'flush', args);
    if (isNum(o.clock)) this.counter(XEN_PID, ts, 'TLB clock', { clock: o.clock });
  }

  private stopMachine(main: Track, { o, ts, args }: EventAt): boolean {
    if (o.phase === 'start') this.push(main, ts, { kind: 'stop_machine', name: 'stop_machine', cat: 'stop_machine', args });
    else if (o.phase === 'end') this.close(main, ts, (f) => f.kind === 'stop_machine', 'stop_machine end', 'stop_machine', args);
    else this.instant(main, ts, `stop_machine ${String(o.phase)}`, 'stop_machine', args);
    return true;
  }

  /** An IPI: a mark on the sender, and (when it waits) a slice until the last target acks. */
  private ipiSend(main: Track, { o, ts, vcpu, args }: EventAt): boolean {
    const func = isStr(o.func) ? o.func : '?';
    const targets = Array.isArray(o.targets) ? o.targets.filter((x): x is number => isNum(x) && x !== vcpu) : [];
    this.instant(main, ts, `IPI ${func} → [${targets.join(',')}]`, 'ipi', args);
    if (o.wait === true && targets.length > 0) {
      this.push(main, ts, { kind: 'ipi', name: `wait for IPI ${func}`, cat: 'ipi', args, pending: new Set(targets), func });
    }
    return true;
  }

  private ipiAck(main: Track, { o, ts, dom, vcpu, args }: EventAt): boolean {
    const func = isStr(o.func) ? o.func : '?';
    this.instant(main, ts, `ack IPI ${func}`, 'ipi', args);
    if (!isNum(o.from) || vcpu === undefined) return true;
    const sender = this.vcpuTrack(dom, o.from);
    const i = this.findFrame(sender, (f) => f.kind === 'ipi' && f.func === func && f.pending!.has(vcpu));
    if (i >= 0) {
      const f = sender.stack[i]!;
      f.pending!.delete(vcpu);
      if (f.pending!.size === 0) this.popTo(sender, i, ts);
    }
    return true;
  }

  /** Interrupts off → on: one slice on the vCPU's irq track. */
  private irq({ o, ts, dom, vcpu }: EventAt): boolean {
    if (vcpu === undefined) return false;
    const key = `${dom}:${vcpu}`;
    const why = isStr(o.why) ? o.why : '?';
    const open = this.irqOff.get(key);
    if (o.enabled === false) {
      if (open === undefined) {
        const t = this.track(dom, IRQ_TID_BASE + vcpu);
        this.irqOff.set(key, { pid: t.pid, tid: t.tid, b: ts, why });
        this.opened?.({ pid: t.pid, tid: t.tid, ts, name: 'irqs off', cat: 'irq', args: { off: why } });
      }
    } else if (open !== undefined) {
      this.irqOff.delete(key);
      this.emit({ ph: 'X', pid: open.pid, tid: open.tid, ts: open.b, dur: ts - open.b, name: 'irqs off', cat: 'irq', args: { off: open.why, on: why } });
      this.stats.slices++;
    }
    return true;
  }

  private bug(main: Track, { o, ts, dom, args }: EventAt): boolean {
    if (isObj(o.refusal)) {
      const r = o.refusal;
      args.refusal = { what: r.what, reason: r.reason, blockers: Array.isArray(r.blockers) ? r.blockers.filter(isObj).map((b) => blockerText(b, dom)) : [] };
    }
    this.instant(main, ts, `BUG ${isStr(o.where) ? o.where : ''}`.trim(), 'bug', args);
    return true;
  }

  private deadlock({ o, ts, dom }: EventAt): void {
    const cycle = Array.isArray(o.cycle) ? o.cycle.filter(isObj) : [];
    this.instant(this.xenTrack(), ts, 'DEADLOCK', 'deadlock', { time: o.time, cycle: waitsText(o.cycle), waits: waitsText(o.waits) }, 'g');
    for (const e of cycle) if (isNum(e.vcpu)) this.instant(this.vcpuTrack(dom, e.vcpu), ts, 'deadlocked', 'deadlock', { why: e.why, waitsFor: e.waitsFor });
  }

  /** Closes everything still open at the end of the log. */
  finish(): TimelineStats {
    if (this.pendingMc !== null) this.resolveMc();
    const end = this.last + STEP_NS;
    for (const t of this.tracks.values()) {
      this.closeLeaf(t, end);
      if (t.stack.length > 0) this.popTo(t, 0, end, true);
    }
    for (const open of this.irqOff.values()) {
      this.emit({ ph: 'X', pid: open.pid, tid: open.tid, ts: open.b, dur: end - open.b, name: 'irqs off', cat: 'irq', args: { off: open.why, unfinished: true } });
      this.stats.slices++;
    }
    this.irqOff.clear();
    this.stats.end = end;
    return this.stats;
  }
}
