// The Hypervisor facade: one entry point per hypercall and per setup or query record, results as
// data. Everything a guest or a trace can do to the simulated Xen goes through here.

import { DOMID_SELF, EFAULT, EINVAL, ENOSYS, EPERM, HYPERCALL_NAMES, mmuextName, type XenVersion } from './abi.ts';
import { audit } from './audit.ts';
import type { Domain, Vcpu } from './domain.ts';
import { F_ALLOCATED, F_PINNED, F_VALIDATED, frameOf, FrameTable, hex08,
  hex16, NO_OWNER, PGT_seg_desc_page, TYPE_NAMES } from './frames.ts';
import { createDomain, decreaseReservation, destroyDomain, memoryExchange, type DomainSpec } from './lifecycle.ts';
import { doMmuUpdate } from './mmu-update.ts';
import { doMmuextOp } from './mmuext-op.ts';
import { doMulticall } from './multicall.ts';
import { emulatesRoWrites, ptwrWrite } from './ptwr.ts';
import { getPgOwner } from './foreign.ts';
import { ENTRIES_PER_TABLE, hex, hiOf, loOf, toBig, va48, vpnOf } from './pte.ts';
import { buildRefusal, NO_REFUSALS } from './refusal.ts';
import { Diag, type XenState } from './state.ts';
import { TlbClock } from './tlb.ts';
import {
  type AccessResult,
  type Caller,
  type CallResult,
  type FrameInfo,
  type Hypercall,
  type MmuextOp,
  type Refusal,
  SetupError,
  type Ulong,
  type XenObserver,
} from './types.ts';
import { doUpdateVaMapping } from './update-va-mapping.ts';
import { doSetGdt } from './gdt.ts';
import { translate } from './walk.ts';

export * from './types.ts';
export * from './abi.ts';
export type { DomainSpec } from './lifecycle.ts';
export { MAX_MACHINE_FRAMES, MAX_VCPUS } from './lifecycle.ts';

export interface HypervisorOptions {
  observer?: XenObserver;
  /** pv-linear-pt= (default on). */
  linearPt?: boolean;
  /** Debug build (default): refusals carry Xen's gdprintk texts; a release build prints none. */
  debugBuild?: boolean;
  /** Refusals list their blockers (default); off leaves `blockers` empty and saves the search. */
  blockers?: boolean;
  /** Refusals are explained (default); off leaves their texts empty (XenState.explain). */
  explain?: boolean;
  /** The release whose answers to give where 4.17 (the default) and master differ. */
  xenVersion?: XenVersion;
}

export class Hypervisor {
  private readonly x: XenState;
  private first: number | undefined;
  /** What the last dispatch() gave besides rc: mmu_update / mmuext_op's done, multicall's results. */
  private done: number | undefined;
  private results: number[] | undefined;
  /**
   * The refusals of the call being run: undefined until its first (refuse()). Most calls refuse
   * nothing, and a refused one mostly once: an array made ahead grew a backing store for 17.
   */
  private refusals: Refusal[] | undefined;

  constructor(opts: HypervisorOptions = {}) {
    this.x = {
      frames: new FrameTable(),
      domains: new Map(),
      clock: new TlbClock(),
      obs: opts.observer ?? {},
      linearPt: opts.linearPt ?? true,
      debugBuild: opts.debugBuild ?? true,
      blockers: opts.blockers ?? true,
      explain: opts.explain ?? true,
      xenVersion: opts.xenVersion ?? '4.17',
      diag: new Diag(),
      m2p: new Map(),
      everPrivileged: false,
      oldGuestTable: 0,
      leaked: new Map(),
      framesExamined: 0,
    };
  }

  /** Whether refusals from now on are explained (HypervisorOptions.explain). */
  set explain(on: boolean) {
    this.x.explain = on;
  }

  /** Whether refusals from now on list their blockers (HypervisorOptions.blockers). */
  set blockers(on: boolean) {
    this.x.blockers = on;
  }

