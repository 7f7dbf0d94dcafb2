// HYPERVISOR_mmu_update (hypercall 1). Models do_mmu_update in xen/arch/x86/mm.c: commands by
// ptr & 7, in order, stopping at the first failure with *pdone; checked updates of validated
// tables, plain writes to everything else that can take a writable type; and the XSA-286 flush of
// the page-table owner's vCPUs after any L2–L4 update (L1 updates never flush). Also
// mod_l1_entry / mod_l{2,3,4}_entry with their fast path (update_va_mapping uses mod_l1_entry too).

import { EINVAL, ENOSYS, EPERM, ESRCH, MMU } from './abi.ts';
import type { Domain } from './domain.ts';
import { getPageFromL1e, getPageFromLNe, l1DisallowMask, putPageFromL1e, putPageFromLNe } from './entries.ts';
import {
  PGT_l1_page_table,
  PGT_l4_page_table,
  PGT_writable_page,
} from './frames.ts';
import { getPage, getPageType, putOldGuestTable, putPage, putPageType } from './page-type.ts';
import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  addFlagsHi,
  addFlagsLo,
  changedBeyondFastPath,
  guestAdjustFlags,
  hex,
  hiOf,
  isGuestL4Slot,
  LN_DISALLOW_MASK,
  loOf,
  MFN_LIMIT,
  pteFlags,
} from './pte.ts';
import type { XenState } from './state.ts';
import { flushVcpus } from './tlb.ts';
import { getPgOwner, xsmMmuUpdate } from './foreign.ts';
import type { MmuUpdateReq } from './types.ts';

export interface MmuUpdateOutcome {
  rc: number;
  done: number;
  /** Index of the failing request, when rc < 0 and a request failed. */
  failed?: number;
}

export function doMmuUpdate(
  x: XenState,
  d: Domain,
  reqs: readonly MmuUpdateReq[],
  foreigndom: number,
  onEntry: () => void,
): MmuUpdateOutcome {
  let ptOwner = d;
  const pfd = foreigndom >>> 16;
  if (pfd !== 0) {
    const pt = x.domains.get(pfd - 1);
    if (!pt) return { rc: ESRCH, done: 0 };
    // No privilege check here (mm.c:4014): xsm_mmu_update asks per request.
    ptOwner = pt;
  }
  const pgOwner = getPgOwner(x, d, foreigndom & 0xffff);
  if (typeof pgOwner === 'number') return { rc: pgOwner, done: 0 };

  let done = 0;
  let rc = 0;
  let flushLinear = false;
  for (; done < reqs.length; done++) {
    onEntry();
    const req = reqs[done]!;
    // ptr as two 32-bit halves: command in bits 2:0, slot in 11:3, frame in 51:12 (else -1).
    const pLo = loOf(req.ptr);
    const pHi = hiOf(req.ptr);
    const cmd = pLo & 7;
    const mfn = pHi < MFN_LIMIT / 0x100000 ? (pLo >>> 12) + pHi * 0x100000 : -1;
    switch (cmd) {
      case MMU.NORMAL_PT_UPDATE:
      case MMU.PT_UPDATE_PRESERVE_AD:
      case MMU.PT_UPDATE_NO_TRANSLATE: {
        const slot = (pLo & 0xfff) >>> 3;
        // mm.c:4076: the XSM check comes before the frame is looked at.
        if (!xsmMmuUpdate(x, d, ptOwner, pgOwner)) rc = EPERM;
        else rc = ptUpdate(x, d, ptOwner, pgOwner, mfn, slot, req.val, cmd === MMU.PT_UPDATE_PRESERVE_AD);
        if (rc > 0) {
          flushLinear = true;
          rc = 0;
        }
        break;
      }
      case MMU.MACHPHYS_UPDATE:
        if (ptOwner !== d || !xsmMmuUpdate(x, d, null, pgOwner)) rc = EPERM;
        else rc = machphysUpdate(x, pgOwner, mfn, req.val);
        break;
      default:
        if (x.explain) x.diag.fail(`Invalid page update command ${cmd}`);
        rc = ENOSYS;
    }
    if (rc !== 0) break;
  }
  // XSA-286: other vCPUs must not keep using the old L2–L4 entries through Xen's linear map.
  if (flushLinear) flushVcpus(x.clock, x.obs, ptOwner.id, ptOwner.vcpus, 'l2plus_update');
  // After the flush, the continuation's put_old_guest_table (mm.c:4249, 3981) cleans up a
  // partially validated table.
  putOldGuestTable(x);
  return rc === 0 ? { rc, done } : { rc, done, failed: done };
}

