// The property harness: runs abstract operations (gen.ts) against a fresh Hypervisor, records every
// record it issues as a trace (trace-format.md), and after EVERY record checks
//   1. the call returned a result, never an exception; rc is a Xen errno; done/results make sense;
//      a refused single operation gave back every reference it took (all-or-nothing);
//   2. hv.audit() is empty (the from-scratch recount and Xen's invariants, xen-pv-mm.md §6);
//   3. independently of the audit, from hv.frame()/hv.read()/hv.tlbProbe() and hv.access results:
//      no vCPU can reach a live page table (type l1–l4, type_count > 0, validated) writable —
//      not by walking its base pointers, not through any present RW entry of any live L1, not
//      through its TLB — every writable leaf is a writable-typed frame, and an access that
//      succeeds writable never lands on a live page table;
//   4. a small model agrees: PGT_pinned exactly where the pins that succeeded put it (a pin of a
//      pinned frame and an unpin of an unpinned one are refused, §4.1/§4.2), the base pointers
//      where NEW_BASEPTR / NEW_USER_BASEPTR put them (§4.3), a seg_desc frame's type count the
//      number of GDTs holding it (set_gdt), frames of a live domain never owned by anyone else, a
//      free frame holding nothing; after a destruction, §4.5 (checkDead).
// Checks 3 and 4 look at the frames some record named (`watch`), each read once per record; the
// audit looks at every frame; `finish()` puts every frame through 3 and 4 at a sequence's end.
// A failed check throws a Violation that says what broke; the trace up to that record is kept so
// that the shrunk counterexample can be written out and replayed (shrunk.ts).
import {
  DOMID_IO,
  DOMID_SELF,
  DOMID_XEN,
  EFAULT,
  EINVAL,
  EPERM,
  Hypervisor,
  type AccessResult,
  type CallResult,
  type Caller,
  type FrameInfo,
  type Hypercall,
  type MmuextOp,
  mmuextName,
  type SetGdtCall,
} from '../../hypervisor/index.ts';
import { frameOf } from '../../hypervisor/frames.ts';
import type { TraceRecord } from '../../src/trace/types.ts';
import type { CallSpec, DomCfg, FdSel, FrameSel, MachineCfg, Op, PteSel, VaSel, Who } from './gen.ts';
import { GROUP } from './gen.ts';

/** The errnos a hypercall may return (public/errno.h, negated); ERESTART must never leak. */
const XEN_RCS = new Set([0, -1, -3, -13, -14, -16, -22, -38, -95]);
const PT_TYPES = new Set(['l1', 'l2', 'l3', 'l4']);
const MMIO_MFN = 0x42;
/** Past the machine's RAM (MAX_MACHINE_FRAMES = 2^26): not RAM, I/O memory to get_page_from_l1e. */
const BEYOND_MFN = 2 ** 26;
const INVALID_MFN = 2 ** 40 - 1;
const UNKNOWN_DOMID = 0x7777;
const ADDR_MASK = 0x000f_ffff_ffff_f000n;
const HOLE_START = 0xffff800000000000n;

/** What a violated check adds to the saved trace so that a replay shows it. */
export interface Annotation {
  /** Records appended after the failing one (queries with expectations, an audit). */
  after: TraceRecord[];
  /** An expectation to put on the failing record itself. */
  expect?: TraceRecord['expect'];
}

/** What a check saw, for known-issue matching (known.ts). */
export interface Evidence {
  /** hv.audit()'s mismatch lines. */
  audit?: string[];
  /** A writable access onto a live page table: who, and the frame. */
  access?: { dom: number; vcpu: number; mfn: number };
}

export class Violation extends Error {
  readonly annotation: Annotation;
  readonly evidence: Evidence;
  constructor(message: string, annotation: Partial<Annotation> = {}, evidence: Evidence = {}) {
    super(message);
    this.name = 'Violation';
    this.evidence = evidence;
    this.annotation = { after: annotation.after ?? [], ...(annotation.expect === undefined ? {} : { expect: annotation.expect }) };
  }
}

/** Sequences and records run, for the budget line each test file prints. */
export const stats = { sequences: 0, ops: 0, records: 0, hypercalls: 0, refused: 0, destroys: 0 };
/**
 * Results per hypercall: "call\trc" → how many. A call is the hypercall's name; an mmuext_op
 * counts each of its ops that ran as "mmuext_op <command>" (the ops before the failing one rc 0,
 * the failing one its rc); a multicall counts itself and each entry as "multicall → <call>".
 * decrease_reservation's rc is the number of extents done: "ok" (all), "some done", "none done".
 */
export const rcCounts = new Map<string, number>();
export function countRc(call: string, rc: number | string): void {
  const k = `${call}\t${rc}`;
  rcCounts.set(k, (rcCounts.get(k) ?? 0) + 1);
}