  /** XEN_DOMCTL_createdomain + populate_physmap, as one setup step. Throws SetupError. */
  createDomain(spec: DomainSpec): void {
    createDomain(this.x, spec);
    this.first ??= spec.domid;
  }

  /** domain_kill → domain_relinquish_resources. Throws SetupError for an unknown domain. */
  destroyDomain(domid: number): void {
    const d = this.x.domains.get(domid);
    if (!d) throw new SetupError(`no domain ${domid}`, 'domid');
    destroyDomain(this.x, d);
    if (this.first === domid) this.first = this.x.domains.keys().next().value;
  }

  hasDomain(domid: number): boolean {
    return this.x.domains.has(domid);
  }

  /** The id of the first domain created that still exists (the trace's default `dom`). */
  firstDomain(): number | undefined {
    return this.first;
  }

  /** Runs one hypercall. A refusal is a result (rc < 0, with refusals), never an exception. */
  hypercall(caller: Caller, call: Hypercall): CallResult {
    const d = this.domainOf(caller);
    const v = this.vcpuOf(d, caller);
    this.refusals = undefined; // left over only if a call threw (a model bug): not this call's
    this.done = undefined;
    this.results = undefined;
    const rc = this.dispatch(d, v, call, -1);
    // A call that refused nothing shares one empty, frozen list.
    const refusals = this.refusals ?? NO_REFUSALS;
    this.refusals = undefined;
    return withRefusals(rc, this.done, this.results, refusals);
  }

  /** Adds a refusal to the call being run. */
  private refuse(r: Refusal): void {
    if (this.refusals === undefined) this.refusals = [r];
    else this.refusals.push(r);
  }

  /** Clears the diagnostics before each entry of a batch (one closure, not one per call). */
  private readonly resetDiag = (): void => this.x.diag.reset();

