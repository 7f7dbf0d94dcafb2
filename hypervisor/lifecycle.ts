// A domain's life: creation with its frames (populate_physmap and alloc_heap_pages' filtered flush),
// XENMEM_decrease_reservation (guest_remove_page: drops the allocation ref, never unpins — XSA-252),
// and death (domain_relinquish_resources: vcpu_destroy_pagetables, then relinquish_memory passes
// over L4, L3, L2 that unpin, drop allocation refs and force-devalidate to break reference cycles).

import { DOMID_SELF, EINVAL } from './abi.ts';
import { Domain } from './domain.ts';
import {
  F_ALLOCATED,
  F_PARTIAL,
  F_VALIDATED,
  hex08,
  hex16,
  IO_MFN_LIMIT,
  MAX_MACHINE_FRAMES,
  NO_OWNER,
  PGT_l2_page_table,
  PGT_l4_page_table,
} from './frames.ts';
import { destroyGdt } from './gdt.ts';
import { holdersOf } from './holders.ts';
import { dropPin, forceDevalidate, getPage, putPage, putPageAndType } from './page-type.ts';
import { hex } from './pte.ts';
import type { XenState } from './state.ts';
import { flushVcpus, needFlush } from './tlb.ts';
import { SetupError } from './types.ts';

/** The largest machine the simulator builds (frames.ts): its frame table costs what its domains use. */
export { MAX_MACHINE_FRAMES };
export const MAX_VCPUS = 128;

export interface DomainSpec {
  domid: number;
  vcpus: number;
  /** The machine frames [base, base+count) become the domain's, zero-filled and untyped. */
  base: number;
  count: number;
  /** dom0-like: may map I/O memory, use cache attributes and act on other domains. */
  privileged?: boolean;
  /** Xen's hardware domain (dom0): Xen emulates its writes to read-only L1 mappings. */
  hardware?: boolean;
  /** The writable_pagetables VM assist enabled (HYPERVISOR_vm_assist): the same emulation. */
  writablePagetables?: boolean;
}

export function createDomain(x: XenState, spec: DomainSpec): Domain {
  const { domid, vcpus, base, count } = spec;
  if (!Number.isInteger(domid) || domid < 0 || domid >= DOMID_SELF) {
    throw new SetupError(`domid ${domid} is not a domain id (0 … 0x7fef)`, 'domid');
  }
  if (x.domains.has(domid)) throw new SetupError(`domain ${domid} already exists`, 'domid');
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > MAX_VCPUS) {
    throw new SetupError(`vcpus must be 1 … ${MAX_VCPUS}, got ${vcpus}`, 'vcpus');
  }
  if (!Number.isInteger(count) || count < 1) throw new SetupError(`frames.count must be ≥ 1`, 'frames.count');
  if (base < IO_MFN_LIMIT) throw new SetupError(`frames below ${hex(IO_MFN_LIMIT)} are I/O memory`, 'frames.base');
  if (base + count > MAX_MACHINE_FRAMES) {
    throw new SetupError(`frames end at ${hex(base + count)}, past the machine's ${hex(MAX_MACHINE_FRAMES)}`, 'frames');
  }
  const f = x.frames;
  // Frames past the table's old end are pristine: free, zero, never stamped. Only the others need
  // checking and resetting, and a 64 GiB guest's frames are not all touched once more for nothing
  // (a first touch of memory is what creation costs).
  const pristine = Math.min(Math.max(base, f.size), base + count);
  f.grow(base + count);
  let newest = pristine < base + count ? 0 : -1;
  // A uniform chunk (frames.ts) is checked by one of its frames.
  for (let m = base; m < pristine; m = Math.max(m + 1, f.uniformEnd(m))) {
    if ((f.owner(m) !== NO_OWNER || f.count(m) !== 0) && !reclaimLeaked(x, m)) {
      throw new SetupError(`mfn ${hex(m)} already belongs to d${f.owner(m)}`, 'frames');
    }
    newest = Math.max(newest, f.tlbflushTimestamp(m));
  }
  // alloc_heap_pages: frames freed earlier may still be in some TLB; flush those CPUs first.
  for (const other of x.domains.values()) {
    const stale = other.vcpus.filter((v) => needFlush(v.tlbflushTime, newest, x.clock.now));
    flushVcpus(x.clock, x.obs, other.id, stale, 'realloc');
  }
  f.allocate(base, base + count, domid);
  // A free frame's type, type count and linear count are 0 already (freeDomheapPage, FrameTable.free,
  // reclaimLeaked): no fill for them.
  // A new domain's vCPUs start with clean TLBs: one tick marks them as flushed now.
  const d = new Domain(domid, vcpus, spec.privileged ?? false, ++x.clock.now);
  if (d.privileged) x.everPrivileged = true;
  d.hardware = spec.hardware ?? false;
  d.writablePagetables = spec.writablePagetables ?? false;
  d.ranges.push({ base, count });
  x.domains.set(domid, d);
  return d;
}