/** Coverage counters: how often the streams reached the states that matter (printed per file). */
export const cov = new Map<string, number>();
export function hit(key: string, n = 1): void {
  cov.set(key, (cov.get(key) ?? 0) + n);
}
export function coverageLine(): string {
  return [...cov.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

export interface SimOptions {
  /** Record the trace (needed only to write a counterexample). */
  record?: boolean;
}

export class Sim {
  readonly hv = new Hypervisor();
  /**
   * A refusal said a debug build of Xen stops here (a failed ASSERT: the host crashes). That is
   * Xen's behaviour, not the simulator's: nothing after it is checked.
   */
  private xenStopped = false;
  get stoppedByXen(): boolean {
    return this.xenStopped;
  }
  readonly cfg: MachineCfg;
  /** The domains: the machine's, then any created later by `adopt` (index = domain index). */
  readonly doms: DomCfg[];
  /** The trace so far, one record per line; comments are strings. */
  readonly trace: (TraceRecord | string)[] = [];
  private readonly recording: boolean;
  /** Domain indices still alive. */
  readonly alive = new Set<number>();
  /** Model: the frames whose pin succeeded and was not undone (§4.1, §4.2). */
  readonly pinned = new Set<number>();
  /** Model: base pointers per "domid:vcpu" (§4.3). */
  readonly bases = new Map<string, { k: number; u: number }>();
  /** Every vCPU ever created, with its entry of `bases` (the checks walk this list). */
  private readonly vcpuList: { di: number; dom: number; vcpu: number; want: { k: number; u: number } }[] = [];
  /** The base pointers checkModel read (non-zero ones), for checkReachability's walks. */
  private tops: { dom: number; vcpu: number; name: 'kernel' | 'user'; top: number }[] = [];
  /** Model: the GDT frames per "domid:vcpu" that set_gdt calls that succeeded left. */
  readonly gdts = new Map<string, number[]>();
  /**
   * The frames the per-record checks look at, with the index of the domain that was given each
   * last (adopt re-gives freed frames): every frame a record has named (an argument, an entry's
   * target, an access's frame). A frame no record named holds only its allocation reference —
   * nothing can point at it — and the audit checks that of every frame after every record;
   * `finish()` puts every frame through the checks once more.
   */
  private readonly watch = new Map<number, number>();
  /** Every slot any record may have written: the independent walk reads only these. */
  private readonly slots = new Set<number>([0]);
  /** VAs touched by accesses and update_va_mapping, most recent last (the probe targets). */
  private readonly vas: bigint[] = [];
  /**
   * Per vCPU (domid * 256 + vcpu), every VA that ever translated for its accesses: only an access
   * fills a TLB, and only the accessing vCPU's, so its TLB entries can exist only for these.
   */
  private readonly everVa = new Map<number, Set<bigint>>();
  /** hv.frame() answers, memoised while one record's checks run (nothing changes during them). */
  private frameMemo: Map<number, FrameInfo> | undefined;
  /** Recent successful writable accesses, newest first (the stale-TLB attack's targets). */
  private readonly writes: { c: Caller; va: bigint; mfn: number }[] = [];

  constructor(cfg: MachineCfg, opts: SimOptions = {}) {
    this.cfg = cfg;
    this.doms = cfg.doms.map((d) => ({ ...d }));
    this.recording = opts.record ?? false;
    stats.sequences++;
    this.doms.forEach((d, i) => {
      const rec: TraceRecord = { op: 'create_domain', domid: d.domid, vcpus: d.vcpus, frames: { base: d.base, count: d.count } };
      if (d.privileged) rec.privileged = true;
      this.push(rec);
      this.hv.createDomain({ domid: d.domid, vcpus: d.vcpus, base: d.base, count: d.count, privileged: d.privileged });
      this.rc(0);
      this.alive.add(i);
      this.addVcpus(i);
    });
    this.check('create_domain');
  }

  private addVcpus(di: number): void {
    const d = this.doms[di]!;
    for (let v = 0; v < d.vcpus; v++) {
      const want = { k: 0, u: 0 };
      this.bases.set(`${d.domid}:${v}`, want);
      this.vcpuList.push({ di, dom: d.domid, vcpu: v, want });
    }
  }

  // ---- resolution of abstract arguments ---------------------------------------------------------
  /** The live domain index that `d` names (modulo the live ones), or undefined if none is left. */
  domIndex(d: number): number | undefined {
    const live = [...this.alive].sort((a, b) => a - b);
    return live.length === 0 ? undefined : live[d % live.length];
  }
  private caller(who: Who): { ci: number; c: Caller } | undefined {
    const ci = this.domIndex(who.d);
    if (ci === undefined) return undefined;
    const d = this.doms[ci]!;
    return { ci, c: { dom: d.domid, vcpu: who.v % d.vcpus } };
  }
  /** Domain index `o` places after the caller's (any domain, dead or alive). */
  private other(ci: number, o: number): number {
    return (ci + o) % this.doms.length;
  }
  mfn(ci: number, f: FrameSel): number {
    if ('s' in f) {
      switch (f.s) {
        case 'free': {
          // Between two domains of the machine (gen.ts lays them out with free frames between).
          const d = this.cfg.doms[ci % this.cfg.doms.length]!;
          return d.base + d.count + FREE_OFFSET;
        }
        case 'mmio':
          return MMIO_MFN;
        case 'beyond':
          return BEYOND_MFN;
        case 'invalid':
          return INVALID_MFN;
        case 'zero':
          return 0;
      }
    }
    const d = this.doms[this.other(ci, f.o)]!;
    return this.named(d.base + (f.i % d.count));
  }
  /** The index of the domain that was given frame m last (adopt re-gives freed frames), if any. */
  holderIndex(m: number): number | undefined {
    for (let i = this.doms.length - 1; i >= 0; i--) {
      const d = this.doms[i]!;
      if (m >= d.base && m < d.base + d.count) return i;
    }
    return undefined;
  }
  /** A frame a record names: from now on the per-record checks look at it (`watch`). */
  private named(m: number): number {
    if (!this.watch.has(m)) {
      const di = this.holderIndex(m);
      if (di !== undefined) this.watch.set(m, di);
    }
    return m;
  }
  private pte(ci: number, p: PteSel): bigint {
    if ('raw' in p) {
      this.named(Number((p.raw & ADDR_MASK) >> 12n));
      return p.raw;
    }
    return (BigInt(this.mfn(ci, p.f)) << 12n) | p.fl;
  }
  private va(v: VaSel): bigint {
    if ('raw' in v) return v.raw;
    const [a, b, c, d] = v.s;
    let x = (BigInt(a) << 39n) | (BigInt(b) << 30n) | (BigInt(c) << 21n) | (BigInt(d) << 12n);
    if (a >= 256) x |= 0xffff000000000000n;
    return x;
  }
  private fd(ci: number, f: FdSel): number | undefined {
    const me = this.doms[ci]!.domid;
    switch (f.k) {
      case 'none':
        return undefined;
      case 'self':
        return DOMID_SELF;
      case 'ownid':
        return me;
      case 'unknown':
        return UNKNOWN_DOMID;
      case 'io':
        return DOMID_IO;
      case 'xen':
        return DOMID_XEN;
      case 'other':
        return this.doms[this.other(ci, f.o)]!.domid;
      case 'pfd': {
        const pt = this.doms[this.other(ci, f.pt)]!.domid;
        const fd = f.fd < 0 ? DOMID_SELF : this.doms[this.other(ci, f.fd)]!.domid;
        return ((pt + 1) << 16) | fd;
      }
    }
  }
  private noteVa(va: bigint): void {
    for (let l = 1; l <= 4; l++) this.slots.add(Number((va >> BigInt(12 + 9 * (l - 1))) & 0x1ffn));
  }
  /** A VA that translated once (an access or update_va_mapping succeeded): a probe target. */
  private probeVa(va: bigint): void {
    if (!this.vas.includes(va)) {
      this.vas.push(va);
      if (this.vas.length > 16) this.vas.shift();
    }
  }

  /** The concrete hypercall of a CallSpec for caller domain index ci. */
  hypercall(ci: number, c: CallSpec): Hypercall {
    switch (c.op) {
      case 'mmu_update': {
        const reqs = c.reqs.map((r) => {
          const mfn = r.huge ? 2n ** 41n + 5n : BigInt(this.mfn(ci, r.f));
          this.slots.add(r.slot);
          const val = r.cmd === 1 ? BigInt(r.slot) : this.pte(ci, r.val);
          return { ptr: (mfn << 12n) | (BigInt(r.slot) << 3n) | BigInt(r.cmd), val };
        });
        const fd = this.fd(ci, c.fd);
        return fd === undefined ? { op: 'mmu_update', reqs } : { op: 'mmu_update', reqs, foreigndom: fd };
      }
      case 'mmuext_op': {
        const ops = c.ops.map((o) => {
          const op: MmuextOp = { cmd: o.cmd };
          if (o.f !== undefined) op.mfn = this.mfn(ci, o.f);
          if (o.src !== undefined) op.src_mfn = this.mfn(ci, o.src);
          if (o.va !== undefined) {
            op.linear_addr = this.va(o.va);
            this.noteVa(op.linear_addr);
          }
          if (o.mask !== undefined) op.vcpumask = o.mask;
          if (o.nr !== undefined) op.nr_ents = o.nr;
          return op;
        });
        const fd = this.fd(ci, c.fd);
        return fd === undefined ? { op: 'mmuext_op', ops } : { op: 'mmuext_op', ops, foreigndom: fd };
      }
      case 'update_va_mapping': {
        const va = this.va(c.va);
        this.noteVa(va);
        const scope = c.scope === 'local' ? 0 : c.scope === 'all' ? 4 : c.scope === 'multi' ? 8 : 0x30;
        const call: Hypercall = { op: 'update_va_mapping', va, val: this.pte(ci, c.val), flags: c.kind | scope };
        if (scope >= 8) call.vcpumask = c.mask;
        return call;
      }
      case 'set_gdt':
        return { op: 'set_gdt', frames: c.frames.map((f) => this.mfn(ci, f)), entries: c.entries };
      case 'multicall':
        return { op: 'multicall', calls: c.calls.map((s) => this.hypercall(ci, s)) };
    }
  }

  // ---- running ----------------------------------------------------------------------------------
  private push(r: TraceRecord | string): void {
    if (this.recording) this.trace.push(r);
  }
  /** The rc of every record run, in order (recording only): what a replay of the trace must give. */
  readonly rcs: number[] = [];
  private rc(rc: number): void {
    if (this.recording) this.rcs.push(rc);
  }
  private guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof Violation) throw e;
      const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      throw new Violation(`${what} threw instead of returning a result: ${msg}`);
    }
  }
  /** Throws the Violation (with what the trace writer should add, and what known.ts matches on). */
  private fail(message: string, a: Partial<Annotation> = {}, evidence: Evidence = {}): never {
    throw new Violation(message, a, evidence);
  }

  run(op: Op): void {
    stats.ops++;
    switch (op.k) {
      case 'store': {
        const w = this.caller(op.who);
        if (!w) return;
        this.store(w.c, this.mfn(w.ci, op.f), op.slot, this.pte(w.ci, op.val));
        return;
      }
      case 'tree': {
        const w = this.caller(op.who);
        if (!w) return;
        const [i4, i3, i2, i1, id] = op.t.map((i) => this.mfn(w.ci, { o: 0, i })) as [number, number, number, number, number];
        const [s4, s3, s2, s1] = op.s;
        this.store(w.c, i4, s4, (BigInt(i3) << 12n) | TABLE_FLAGS);
        this.store(w.c, i3, s3, (BigInt(i2) << 12n) | TABLE_FLAGS);
        this.store(w.c, i2, s2, (BigInt(i1) << 12n) | TABLE_FLAGS);
        this.store(w.c, i1, s1, (BigInt(id) << 12n) | op.leaf);
        this.noteVa(this.va({ s: [s4, s3, s2, s1] }));
        this.probeVa(this.va({ s: [s4, s3, s2, s1] }));
        const ops: MmuextOp[] = [];
        if (op.mode === 1 || op.mode === 2 || op.mode === 4) ops.push({ cmd: 3, mfn: i4 });
        if (op.mode >= 2) ops.push({ cmd: 5, mfn: i4 });
        if (op.mode === 4) ops.push({ cmd: 15, mfn: i4 });
        if (ops.length > 0) this.call(w.c, { op: 'mmuext_op', ops });
        if (op.touch) this.access(w.c, this.va({ s: [s4, s3, s2, s1] }), true);
        return;
      }
      case 'linear': {
        const w = this.caller(op.who);
        if (!w) return;
        const a = this.mfn(w.ci, { o: 0, i: GROUP[op.n]![op.a]! });
        const b = this.mfn(w.ci, { o: 0, i: GROUP[op.m < 0 ? op.n : op.m]![op.b]! });
        const val = (BigInt(b) << 12n) | (op.rw ? TABLE_FLAGS : TABLE_FLAGS & ~2n);
        if (op.store) this.store(w.c, a, op.slot, val);
        else {
          this.slots.add(op.slot);
          this.call(w.c, { op: 'mmu_update', reqs: [{ ptr: (BigInt(a) << 12n) | (BigInt(op.slot) << 3n), val }] });
        }
        return;
      }
      case 'fmap': {
        const w = this.caller(op.who);
        if (!w) return;
        const l1 = this.mfn(w.ci, { o: 0, i: GROUP[1]![0]! });
        const oi = this.other(w.ci, op.o);
        const target = this.mfn(w.ci, { o: op.o, i: op.i });
        const val = op.unmap ? 0n : (BigInt(target) << 12n) | (op.rw ? TABLE_FLAGS : TABLE_FLAGS & ~2n);
        this.slots.add(op.slot);
        const r = this.call(w.c, {
          op: 'mmu_update',
          reqs: [{ ptr: (BigInt(l1) << 12n) | (BigInt(op.slot) << 3n), val }],
          foreigndom: this.doms[oi]!.domid,
        });
        // Use it at once (the VA of slot `slot` in a tree built at slots 0/0/0): fills the TLB.
        if (r.rc === 0 && !op.unmap) this.access(w.c, this.va({ s: [0, 0, 0, op.slot] }), op.rw);
        return;
      }
      case 'pmap': {
        const w = this.caller(op.who);
        if (!w) return;
        const oi = this.other(w.ci, op.o);
        const od = this.doms[oi]!;
        const l1 = this.named(od.base + GROUP[1]![0]!);
        const di = op.src === 0 || op.src === 3 ? w.ci : op.src === 1 ? oi : this.other(w.ci, op.o + 1);
        const dd = this.doms[di]!;
        const target = op.src === 3 ? MMIO_MFN : this.named(dd.base + (op.i % dd.count));
        this.slots.add(op.slot);
        this.call(w.c, {
          op: 'mmu_update',
          reqs: [{ ptr: (BigInt(l1) << 12n) | (BigInt(op.slot) << 3n), val: (BigInt(target) << 12n) | (op.rw ? TABLE_FLAGS : TABLE_FLAGS & ~2n) }],
          foreigndom: ((od.domid + 1) << 16) | (di === w.ci ? DOMID_SELF : dd.domid),
        });
        return;
      }
      case 'call': {
        const w = this.caller(op.who);
        if (!w) return;
        this.call(w.c, this.hypercall(w.ci, op.c));
        return;
      }
      case 'access': {
        const w = this.caller(op.who);
        if (!w) return;
        const va = this.va(op.va);
        this.noteVa(va);
        this.access(w.c, va, op.write);
        return;
      }
      case 'probe': {
        for (const ci of [...this.alive]) {
          const d = this.doms[ci]!;
          for (let v = 0; v < d.vcpus; v++) {
            // A vCPU with no base pointer and nothing in its TLB (only its own accesses fill it)
            // can only fault: it is left out (big machines have dozens of those).
            if (this.bases.get(`${d.domid}:${v}`)?.k === 0 && !this.everVa.has(d.domid * 256 + v)) continue;
            for (const va of this.vas) this.access({ dom: d.domid, vcpu: v }, va, true);
          }
        }
        return;
      }
      case 'stale': {
        const t = this.writes[op.j % Math.max(1, this.writes.length)];
        if (!t || !this.hv.hasDomain(t.c.dom)) return;
        const val = op.ro ? (BigInt(t.mfn) << 12n) | (TABLE_FLAGS & ~2n) : 0n;
        this.call(t.c, { op: 'update_va_mapping', va: t.va, val, flags: 0 });
        const owner = this.hv.frame(t.mfn).owner;
        hit(owner === t.c.dom ? 'stale: own frame' : 'stale: foreign frame');
        if (op.level > 0 && owner !== null && this.hv.hasDomain(owner)) {
          const r = this.call({ dom: owner, vcpu: 0 }, { op: 'mmuext_op', ops: [{ cmd: op.level - 1, mfn: t.mfn }] });
          if (r.rc === 0) hit(`stale: retyped to l${op.level}`);
        }
        this.access(t.c, t.va, true);
        return;
      }
      case 'unpin': {
        const w = this.caller(op.who);
        if (!w) return;
        const d = this.doms[w.ci]!;
        const cands = [...this.pinned].filter((m) => !op.own || (m >= d.base && m < d.base + d.count)).sort((a, b) => a - b);
        if (cands.length === 0) return;
        this.call(w.c, { op: 'mmuext_op', ops: [{ cmd: 4, mfn: cands[op.j % cands.length]! }] });
        return;
      }
      case 'adopt': {
        // XEN_DOMCTL_createdomain over frames freed earlier (alloc_heap_pages' filtered flush, §1.7b).
        const di = this.domIndex(op.d);
        if (di === undefined || this.doms.length >= 6) return;
        const from = this.doms[di]!;
        const base = from.base + (op.i % from.count);
        const count = Math.min(op.n, from.base + from.count - base);
        for (let m = base; m < base + count; m++) {
          const f = this.hv.frame(m);
          if (f.owner !== null || f.count !== 0) return;
        }
        const d: DomCfg = { domid: 40 + this.doms.length, vcpus: op.vcpus, base, count, privileged: false };
        this.push({ op: 'create_domain', domid: d.domid, vcpus: d.vcpus, frames: { base, count } });
        stats.records++;
        hit('adopt: domain created over freed frames');
        this.guard('create_domain', () => this.hv.createDomain({ domid: d.domid, vcpus: d.vcpus, base, count }));
        this.rc(0);
        this.doms.push(d);
        this.alive.add(this.doms.length - 1);
        for (let m = base; m < base + count; m++) this.watch.set(m, this.doms.length - 1);
        this.addVcpus(this.doms.length - 1);
        this.check('create_domain');
        return;
      }
      case 'exchange': {
        const w = this.caller(op.who);
        if (!w) return;
        const mfns = op.fs.map((f) => this.mfn(w.ci, f));
        this.push({ op: 'memory_exchange', dom: w.c.dom, vcpu: w.c.vcpu, mfns } as TraceRecord);
        stats.records++;
        stats.hypercalls++;
        const snap = this.snapshot();
        const r = this.guard('memory_exchange', () => this.hv.memoryExchange(w.c, mfns));
        this.rc(r.rc);
        countRc('memory_exchange', r.rc);
        hit(`memory_exchange ${r.rc === 0 ? 'ok' : 'refused'}`);
        if (r.rc !== 0 && r.rc !== EINVAL) this.fail(`memory_exchange returned ${r.rc}; expected 0 or -EINVAL`);
        if (r.rc < 0 && r.refusals.length === 0) this.fail('memory_exchange refused without saying why');
        // Independently: it may go through only for frames the caller owns and nothing else holds.
        if (r.rc === 0) {
          for (const m of mfns) {
            const f = this.hv.frame(m);
            if (f.owner !== w.c.dom || f.count !== 1 || !f.allocated) this.fail(`memory_exchange accepted mfn 0x${m.toString(16)} (owner ${f.owner}, count ${f.count})`);
          }
        }
        this.sameAs(snap, 'memory_exchange');
        this.check('memory_exchange');
        return;
      }
      case 'decrease': {
        const w = this.caller(op.who);
        if (!w) return;
        const mfns = op.fs.map((f) => this.mfn(w.ci, f));
        this.push({ op: 'decrease_reservation', dom: w.c.dom, vcpu: w.c.vcpu, mfns });
        stats.records++;
        stats.hypercalls++;
        const rc = this.guard('decrease_reservation', () => this.hv.decreaseReservation(w.c, mfns));
        this.rc(rc);
        countRc('decrease_reservation', rc === mfns.length ? 0 : rc === 0 ? 'none done' : 'some done');
        if (!Number.isInteger(rc) || rc < 0 || rc > mfns.length) this.fail(`decrease_reservation returned ${rc} for ${mfns.length} extents`);
        this.check('decrease_reservation');
        return;
      }
      case 'destroy': {
        const di = this.domIndex(op.d);
        if (di === undefined || this.alive.size < 2) return;
        this.destroy(di);
        return;
      }
    }
  }

  store(c: Caller, mfn: number, slot: number, val: bigint): number {
    this.slots.add(slot);
    this.push({ op: 'store', dom: c.dom, vcpu: c.vcpu, mfn, slot, val });
    stats.records++;
    const rc = this.guard('store', () => this.hv.store(c, mfn, slot, val));
    this.rc(rc);
    if (rc !== 0 && rc !== EPERM) this.fail(`store returned ${rc}; a store is 0 or -EPERM`);
    // Independently: a refused store is exactly a frame that is not the caller's ordinary memory.
    const f = this.hv.frame(mfn);
    const mine = f.owner === c.dom && f.count > 0;
    const liveTable = (PT_TYPES.has(f.type) || f.type === 'seg_desc') && f.type_count > 0;
    if ((rc === 0) !== (mine && !liveTable)) {
      this.fail(`store to mfn 0x${mfn.toString(16)} (owner ${f.owner}, ${f.type} count ${f.type_count}) returned ${rc}`, {
        expect: mine && !liveTable ? 0 : EPERM,
      });
    }
    this.check('store');
    return rc;
  }

  access(c: Caller, va: bigint, write: boolean): AccessResult {
    this.push({ op: 'access', dom: c.dom, vcpu: c.vcpu, va, write });
    stats.records++;
    const a = this.guard('access', () => this.hv.access(c, va, write));
    this.rc(a.rc);
    if (a.rc !== 0 && a.rc !== EFAULT) this.fail(`access returned rc ${a.rc}; expected 0 or -EFAULT`);
    hit(`access ${write ? 'write' : 'read'} ${a.rc === 0 ? (a.tlb_hit ? (a.stale ? 'stale-tlb' : 'tlb') : 'walk') : 'fault'}`);
    if (a.rc === 0) {
      this.probeVa(va);
      const key = c.dom * 256 + c.vcpu;
      let mine = this.everVa.get(key);
      if (!mine) this.everVa.set(key, (mine = new Set()));
      mine.add(va);
      if (a.mfn !== undefined) this.named(a.mfn);
      if (write && a.writable && a.mfn !== undefined) {
        const i = this.writes.findIndex((x) => x.va === va && x.c.dom === c.dom && x.c.vcpu === c.vcpu);
        if (i >= 0) this.writes.splice(i, 1);
        this.writes.unshift({ c, va, mfn: a.mfn });
        if (this.writes.length > 8) this.writes.pop();
      }
      if (a.mfn === undefined) this.fail('access succeeded without a frame');
      if (write && !a.writable) this.fail(`a write access at 0x${va.toString(16)} succeeded through a read-only translation`);
      if (va >= HOLE_START && va < 0xffff880000000000n) {
        this.fail(`access at 0x${va.toString(16)} (Xen's hole, slots 256–271) succeeded; the guest cannot reach it`, { expect: { rc: EFAULT } });
      }
      if (a.writable) {
        const f = this.hv.frame(a.mfn);
        const trustedStale = this.doms.some((d) => d.privileged) && f.owner !== c.dom && a.tlb_hit;
        if (PT_TYPES.has(f.type) && f.type_count > 0 && f.validated && !trustedStale) {
          this.fail(
            `d${c.dom}v${c.vcpu} ${write ? 'wrote' : 'reached writable'} 0x${va.toString(16)} → mfn 0x${a.mfn.toString(16)}, ` +
              `a live ${f.type} (type_count ${f.type_count}, taf=${f.taf})${a.tlb_hit ? ' through its TLB' : ''}${a.stale ? ' (stale entry)' : ''}`,
            { expect: write ? { rc: EFAULT } : { writable: false } },
            { access: { dom: c.dom, vcpu: c.vcpu, mfn: a.mfn } },
          );
        }
      }
    }
    this.check('access');
    return a;
  }

  call(c: Caller, h: Hypercall): CallResult {
    this.push({ ...h, dom: c.dom, vcpu: c.vcpu } as TraceRecord);
    stats.records++;
    stats.hypercalls++;
    const before = h.op === 'mmu_update' && h.reqs.length === 1 ? this.hv.frame(Number(h.reqs[0]!.ptr >> 12n)) : undefined;
    const single =
      (h.op === 'mmu_update' && h.reqs.length === 1) || (h.op === 'mmuext_op' && h.ops.length === 1) || h.op === 'update_va_mapping' || h.op === 'set_gdt';
    const snap = single ? this.snapshot() : undefined;
    const r = this.guard(h.op, () => this.hv.hypercall(c, h));
    this.rc(r.rc);
    if (r.rc < 0) stats.refused++;
    if (h.op === 'update_va_mapping' && r.rc === 0) this.probeVa(h.va);
    hit(`${h.op} ${r.rc === 0 ? 'ok' : 'refused'}`);
    if (process.env.XENSIM_FUZZ_COVERAGE === '2') for (const f of r.refusals) hit(`why ${f.what.split(' ')[0]}: ${f.reason.replace(/0x[0-9a-f]+/g, 'X').replace(/\bd\d+/g, 'dN')}`);
    if (h.op === 'multicall') r.results?.forEach((rc, i) => hit(`multicall.${h.calls[i]!.op} ${rc === 0 ? 'ok' : 'refused'}`));
    if (before && r.rc === 0 && h.op === 'mmu_update') {
      const cmd = Number(h.reqs[0]!.ptr & 7n);
      if (cmd !== 1) hit(`mmu_update cmd ${cmd} on ${before.type_count > 0 && before.validated ? `live ${before.type}` : 'plain memory'} ok`);
    }
    this.checkResult(h, r, '');
    this.countResults(h, r);
    if (r.refusals.some((f) => f.debug_stop !== undefined)) {
      hit('debug build stops (ASSERT_UNREACHABLE)');
      this.xenStopped = true;
    }
    // All-or-nothing (§1.4 step 6, §1.6, §3.2, §3.3): a refused single operation gives back every
    // reference it took. (update_va_mapping's -EFAULT for a bad vcpumask comes after the update.)
    this.withFrameMemo(() => {
      if (snap && r.rc < 0 && !(h.op === 'update_va_mapping' && r.rc === EFAULT)) this.sameAs(snap, `refused ${h.op} (rc ${r.rc})`);
      this.model(c, h, r);
      this.check(h.op);
    });
    return r;
  }

  /**
   * Every watched frame's references (owner, count, type count, pinned; type and validated while
   * the type count is not 0: a type with count 0 may legitimately read as none or as the attempted
   * type, §1.4), as two numbers a frame, to compare across a refused call. A refusal can only have
   * touched frames some record named (`watch`).
   */
  private snapshot(): Snapshot {
    const frames = [...this.watch.keys()];
    const state = new Array<number>(frames.length * 2);
    frames.forEach((m, i) => {
      const f = this.fr(m);
      state[2 * i] = f.count * 0x20000 + (f.owner ?? 0x10000);
      state[2 * i + 1] = f.type_count * 0x40 + (f.pinned ? 0x20 : 0) + (f.type_count > 0 ? TYPE_CODE[f.type] * 2 + (f.validated ? 1 : 0) : 0);
    });
    return { frames, state };
  }
  private sameAs(before: Snapshot, what: string): void {
    if (this.xenStopped) return;
    const now = this.snapshot();
    before.frames.forEach((m, i) => {
      const a = before.state[2 * i]!;
      const b = before.state[2 * i + 1]!;
      if (now.frames[i] === m && now.state[2 * i] === a && now.state[2 * i + 1] === b) return;
      const j = now.frames.indexOf(m);
      const [c, d] = [now.state[2 * j]!, now.state[2 * j + 1]!];
      this.fail(`${what} changed mfn 0x${m.toString(16)}: before "${describeState(a, b)}", after "${describeState(c, d)}" — a refusal must give back everything it took`, {
        after: [{ op: 'frame', mfn: m }, { op: 'audit' }],
      });
    });
  }

  destroy(di: number): void {
    const d = this.doms[di]!;
    let pinned = 0;
    for (let m = d.base; m < d.base + d.count; m++) if (this.pinned.has(m)) pinned++;
    if (pinned > 0) hit('destroy: with pinned tables');
    if ([...this.bases.entries()].some(([k, b]) => k.startsWith(`${d.domid}:`) && b.k !== 0)) hit('destroy: with a CR3 loaded');
    this.push({ op: 'destroy_domain', domid: d.domid });
    stats.records++;
    stats.destroys++;
    this.guard('destroy_domain', () => this.hv.destroyDomain(d.domid));
    this.rc(0);
    this.alive.delete(di);
    for (const m of [...this.pinned]) if (this.holderIndex(m) === di) this.pinned.delete(m);
    for (let v = 0; v < d.vcpus; v++) this.bases.delete(`${d.domid}:${v}`);
    for (let v = 0; v < d.vcpus; v++) this.gdts.delete(`${d.domid}:${v}`);
    if (this.hv.hasDomain(d.domid)) this.fail(`domain ${d.domid} still exists after destroyDomain`);
    this.checkDead(di);
    this.check('destroy_domain');
  }

  // ---- checks -----------------------------------------------------------------------------------
  private checkResult(h: Hypercall, r: CallResult, at: string): void {
    const where = `${h.op}${at}`;
    if (!Number.isInteger(r.rc) || !XEN_RCS.has(r.rc)) this.fail(`${where} returned rc ${r.rc}, not a Xen errno`);
    if (!Array.isArray(r.refusals)) this.fail(`${where} returned no refusals list`);
    if (h.op === 'multicall') {
      if (r.rc !== 0) this.fail(`multicall returned ${r.rc}; a multicall returns 0 (§3.5)`);
      if (!r.results || r.results.length !== h.calls.length) {
        this.fail(`multicall of ${h.calls.length} entries returned ${r.results?.length} results (§3.5)`);
      }
      h.calls.forEach((s, i) => {
        const rc = r.results![i]!;
        if (!Number.isInteger(rc) || !XEN_RCS.has(rc)) this.fail(`multicall entry ${i} (${s.op}) got result ${rc}`);
        if (s.op === 'multicall' && rc !== EINVAL) this.fail(`nested multicall entry ${i} got ${rc}, expected -EINVAL (§3.5)`);
      });
      return;
    }
    if (r.rc < 0 && r.refusals.length === 0) this.fail(`${where} refused (rc ${r.rc}) without saying why`);
    if (h.op === 'mmu_update' || h.op === 'mmuext_op') {
      const n = h.op === 'mmu_update' ? h.reqs.length : h.ops.length;
      const done = r.done;
      if (done === undefined || !Number.isInteger(done) || done < 0 || done > n) this.fail(`${where}: done ${done} of ${n}`);
      if (r.rc === 0 && done !== n) this.fail(`${where}: rc 0 but done ${done} of ${n} (§3.2/§3.3)`);
      if (r.rc < 0 && done === n && n > 0) this.fail(`${where}: rc ${r.rc} but all ${n} done`);
    }
  }

  /** rcCounts for one hypercall record (see rcCounts). */
  private countResults(h: Hypercall, r: CallResult): void {
    countRc(h.op, r.rc);
    if (h.op === 'mmuext_op') {
      const { done, opFailed } = this.doneOf(h, r.rc, r, '');
      for (let i = 0; i < done && i < h.ops.length; i++) countRc(`mmuext_op ${mmuextName(h.ops[i]!.cmd) ?? `cmd ${h.ops[i]!.cmd}`}`, 0);
      if (opFailed) countRc(`mmuext_op ${mmuextName(h.ops[done]!.cmd) ?? `cmd ${h.ops[done]!.cmd}`}`, r.rc);
    }
    if (h.op === 'multicall') h.calls.forEach((s, i) => countRc(`multicall → ${s.op}`, r.results?.[i] ?? 'none'));
  }

  /**
   * The number of ops of an mmuext_op that completed. Top level: `done`. Inside a multicall only the
   * entry's rc is returned, so the failing op is read from the refusal's `at` ("calls[2].ops[1]";
   * "calls[2]" alone = refused before the loop).
   */
  private doneOf(h: { ops: MmuextOp[] }, rc: number, r: CallResult, prefix: string): { done: number; opFailed: boolean } {
    if (rc === 0) return { done: h.ops.length, opFailed: false };
    const opsAt = prefix === '' ? 'ops[' : `${prefix}.ops[`;
    for (const f of r.refusals) {
      if (f.at === prefix) return { done: 0, opFailed: false };
      if (f.at.startsWith(opsAt)) return { done: Number(/ops\[(\d+)\]$/.exec(f.at)?.[1] ?? 0), opFailed: true };
    }
    return { done: prefix === '' ? r.done ?? 0 : 0, opFailed: false };
  }

  /** The model: pins, unpins and base pointers that succeeded, and the refusals it predicts. */
  private model(c: Caller, h: Hypercall, r: CallResult): void {
    if (h.op === 'mmuext_op') this.modelExt(c, h, r.rc, r, '');
    if (h.op === 'set_gdt') this.modelGdt(c, h, r.rc, '');
    if (h.op !== 'multicall') return;
    h.calls.forEach((s, i) => {
      if (s.op === 'mmuext_op') this.modelExt(c, s, r.results?.[i] ?? 0, r, `calls[${i}]`);
      if (s.op === 'set_gdt') this.modelGdt(c, s, r.results?.[i] ?? 0, `calls[${i}]`);
    });
  }

  /**
   * set_gdt (pv/descriptor-tables.c do_set_gdt, 4.17 l.185–207): more than
   * FIRST_RESERVED_GDT_ENTRY entries is -EINVAL, a frame list shorter than ceil(entries/512) is
   * -EFAULT (copy_from_guest), a frame that cannot be the caller's seg_desc page -EINVAL; on
   * success the vCPU's GDT is the first ceil(entries/512) frames.
   */
  private modelGdt(c: Caller, h: SetGdtCall, rc: number, prefix: string): void {
    const nr = Math.ceil(h.entries / 512);
    const want = h.entries > GDT_ENTRIES ? EINVAL : h.frames.length < nr ? EFAULT : undefined;
    const where = prefix === '' ? 'set_gdt' : `multicall ${prefix} (set_gdt)`;
    if (want !== undefined ? rc !== want : rc !== 0 && rc !== EINVAL) {
      this.fail(`${where} of ${h.entries} entries with ${h.frames.length} frame(s) returned ${rc}, expected ${want ?? '0 or -EINVAL'}`, {
        ...(prefix === '' && want !== undefined ? { expect: want } : {}),
      });
    }
    if (rc !== 0) return;
    hit('set_gdt ok');
    this.gdts.set(`${c.dom}:${c.vcpu}`, h.frames.slice(0, nr).map((m) => frameOf(m)));
  }

  private modelExt(c: Caller, h: { ops: MmuextOp[] }, rc: number, r: CallResult, prefix: string): void {
    const { done, opFailed } = this.doneOf(h, rc, r, prefix);
    if (prefix === '' && done !== r.done) this.fail(`mmuext_op: done ${r.done}, but the refusal names ops[${done}]`);
    const where = prefix === '' ? 'mmuext_op' : `multicall ${prefix}`;
    const base = this.bases.get(`${c.dom}:${c.vcpu}`)!;
    for (let i = 0; i < h.ops.length && i <= done; i++) {
      const o = h.ops[i]!;
      const isPin = o.cmd >= 0 && o.cmd <= 3;
      const m = frameOf(o.mfn ?? 0); // Xen reads whatever the union holds: 0 when unset
      if (i === done) {
        // The op that failed (if any): its errno is predictable for double pins and bad unpins.
        if (opFailed && ((isPin && this.pinned.has(m)) || (o.cmd === 4 && !this.pinned.has(m))) && rc !== EINVAL) {
          this.fail(`${where} ops[${i}] (cmd ${o.cmd} mfn 0x${m.toString(16)}) failed with ${rc}, expected -EINVAL (§4.1 step 3 / §4.2 step 2)`);
        }
        break;
      }
      if (isPin && this.pinned.has(m)) {
        this.fail(`${where} ops[${i}]: pin_l${o.cmd + 1}_table of mfn 0x${m.toString(16)}, already pinned, succeeded (§4.1: pinning is once only)`, {
          expect: EINVAL,
        });
      }
      if (o.cmd === 4 && !this.pinned.has(m)) {
        this.fail(`${where} ops[${i}]: unpin of mfn 0x${m.toString(16)}, not pinned, succeeded (§4.2)`, { expect: EINVAL });
      }
      if (isPin) hit(`pin l${o.cmd + 1} ok`);
      else if (o.cmd === 5) hit('new_baseptr ok');
      else if (o.cmd === 15) hit('new_user_baseptr ok');
      else if (o.cmd === 4) hit('unpin ok');
      if (isPin) this.pinned.add(m);
      else if (o.cmd === 4) this.pinned.delete(m);
      else if (o.cmd === 5) base.k = m;
      else if (o.cmd === 15) base.u = m;
    }
  }

  /** Everything that must hold after every record. */
  check(after: string): void {
    if (this.xenStopped) return;
    const mismatches = this.guard('audit', () => this.hv.audit());
    if (mismatches.length > 0) {
      // A writable TLB entry to a live table: show that the vCPU can indeed write through it.
      const extra: TraceRecord[] = [{ op: 'audit' }];
      for (const line of mismatches.slice(0, 2)) {
        const m = /^d(\d+)v(\d+) TLB holds a writable translation of va page 0x([0-9a-f]+)/.exec(line);
        if (!m) continue;
        let va = BigInt(`0x${m[3]}`) << 12n;
        if (va & (1n << 47n)) va |= 0xffff000000000000n;
        extra.push({ op: 'access', dom: Number(m[1]), vcpu: Number(m[2]), va, write: true, expect: { rc: EFAULT } });
      }
      this.fail(`after ${after}, hv.audit() found ${mismatches.length} mismatch(es): ${mismatches.slice(0, 4).join(' | ')}`, { after: extra }, { audit: mismatches });
    }
    this.withFrameMemo(() => {
      this.checkReachability(after, this.checkModel(after));
      this.checkTlbs(after);
    });
  }

  /** Runs fn with hv.frame() answers memoised (nothing may change the machine inside fn). */
  private withFrameMemo(fn: () => void): void {
    if (this.frameMemo) return fn();
    this.frameMemo = new Map();
    try {
      fn();
    } finally {
      this.frameMemo = undefined;
    }
  }

  /**
   * The end of a sequence: every frame of every domain (not only the watched ones) goes through
   * the checks once more.
   */
  finish(): void {
    for (const d of this.doms) for (let m = d.base; m < d.base + d.count; m++) this.named(m);
    this.check('the last record');
  }

  /** hv.frame(m), memoised while a check runs. */
  private fr(m: number): FrameInfo {
    const memo = this.frameMemo;
    if (!memo) return this.hv.frame(m);
    let f = memo.get(m);
    if (!f) memo.set(m, (f = this.hv.frame(m)));
    return f;
  }

  /** The model's frame rules over the watched frames; returns the live L1s among them. */
  private checkModel(after: string): number[] {
    // Only GDTs hold seg_desc type references (set_gdt): a seg_desc frame's type count is the
    // number of GDTs it is in, exactly.
    const inGdts = new Map<number, number>();
    for (const frames of this.gdts.values()) for (const m of frames) inGdts.set(m, (inGdts.get(m) ?? 0) + 1);
    for (const [m, n] of inGdts) {
      const f = this.fr(m);
      if (f.type !== 'seg_desc' || f.type_count !== n || f.count < n) {
        this.fail(`after ${after}, mfn 0x${m.toString(16)} is in ${n} GDT(s) but is ${f.type} count ${f.type_count}, general count ${f.count} (taf=${f.taf})`, {
          after: [{ op: 'frame', mfn: m, expect: { type: 'seg_desc', type_count: n } }],
        });
      }
    }
    const liveL1: number[] = [];
    for (const [m, ci] of this.watch) {
      const f = this.fr(m);
      if (f.type === 'l1' && f.validated && f.type_count > 0) liveL1.push(m);
      if (!this.alive.has(ci)) continue;
      const d = this.doms[ci]!;
      const pinned = this.pinned.has(m);
      const ok =
        f.pinned === pinned &&
        !(f.type === 'seg_desc' && f.type_count > 0 && !inGdts.has(m)) &&
        (f.owner === null
          ? f.count === 0 && f.type_count === 0 && !f.pinned && !f.allocated
          : f.owner === d.domid && f.count >= (f.allocated ? 1 : 0) + (f.pinned ? 1 : 0) && (!f.pinned || (PT_TYPES.has(f.type) && f.validated && f.type_count >= 1)));
      if (!ok) this.frameWrong(after, m, d, f, pinned);
    }
    this.tops = [];
    for (const { di, dom, vcpu, want } of this.vcpuList) {
      if (!this.alive.has(di)) continue;
      const b = this.hv.baseptrs({ dom, vcpu });
      if (b.kernel !== want.k || b.user !== want.u) {
        this.fail(
          `after ${after}, d${dom}v${vcpu} base pointers are 0x${b.kernel.toString(16)}/0x${b.user.toString(16)}, ` +
            `but NEW_BASEPTR/NEW_USER_BASEPTR that succeeded say 0x${want.k.toString(16)}/0x${want.u.toString(16)}`,
        );
      }
      if (b.kernel !== 0) this.tops.push({ dom, vcpu, name: 'kernel', top: b.kernel });
      if (b.user !== 0) this.tops.push({ dom, vcpu, name: 'user', top: b.user });
    }
    return liveL1;
  }

  /** Which of checkModel's frame rules m breaks (only called once one does). */
  private frameWrong(after: string, m: number, d: DomCfg, f: FrameInfo, pinned: boolean): never {
    const where = `after ${after}, mfn 0x${m.toString(16)} of d${d.domid} (caf=${f.caf} taf=${f.taf})`;
    if (f.pinned !== pinned) {
      this.fail(`${where}: pinned ${f.pinned}, but the pins and unpins that succeeded say ${pinned}`, {
        after: [{ op: 'frame', mfn: m, expect: { pinned } }],
      });
    }
    if (f.type === 'seg_desc' && f.type_count > 0) this.fail(`${where}: a seg_desc page with type count ${f.type_count} in no GDT`);
    if (f.owner === null) this.fail(`${where}: free but holds references`);
    if (f.owner !== d.domid) this.fail(`${where}: owned by d${f.owner}`);
    if (f.count < (f.allocated ? 1 : 0) + (f.pinned ? 1 : 0)) this.fail(`${where}: count below its allocation and pin refs`);
    this.fail(`${where}: pinned but not a validated table`);
  }

  private isLivePt(m: number): boolean {
    const f = this.fr(m);
    return PT_TYPES.has(f.type) && f.type_count > 0 && f.validated;
  }

  /**
   * Independently of hv.audit(): walk every vCPU's base pointers (kernel and user) through the
   * slots anything may have written, RW being the AND of all levels, and look at every present
   * RW entry of every live L1. No writable path may end on a live page table, and every writable
   * leaf must be a frame of type `writable` with a non-zero count (§1.8 step 1). vCPUs that share
   * a base pointer share its walk: it is made once per check.
   */
  private checkReachability(after: string, liveL1: number[]): void {
    let linear = false;
    const slots = [...this.slots];
    const l4slots = slots.filter((s) => s < 256 || s > 271);
    const bad = (what: string, leaf: number) => {
      const f = this.fr(leaf);
      this.fail(`after ${after}, ${what} reaches mfn 0x${leaf.toString(16)} writable, but it is ${f.type} count ${f.type_count}${f.validated ? ' validated' : ''} (taf=${f.taf})`, {
        after: [{ op: 'audit' }],
      });
    };
    const checkLeaf = (what: () => string, leaf: number) => {
      if (this.isLivePt(leaf)) bad(what(), leaf);
      const f = this.fr(leaf);
      if (f.owner !== null && (f.type !== 'writable' || f.type_count === 0)) bad(what(), leaf);
    };
    // Every live L1's RW entries (of the watched frames: an L1 holds a type reference, so a
    // record named it).
    for (const m of liveL1) {
      for (const s of slots) {
        const e = this.hv.read(m, s);
        if ((e & 3n) === 3n) {
          const t = Number((e & ADDR_MASK) >> 12n);
          if (t < 0x100 && this.fr(t).owner === null) continue; // I/O memory of a privileged domain
          checkLeaf(() => `L1 0x${m.toString(16)} slot ${s}`, t);
        }
      }
    }
    const walk = (who: string, table: number, level: number, rw: boolean, path: string): void => {
      for (const s of level === 4 ? l4slots : slots) {
        const e = this.hv.read(table, s);
        if (!(e & 1n)) continue;
        const t = Number((e & ADDR_MASK) >> 12n);
        const w = rw && (e & 2n) !== 0n;
        if (level > 1 && this.fr(t).type === `l${level}`) linear = true;
        if (level > 1) walk(who, t, level - 1, w, `${path}[${s}]`);
        else if (w && !(t < 0x100 && this.fr(t).owner === null)) checkLeaf(() => `${who} walk ${path}[${s}]`, t);
      }
    };
    // Walks from every base pointer (checkModel read them).
    const walked = new Set<number>();
    for (const { dom, vcpu, name, top } of this.tops) {
      hit(name === 'kernel' ? 'state: kernel base set' : 'state: user base set');
      if (walked.has(top)) continue;
      walked.add(top);
      walk(`d${dom}v${vcpu} ${name}`, top, 4, true, `L4 0x${top.toString(16)}`);
    }
    if (linear) hit('state: linear entry on a walk');
    if (liveL1.length > 0) hit('state: live L1 exists');
  }

  /**
   * Independently of the audit, through hv.tlbProbe (which changes nothing): no vCPU caches a
   * writable translation to a live page table (§1.8) for any VA it ever accessed.
   */
  private checkTlbs(after: string): void {
    const trusted = this.doms.some((x) => x.privileged);
    for (const [key, vas] of this.everVa) {
      const di = this.doms.findIndex((x) => x.domid === Math.floor(key / 256));
      if (!this.alive.has(di)) continue;
      const dom = this.doms[di]!.domid;
      const vcpu = key % 256;
      for (const va of vas) {
        const t = this.hv.tlbProbe({ dom, vcpu }, va);
        if (!t || !t.writable || !this.isLivePt(t.mfn)) continue;
        const f = this.fr(t.mfn);
        // Xen flushes only the owner's vCPUs (§1.7a): a stale entry to another domain's frame
        // survives, by design — only a privileged domain can have made that mapping.
        if (f.owner !== dom && trusted) continue;
        this.fail(
          `after ${after}, d${dom}v${vcpu}'s TLB maps 0x${va.toString(16)} writable to mfn 0x${t.mfn.toString(16)}, a live ${f.type} of d${f.owner} (taf=${f.taf})`,
          { after: [{ op: 'audit' }, { op: 'access', dom, vcpu, va, write: true, expect: { rc: EFAULT } }] },
          { access: { dom, vcpu, mfn: t.mfn } },
        );
      }
    }
  }

  /** §4.5: a destroyed domain's frames are free, unless another live domain still maps them. */
  private checkDead(di: number): void {
    if (this.xenStopped) return;
    const d = this.doms[di]!;
    // Independently count the references live domains' live L1s still hold on each frame.
    const held = new Map<number, { n: number; rw: number }>();
    const slots = [...this.slots];
    for (const [m, ci] of this.watch) {
      if (!this.alive.has(ci)) continue;
      const f = this.hv.frame(m);
      if (f.type !== 'l1' || !f.validated || f.type_count === 0) continue;
      for (const s of slots) {
        const e = this.hv.read(m, s);
        if (!(e & 1n)) continue;
        const t = Number((e & ADDR_MASK) >> 12n);
        if (t < d.base || t >= d.base + d.count) continue;
        const h = held.get(t) ?? { n: 0, rw: 0 };
        h.n++;
        if (e & 2n) h.rw++;
        held.set(t, h);
      }
    }
    for (let m = d.base; m < d.base + d.count; m++) {
      if (this.holderIndex(m) !== di) continue;
      const f = this.hv.frame(m);
      const h = held.get(m);
      if (h) hit('destroy: frame kept alive by a live foreign mapping');
      const where = `after destroy_domain ${d.domid}, mfn 0x${m.toString(16)} (caf=${f.caf} taf=${f.taf})`;
      if (!h) {
        if (f.owner !== null || f.count !== 0 || f.type_count !== 0 || f.pinned) {
          this.fail(`${where}: not freed (owner ${f.owner}, count ${f.count}, type_count ${f.type_count}) although no live domain maps it (§4.5)`, {
            after: [{ op: 'frame', mfn: m, expect: { owner: null, count: 0, type_count: 0 } }],
          });
        }
      } else if (f.owner !== d.domid || f.count !== h.n || f.type_count !== h.rw || f.pinned) {
        hit('destroy: frame kept by a foreign mapping (bad)');
        this.fail(`${where}: ${h.n} mapping(s) (${h.rw} writable) by live domains, but owner ${f.owner} count ${f.count} type_count ${f.type_count}`);
      }
    }
  }

  /** The recorded trace as trace-format records (comments stay strings). */
  records(): (TraceRecord | string)[] {
    return this.trace;
  }
}