  // One case per hypercall, as Xen's hypercall table: long only because it is one switch.
  // Returns rc; mmu_update and mmuext_op leave `done` in this.done, multicall its results in
  // this.results (hypercall() reads them: no outcome object per call).
  // `entry`: the index of the call in the multicall running it, or -1 (the refusal's `at`, atOf:
  // built only for a refusal).
  private dispatch(d: Domain, v: Vcpu, call: Hypercall, entry: number): number {
    const x = this.x;
    const diag = x.diag;
    diag.reset();
    switch (call.op) {
      case 'mmu_update': {
        const fd = call.foreigndom ?? DOMID_SELF;
        const o = doMmuUpdate(x, d, call.reqs, fd, this.resetDiag);
        if (o.rc !== 0) {
          const req = o.failed === undefined ? undefined : call.reqs[o.failed];
          const what = !x.explain ? '' : req ? `mmu_update ptr ${hex(req.ptr)} val ${hex(req.val)}` : `mmu_update foreigndom ${hex(fd)}`;
          const at = !x.explain ? '' : where(atOf(entry), o.failed === undefined ? '' : `reqs[${o.failed}]`);
          this.refuse(buildRefusal(x, at, what, o.rc));
        }
        this.done = o.done;
        return o.rc;
      }
      case 'mmuext_op': {
        const fd = call.foreigndom ?? DOMID_SELF;
        const o = doMmuextOp(x, d, v, call.ops, fd, this.resetDiag);
        if (o.rc !== 0) {
          const op = o.failed === undefined ? undefined : call.ops[o.failed];
          const what = !x.explain ? '' : op ? describeOp(op) : `mmuext_op foreigndom ${hex(fd)}`;
          const at = !x.explain ? '' : where(atOf(entry), o.failed === undefined ? '' : `ops[${o.failed}]`);
          this.refuse(buildRefusal(x, at, what, o.rc));
        }
        this.done = o.done;
        return o.rc;
      }
      case 'update_va_mapping':
      case 'update_va_mapping_otherdomain': {
        let rc: number;
        if (call.op === 'update_va_mapping') rc = doUpdateVaMapping(x, d, v, call.va, call.val, call.flags, call.vcpumask);
        else {
          // do_update_va_mapping_otherdomain (mm.c:4560): get_pg_owner(domid) (-ESRCH), then
          // __do_update_va_mapping's xsm_update_va_mapping (xsm/dummy.h:740, XSM_TARGET): the
          // caller itself or a control domain, whatever the new entry (-EPERM).
          const pg = getPgOwner(x, d, call.domid);
          if (typeof pg === 'number') rc = pg;
          else if (pg !== d && !d.privileged) rc = EPERM;
          else rc = doUpdateVaMapping(x, d, v, call.va, call.val, call.flags, call.vcpumask, pg);
        }
        if (rc !== 0) {
          const what = !x.explain ? '' : `${call.op} va ${hex(call.va)} val ${hex(call.val)}`;
          this.refuse(buildRefusal(x, !x.explain ? '' : atOf(entry), what, rc));
        }
        return rc;
      }
      case 'set_gdt': {
        const rc = doSetGdt(x, d, v, call.frames.map(frameOf), call.entries);
        if (rc !== 0) this.refuse(buildRefusal(x, atOf(entry), `set_gdt frames [${call.frames.map(hex).join(',')}] entries ${call.entries}`, rc));
        return rc;
      }
      case 'decrease_reservation':
        return decreaseReservation(x, d, call.mfns.map(frameOf));
      case 'memory_exchange': {
        const o = memoryExchange(x, d, call.mfns.map(frameOf));
        if (o.failed !== undefined) {
          this.refuse(buildRefusal(x, where(atOf(entry), `mfns[${o.failed}]`), `memory_exchange mfn ${hex(call.mfns[o.failed]!)}`, o.rc, true));
        }
        return o.rc;
      }
      case 'hypercall': {
        // call_handlers_pv64's default: a number without a handler (hypercall-defs.c).
        const name = typeof call.nr === 'number' ? HYPERCALL_NAMES[call.nr] : undefined;
        // Xen prints nothing here: the reason is the model's own, not a gdprintk text.
        if (x.explain) diag.reason = `hypercall ${call.nr}${name ? ` (${name})` : ''} has no handler in a 64-bit PV guest's table`;
        this.refuse(buildRefusal(x, atOf(entry), `hypercall ${call.nr}`, ENOSYS));
        return ENOSYS;
      }
      case 'multicall': {
        const o = doMulticall(
          x,
          call.calls,
          (c, i) => this.dispatch(d, v, c, i),
          (i) => this.refuse(buildRefusal(x, where(atOf(entry), `calls[${i}]`), 'multicall (nested)', EINVAL)),
        );
        // The entries' own `done` is theirs (in their refusals), not the multicall's.
        this.done = undefined;
        this.results = o.results;
        return o.rc;
      }
    }
  }

  /**
   * A plain guest store of one 8-byte entry — or of `count` consecutive entries from `slot`, the
   * value growing by `stride` each (the domain builder's bulk form). rc -EPERM, nothing written,
   * when the frame is not the domain's ordinary memory (a live l1–l4/seg_desc type).
   */
  store(caller: Caller, arg: Ulong, slot: number, val: bigint, count = 1, stride = 0n): number {
    const d = this.domainOf(caller);
    this.vcpuOf(d, caller);
    const mfn = frameOf(arg);
    if (slot < 0 || count < 1 || slot + count > ENTRIES_PER_TABLE) {
      throw new SetupError(`slots ${slot} … ${slot + count - 1} are not within 0 … 511`, 'slot');
    }
    const f = this.x.frames;
    if (!f.valid(mfn) || f.owner(mfn) !== d.id || f.count(mfn) === 0) return EPERM;
    const t = f.type(mfn);
    if (t >= 1 && t <= PGT_seg_desc_page && f.typeCount(mfn) > 0) return EPERM;
    const page = f.pageForWrite(mfn);
    // val + i × stride, mod 2^64, in the entry's two 32-bit halves: no BigInt per entry.
    let lo = loOf(val);
    let hi = hiOf(val);
    const sLo = loOf(stride);
    const sHi = hiOf(stride);
    for (let i = 0; i < count; i++) {
      page[2 * (slot + i)] = lo;
      page[2 * (slot + i) + 1] = hi;
      const sum = lo + sLo;
      hi = (hi + sHi + (sum > 0xffffffff ? 1 : 0)) >>> 0;
      lo = sum >>> 0;
    }
    return 0;
  }