/** One NORMAL / PRESERVE_AD / NO_TRANSLATE request. Returns 1 for a successful L2–L4 update. */
function ptUpdate(
  x: XenState,
  d: Domain,
  ptOwner: Domain,
  pgOwner: Domain,
  mfn: number,
  slot: number,
  val: bigint,
  preserveAD: boolean,
): number {
  if (mfn < 0 || !getPage(x, mfn, ptOwner.id)) {
    if (x.explain) x.diag.fail('Could not get page for normal update', `mfn ${hex(mfn < 0 ? 0 : mfn)} is not d${ptOwner.id}'s`);
    return EINVAL;
  }
  const f = x.frames;
  const lo = loOf(val);
  const hi = hiOf(val);
  let rc = EINVAL;
  const type = f.type(mfn);
  if (f.locked(mfn)) {
    // page_lock() succeeded: a checked update through the frame's current type.
    if (type === PGT_l1_page_table) {
      rc = modL1Entry(x, mfn, slot, lo, hi, ptOwner, pgOwner, preserveAD, d);
    } else if (type <= PGT_l4_page_table && type > PGT_l1_page_table) {
      if (pgOwner !== ptOwner) {
        if (x.explain) x.diag.fail(`L${type} update with a foreign data owner d${pgOwner.id}`);
      } else {
        rc = modLNEntry(x, mfn, slot, lo, hi, type, ptOwner, preserveAD);
        if (rc === 0) rc = 1;
      }
    } else if (type === PGT_writable_page) {
      plainWrite(x, mfn, slot, lo, hi);
      rc = 0;
    } else {
      if (x.explain) x.diag.fail(`mfn ${mfn.toString(16)} has type ${type} which mmu_update cannot write`);
    }
  } else if (getPageType(x, mfn, PGT_writable_page) === 0) {
    // Not a live table: an ordinary memory write through a transient writable type.
    plainWrite(x, mfn, slot, lo, hi);
    putPageType(x, mfn);
    rc = 0;
  }
  putPage(x, mfn);
  return rc;
}

function plainWrite(x: XenState, mfn: number, slot: number, lo: number, hi: number): void {
  const page = x.frames.pageForWrite(mfn);
  page[2 * slot] = lo;
  page[2 * slot + 1] = hi;
}

/** MMU_MACHPHYS_UPDATE: M2P[mfn] = gpfn, for a frame of the FD's (the PT owner must be the caller). */
function machphysUpdate(x: XenState, pgOwner: Domain, mfn: number, gpfn: bigint): number {
  if (mfn < 0 || !getPage(x, mfn, pgOwner.id)) {
    if (x.explain) x.diag.fail('Could not get page for mach->phys update', undefined, mfn < 0 ? undefined : mfn);
    return EINVAL;
  }
  x.m2p.set(mfn, gpfn);
  putPage(x, mfn);
  return 0;
}

/**
 * UPDATE_ENTRY → update_intpte (pv/mm.h:48): the store, with PRESERVE_AD OR-ing in the A/D bits of
 * the entry it replaces (pv/mm.h:64) whether or not the new entry is present.
 */
function updateEntry(page: Uint32Array, slot: number, lo: number, hi: number, preserveAD: boolean): void {
  const old = page[2 * slot]!;
  page[2 * slot] = (preserveAD ? lo | (old & (_PAGE_ACCESSED | _PAGE_DIRTY)) : lo) >>> 0;
  page[2 * slot + 1] = hi >>> 0;
}