/**
 * A frame of a destroyed domain held only by the general references a release build of Xen leaks
 * (page-type.ts assertUnreachable). In Xen that domain stays a zombie and the frame is never free;
 * a trace that gives the frame to a new domain goes past what Xen can do, and the simulator lets
 * it, freeing the frame (stamped now) rather than refusing the trace.
 */
function reclaimLeaked(x: XenState, mfn: number): boolean {
  const f = x.frames;
  const leaked = x.leaked.get(mfn) ?? 0;
  if (leaked === 0 || x.domains.has(f.owner(mfn)) || f.count(mfn) !== leaked || f.typeCount(mfn) !== 0) return false;
  x.leaked.delete(mfn);
  x.m2p.delete(mfn);
  f.setCount(mfn, 0);
  f.setOwner(mfn, NO_OWNER);
  f.setFlags(mfn, 0);
  f.setType(mfn, 0);
  f.setLinear(mfn, 0);
  f.setTlbflushTimestamp(mfn, x.clock.now);
  f.dropContents(mfn);
  return true;
}

/** guest_remove_page for each mfn: drops PGC_allocated (the frame lives on while referenced). */
export function decreaseReservation(x: XenState, d: Domain, mfns: readonly number[]): number {
  const f = x.frames;
  let done = 0;
  for (const mfn of mfns) {
    if (!getPage(x, mfn, d.id)) {
      if (x.explain) x.diag.fail(`Could not get page for mfn ${mfn.toString(16)}`, `mfn ${hex(mfn)} is not d${d.id}'s`, mfn);
      break;
    }
    if (f.flags(mfn) & F_ALLOCATED) {
      f.setFlags(mfn, f.flags(mfn) & ~F_ALLOCATED);
      putPage(x, mfn);
    }
    putPage(x, mfn);
    done++;
  }
  return done;
}

/**
 * XENMEM_exchange's steal_page check: each frame must be the caller's and held by nothing but its
 * allocation reference (no PTE, pin or CR3). Returns 0, or -EINVAL with the index of the frame
 * that is still referenced. The exchange's replacement frames are not modelled: the guest keeps
 * its frames, which is all the guest-side question ("did an alias survive?") needs.
 */
export function memoryExchange(x: XenState, d: Domain, mfns: readonly number[]): { rc: number; failed?: number } {
  const f = x.frames;
  for (let i = 0; i < mfns.length; i++) {
    const m = mfns[i]!;
    const ok = f.valid(m) && f.owner(m) === d.id && f.count(m) === 1 && (f.flags(m) & F_ALLOCATED) !== 0;
    if (!ok) {
      if (x.explain) {
        x.diag.fail(
          `steal_page: mfn ${m.toString(16)} caf=${f.valid(m) ? hex08(f.caf(m)) : '-'}`,
          `mfn ${hex(m)} is still referenced (count ${f.valid(m) ? f.count(m) : 0}): it cannot be exchanged`,
          m,
        );
      }
      return { rc: EINVAL, failed: i };
    }
  }
  return { rc: 0 };
}