  /** The simulator's look into a vCPU's TLB (not a hypercall): what it caches for va, if anything. */
  tlbProbe(caller: Caller, va: bigint): { mfn: number; writable: boolean } | undefined {
    const v = this.vcpuOf(this.domainOf(caller), caller);
    const p = v.tlb.get(vpnOf(va));
    return p === undefined ? undefined : { mfn: Math.floor(p / 2), writable: (p & 1) === 1 };
  }

  /** XENMEM_decrease_reservation: drops the allocation reference; rc = extents done. */
  decreaseReservation(caller: Caller, mfns: Ulong[]): number {
    return this.hypercall(caller, { op: 'decrease_reservation', mfns }).rc;
  }

  /** HYPERVISOR_set_gdt: the calling vCPU's GDT becomes `frames` (each a seg_desc page). */
  setGdt(caller: Caller, frames: Ulong[], entries: number): CallResult {
    return this.hypercall(caller, { op: 'set_gdt', frames, entries });
  }

  /**
   * XENMEM_exchange, as far as the guest can tell: refused (-EINVAL) while any frame is still
   * referenced by more than its allocation — a PTE alias, a pin, a CR3.
   */
  memoryExchange(caller: Caller, mfns: Ulong[]): CallResult {
    return this.hypercall(caller, { op: 'memory_exchange', mfns });
  }

  /** A frame's page_info, as the `frame` query reports it. */
  frame(arg: Ulong): FrameInfo {
    const f = this.x.frames;
    const mfn = frameOf(arg);
    if (!f.valid(mfn)) {
      return {
        owner: null,
        type: 'none',
        type_count: 0,
        validated: false,
        pinned: false,
        count: 0,
        allocated: false,
        caf: hex08(0n),
        taf: hex16(0n),
        tlbflush_timestamp: 0,
      };
    }
    const flags = f.flags(mfn);
    return {
      owner: f.owner(mfn) === NO_OWNER ? null : f.owner(mfn),
      type: TYPE_NAMES[f.type(mfn)]!,
      type_count: f.typeCount(mfn),
      validated: (flags & F_VALIDATED) !== 0,
      pinned: (flags & F_PINNED) !== 0,
      count: f.count(mfn),
      allocated: (flags & F_ALLOCATED) !== 0,
      caf: f.cafHex(mfn),
      taf: f.tafHex(mfn),
      tlbflush_timestamp: f.tlbflushTimestamp(mfn),
    };
  }

  /** The 8-byte entry `slot` of a frame, as Xen stores it. */
  read(mfn: Ulong, slot: number): bigint {
    if (slot < 0 || slot >= ENTRIES_PER_TABLE) throw new SetupError(`slot ${slot} is not 0 … 511`, 'slot');
    const p = this.x.frames.page(frameOf(mfn));
    return p ? toBig(p[2 * slot]!, p[2 * slot + 1]!) : 0n;
  }

  /**
   * A guest load or store at va: a TLB hit is used as is (even if the page tables changed since:
   * `stale`), a miss walks the current page tables and fills the TLB; a fault is rc -EFAULT.
   */
  access(caller: Caller, va: bigint, write: boolean): AccessResult {
    const d = this.domainOf(caller);
    const v = this.vcpuOf(d, caller);
    const v48 = va48(va);
    const vpn = vpnOf(va, v48);
    // The walk as mfn * 2 + writable (walk.ts translate), -1 if va is not mapped; the TLB's entry likewise.
    const walked = translate(this.x.frames, v.guestTable, va, v48);
    const cached = v.tlb.get(vpn);
    if (cached !== undefined && (!write || cached & 1)) {
      const mfn = Math.floor(cached / 2);
      const writable = (cached & 1) === 1;
      return { rc: 0, mfn, writable, tlb_hit: true, stale: walked !== cached };
    }
    if (walked < 0) return { rc: EFAULT, tlb_hit: false, stale: false };
    const mfn = Math.floor(walked / 2);
    const rw = (walked & 1) === 1;
    if (write && !rw) {
      // A present read-only mapping: Xen may emulate the store (ptwr.ts); the TLB keeps it read-only.
      if (!emulatesRoWrites(d) || !ptwrWrite(this.x, d, v.guestTable, va)) return { rc: EFAULT, tlb_hit: false, stale: false };
    }
    v.tlb.set(vpn, walked);
    return { rc: 0, mfn, writable: rw, tlb_hit: false, stale: false };
  }