const TABLE_FLAGS = 0x67n;

/** Sim.snapshot's form: the watched frames and two numbers each. */
interface Snapshot {
  frames: number[];
  state: number[];
}
const TYPE_CODE: Record<FrameInfo['type'], number> = { none: 0, l1: 1, l2: 2, l3: 3, l4: 4, seg_desc: 5, shared: 6, writable: 7 };
const TYPE_OF_CODE = Object.keys(TYPE_CODE) as FrameInfo['type'][];
/** A snapshot's two numbers for a frame, as text. */
function describeState(a: number, b: number): string {
  const owner = a % 0x20000;
  const tc = Math.floor(b / 0x40);
  const t = tc > 0 ? ` ${TYPE_OF_CODE[(b % 0x20) >> 1]}${b & 1 ? ' validated' : ''}` : '';
  return `owner ${owner === 0x10000 ? null : owner} count ${Math.floor(a / 0x20000)} type_count ${tc}${b & 0x20 ? ' pinned' : ''}${t}`;
}
/** FrameSel `free`: this far past the end of a domain of the machine (gen.ts leaves ≥ 0x100 free). */
const FREE_OFFSET = 0x40;
/** FIRST_RESERVED_GDT_ENTRY on x86-64 (asm/desc.h): 14 pages of 512 descriptors. */
const GDT_ENTRIES = 14 * 512;