export function destroyDomain(x: XenState, d: Domain): void {
  const f = x.frames;
  for (const v of d.vcpus) {
    const k = v.guestTable;
    const u = v.guestTableUser;
    v.guestTable = 0;
    v.guestTableUser = 0;
    if (k) putPageAndType(x, k);
    if (u) putPageAndType(x, u);
    destroyGdt(x, v);
    v.tlb.clear();
  }
  // relinquish_memory's passes (domain.c), L4 first. A frame held by nothing but its allocation
  // reference (most of a big domain: never typed, never mapped) is freed as it is met, a run of
  // them at once (a uniform chunk by a few numbers, frames.ts); only the others (used frames) take
  // the passes and the leak check.
  const used: number[] = [];
  for (const r of d.ranges) {
    const limit = r.base + r.count;
    for (let m = r.base; m < limit; ) {
      if (f.owner(m) !== d.id) {
        m = Math.max(m + 1, f.uniformEnd(m));
      } else if (unused(x, m)) {
        const end = unusedRun(x, d.id, m, limit);
        f.free(m, end, x.clock.now);
        m = end;
      } else {
        x.framesExamined++;
        relinquish(x, d, m, PGT_l4_page_table);
        if (f.owner(m) === d.id) used.push(m);
        m++;
      }
    }
  }
  for (let level = PGT_l4_page_table - 1; level >= PGT_l2_page_table; level--) {
    for (const m of used) if (f.owner(m) === d.id) relinquish(x, d, m, level);
  }
  // FrameTable.free leaves the contents of what it freed: a free frame reads as zeroes.
  const stale: number[] = [];
  for (const m of f.writtenFrames()) if (f.owner(m) === NO_OWNER) stale.push(m);
  for (const m of stale) f.dropContents(m);
  // Chunks of frames all free again give their arrays back (frames.ts: memory follows use).
  for (const r of d.ranges) f.compact(r.base, r.base + r.count);
  keepM2p(x, d, used);
  x.domains.delete(d.id);
  // Nothing may be left: a frame still owned is a leak, unless another domain still maps it or a
  // release build of Xen leaks it too (page-type.ts assertUnreachable; the domain stays a zombie).
  for (const mfn of used) {
    if (f.owner(mfn) !== d.id) continue;
    const foreign = holdersOf(x, mfn).filter((h) => h.dom !== d.id);
    if (foreign.length + (x.leaked.get(mfn) ?? 0) !== f.count(mfn)) {
      throw new Error(`domain ${d.id} destroyed but mfn ${hex(mfn)} leaked (caf=${hex08(f.caf(mfn))} taf=${hex16(f.taf(mfn))})`);
    }
  }
}

/**
 * The M2P after a destruction (get_gpfn_from_mfn reads it): a freed frame's entry was reset
 * (page_alloc.c:1433 mark_page_free), also for the runs FrameTable.free freed at once; a frame
 * still held elsewhere (the domain a zombie) keeps the entry the builder gave it, which pfnOf
 * can no longer derive from a domain that is gone. Costs the M2P entries set by
 * MMU_MACHPHYS_UPDATE (one per such request) plus the frames left over.
 */
function keepM2p(x: XenState, d: Domain, leftover: readonly number[]): void {
  const f = x.frames;
  for (const m of x.m2p.keys()) if (f.owner(m) === NO_OWNER) x.m2p.delete(m);
  const base = d.ranges[0]!.base;
  for (const m of leftover) if (f.owner(m) === d.id && !x.m2p.has(m)) x.m2p.set(m, BigInt(m - base));
}

/** One frame in relinquish_memory's pass for `level`: unpin, drop the allocation, devalidate. */
function relinquish(x: XenState, d: Domain, mfn: number, level: number): void {
  const f = x.frames;
  if (!getPage(x, mfn, d.id)) return;
  dropPin(x, mfn);
  if (f.flags(mfn) & F_ALLOCATED) {
    f.setFlags(mfn, f.flags(mfn) & ~F_ALLOCATED);
    putPage(x, mfn);
  }
  if (f.type(mfn) === level && f.flags(mfn) & (F_VALIDATED | F_PARTIAL)) forceDevalidate(x, mfn);
  putPage(x, mfn);
}

/** Held by nothing but its allocation reference: never typed, mapped, pinned or a base pointer. */
function unused(x: XenState, mfn: number): boolean {
  const f = x.frames;
  return f.count(mfn) === 1 && f.flags(mfn) === F_ALLOCATED && f.typeCount(mfn) === 0;
}

/** The end of the run of d's unused frames from `from` (itself unused), at most `limit`. */
function unusedRun(x: XenState, dom: number, from: number, limit: number): number {
  const f = x.frames;
  let end = Math.max(from + 1, f.uniformEnd(from));
  while (end < limit && f.owner(end) === dom && unused(x, end)) end = Math.max(end + 1, f.uniformEnd(end));
  return Math.min(end, limit);
}