  /** Recount every reference from scratch; one line per mismatch or broken invariant. */
  audit(): string[] {
    return audit(this.x);
  }

  /** Frames destruction and the audit examined one by one so far (XenState.framesExamined). */
  get framesExamined(): number {
    return this.x.framesExamined;
  }

  /**
   * Bytes the frame table holds now (frames.ts: materialized chunks, uniform chunks, page
   * contents), and the most it held since this Hypervisor was made.
   */
  get frameTableBytes(): number {
    return this.x.frames.bytes;
  }
  get frameTablePeakBytes(): number {
    return this.x.frames.peakBytes;
  }

  /** The TLB-flush clock. */
  get clock(): number {
    return this.x.clock.now;
  }

  /** The vCPU's current base pointers (0 = none). */
  baseptrs(caller: Caller): { kernel: number; user: number } {
    const v = this.vcpuOf(this.domainOf(caller), caller);
    return { kernel: v.guestTable, user: v.guestTableUser };
  }

  /** The caller's domain and vCPU, as two look-ups (no object per call). Throws SetupError. */
  private domainOf(caller: Caller): Domain {
    const d = this.x.domains.get(caller.dom);
    if (!d) throw new SetupError(`no domain ${caller.dom} (create_domain first)`, 'dom');
    return d;
  }
  private vcpuOf(d: Domain, caller: Caller): Vcpu {
    const v = d.vcpus[caller.vcpu];
    if (!v) throw new SetupError(`domain ${caller.dom} has no vcpu ${caller.vcpu} (it has ${d.vcpus.length})`, 'vcpu');
    return v;
  }
}

/**
 * The call's result: the outcome's keys, in order, then the refusals. Spelled out, not spread:
 * `{ ...out, refusals }` over outcomes of three shapes was the slowest line of a replay.
 */
function withRefusals(rc: number, done: number | undefined, results: number[] | undefined, refusals: Refusal[]): CallResult {
  if (results === undefined) return done === undefined ? { rc, refusals } : { rc, done, refusals };
  return done === undefined ? { rc, results, refusals } : { rc, done, results, refusals };
}

/** Where in a call the entry run as `entry` of a multicall (or -1: the call itself) is. */
function atOf(entry: number): string {
  return entry < 0 ? '' : `calls[${entry}]`;
}

/** Where in a call: the enclosing path `at` ("calls[1]") joined with `s` ("ops[0]"). */
function where(at: string, s: string): string {
  return at && s ? `${at}.${s}` : at || s;
}

/** "pin_l1_table mfn 0x1010", "invlpg_multi linear_addr 0x9000 vcpumask [0,1]", … */
function describeOp(op: MmuextOp): string {
  // Built by concatenation: refused ops are common in long traces, and an array + join per op cost.
  let s = mmuextName(op.cmd) ?? `cmd ${op.cmd}`;
  if (op.mfn !== undefined) s += ` mfn ${hex(op.mfn)}`;
  if (op.src_mfn !== undefined) s += ` src_mfn ${hex(op.src_mfn)}`;
  if (op.linear_addr !== undefined) s += ` linear_addr ${hex(op.linear_addr)}`;
  if (op.nr_ents !== undefined) s += ` nr_ents ${op.nr_ents}`;
  if (op.vcpumask !== undefined) s += ` vcpumask ${op.vcpumask === null ? 'null' : `[${op.vcpumask.join(',')}]`}`;
  return s;
}