/** prepareEntry's answer when the caller must take the new entry's references (else 0 or an errno). */
const NEEDS_REFS = 1;
/** The entry as Xen will store it, after prepareEntry (reused: no allocation per entry). */
const adjusted = { lo: 0, hi: 0 };

/**
 * The common start of mod_lN_entry for a present new entry: its flags checked against the level's
 * disallow mask (-EINVAL, "Bad Ln flags"), Xen's own flags added (adjust_guest_lNe), and a change
 * within the fast-path whitelist written at once (0, no references). NEEDS_REFS otherwise, with
 * the adjusted entry in `adjusted`.
 */
function prepareEntry(x: XenState, level: number, lo: number, hi: number, disallow: number, page: Uint32Array, slot: number, oLo: number, oHi: number, preserveAD: boolean): number {
  const flags = pteFlags(lo, hi);
  const bad = flags & disallow;
  if (bad !== 0) {
    if (x.explain) x.diag.fail(`Bad L${level} flags ${bad.toString(16)}`, `Bad L${level} flags ${hex(bad)}`);
    return EINVAL;
  }
  const add = guestAdjustFlags(level, flags);
  adjusted.lo = addFlagsLo(lo, add);
  adjusted.hi = addFlagsHi(hi, add);
  if (changedBeyondFastPath(oLo, oHi, adjusted.lo, adjusted.hi)) return NEEDS_REFS;
  updateEntry(page, slot, adjusted.lo, adjusted.hi, preserveAD);
  return 0;
}

/**
 * mod_l1_entry (mm.c:2141): a checked write of one L1 slot. adjust_guest_l1e first; changes
 * confined to the fast-path whitelist take no references; otherwise the new references, the I/O
 * cache-attribute flip (l1e_flip_flags, mm.c:2221), the write, then the old entry's references are
 * put. `curr` is the calling domain (update_va_mapping's and mmu_update's caller).
 */
export function modL1Entry(
  x: XenState,
  l1mfn: number,
  slot: number,
  lo: number,
  hi: number,
  ptOwner: Domain,
  pgOwner: Domain,
  preserveAD: boolean,
  curr: Domain,
): number {
  const page = x.frames.pageForWrite(l1mfn);
  const oLo = page[2 * slot]!;
  const oHi = page[2 * slot + 1]!;
  if (lo & _PAGE_PRESENT) {
    const r = prepareEntry(x, 1, lo, hi, l1DisallowMask(ptOwner), page, slot, oLo, oHi, preserveAD);
    if (r !== NEEDS_REFS) return r;
    lo = adjusted.lo;
    hi = adjusted.hi;
    const rc = getPageFromL1e(x, lo, hi, ptOwner, pgOwner, curr);
    if (rc < 0) return rc;
    lo ^= rc;
  }
  updateEntry(page, slot, lo, hi, preserveAD);
  putPageFromL1e(x, oLo, oHi);
  return 0;
}

/** mod_l{2,3,4}_entry (mm.c:2249, 2313, 2375): as mod_l1_entry; Xen's L4 slots are refused. */
export function modLNEntry(
  x: XenState,
  mfn: number,
  slot: number,
  lo: number,
  hi: number,
  level: number,
  d: Domain,
  preserveAD: boolean,
): number {
  if (level === 4 && !isGuestL4Slot(slot)) {
    if (x.explain) x.diag.fail(`L4 update in Xen-private area, slot ${hex(slot)}`);
    return EINVAL;
  }
  const page = x.frames.pageForWrite(mfn);
  const oLo = page[2 * slot]!;
  const oHi = page[2 * slot + 1]!;
  if (lo & _PAGE_PRESENT) {
    const r = prepareEntry(x, level, lo, hi, LN_DISALLOW_MASK, page, slot, oLo, oHi, preserveAD);
    if (r !== NEEDS_REFS) return r;
    lo = adjusted.lo;
    hi = adjusted.hi;
    const rc = getPageFromLNe(x, lo, hi, mfn, level, d);
    if (rc !== 0) return rc;
  }
  updateEntry(page, slot, lo, hi, preserveAD);
  putPageFromLNe(x, oLo, oHi, mfn, level);
  return 0;
}
