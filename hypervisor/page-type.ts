// The page-type lifecycle: general references (get_page / put_page), type references
// (_get_page_type / _put_page_type), and promotion / demotion of L1–L4 tables. Models
// xen/arch/x86/mm.c (4.17): get_page, put_page, get_page_and_type_from_mfn, _get_page_type,
// _put_page_type, _put_final_page_type, validate_page / devalidate_page, promote_lN_table /
// demote_lN_table, put_old_guest_table, init_xen_l4_slots and fill_ro_mpt.
//
// Invariants kept here:
// - a frame's type changes only while its type count is 0, and the change clears PGT_validated;
// - before a frame takes a new type, every vCPU of its owner that has not flushed since the
//   frame's stamp is flushed (§1.7) — so no stale TLB entry survives into the new use;
// - a failed validation gives back every reference it took before the call returns, as Xen's
//   continuation does: an L1, or an L2–L4 failing at slot 0, ends as type none (validate_page's
//   type_info = 0); an L2–L4 failing further on goes PGT_partial, is old_guest_table, and ends as
//   its level's type with count 0 (put_old_guest_table) — except in the one case where a release
//   build of Xen 4.17 leaks (ASSERT_UNREACHABLE() in promote_l4_table, assertUnreachable);
// - the last type reference of a validated table demotes it, releasing its entries' references.

import {
  F_PARTIAL,
  F_PINNED,
  F_VALIDATED,
  hex16,
  MAX_MACHINE_FRAMES,
  NO_OWNER,
  PGT_l4_page_table,
  PGT_none,
  TYPE_NAMES,
  typeBitsHex,
} from './frames.ts';
import { getPageFromL1e, getPageFromLNe, l1DisallowMask, l1eFastPath, putPageFromL1e, putPageFromLNe } from './entries.ts';
import { EINVAL } from './abi.ts';
import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_GLOBAL,
  _PAGE_NX,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_USER,
  addFlagsHi,
  addFlagsLo,
  ENTRIES_PER_TABLE,
  guestAdjustFlags,
  hex,
  isGuestL4Slot,
  pteFlags,
  pteHi,
  pteLo,
  pteMfn,
  toBig,
} from './pte.ts';
import { filterNeedFlush, flushVcpus, needFlush } from './tlb.ts';
import type { Domain } from './domain.ts';
import type { XenState } from './state.ts';

export const TYPE_COUNT_MAX = 0xffffffff;

/** INVALID_M2P_ENTRY (asm/mm.h): the M2P entry of a frame no domain holds. */
const INVALID_M2P_ENTRY = 0xffffffffffffffffn;

/**
 * The pfn Xen prints beside an mfn (get_gpfn_from_mfn): its M2P entry, as MMU_MACHPHYS_UPDATE set
 * it, else as the domain builder set it (the index in the owner's memory); a free frame's entry
 * was reset when it was freed (page_alloc.c:1433 mark_page_free).
 */
export function pfnOf(x: XenState, mfn: number): bigint | number {
  const owner = x.frames.valid(mfn) ? x.frames.owner(mfn) : NO_OWNER;
  if (owner === NO_OWNER) return INVALID_M2P_ENTRY;
  const set = x.m2p.get(mfn);
  if (set !== undefined) return set;
  // A domain's frames are the one range createDomain gave it, pfn 0 at its base; a destroyed
  // domain's frames still held elsewhere had their entries written down (lifecycle.ts keepM2p).
  const d = x.domains.get(owner);
  return d ? mfn - d.ranges[0]!.base : mfn;
}

/** get_page(pg, d): one general reference, if the frame is allocated to d. */
export function getPage(x: XenState, mfn: number, dom: number): boolean {
  const f = x.frames;
  // Xen also checks the count is not 0, for a frame being freed under it. Here an owned frame
  // always has a reference (the last put_page clears the owner); mfn_valid is the frame table's
  // own condition (its chunk index: frames.ts).
  if (!f.valid(mfn) || f.owner(mfn) !== dom) return false;
  f.setCount(mfn, f.count(mfn) + 1);
  return true;
}

/** put_page: drops a general reference; the last one frees the frame to the heap. */
export function putPage(x: XenState, mfn: number): void {
  const f = x.frames;
  const c = f.count(mfn);
  if (c === 0) throw new Error(`put_page underflow on mfn ${hex(mfn)}`);
  f.setCount(mfn, c - 1);
  if (c === 1) freeDomheapPage(x, mfn);
}

/** free_domheap_pages → free_heap_pages: the frame leaves its owner, stamped for the realloc flush. */
function freeDomheapPage(x: XenState, mfn: number): void {
  const f = x.frames;
  if (f.typeCount(mfn) !== 0) {
    throw new Error(`mfn ${hex(mfn)} freed with type count ${f.typeCount(mfn)} (taf=${hex16(f.taf(mfn))})`);
  }
  f.setOwner(mfn, NO_OWNER);
  x.m2p.delete(mfn);
  f.setType(mfn, PGT_none);
  f.setFlags(mfn, 0);
  f.setLinear(mfn, 0);
  f.setTlbflushTimestamp(mfn, x.clock.now);
  f.dropContents(mfn);
}

/**
 * L1–L4, as getPageType asks for a type and putPageType finds one: never type none, which
 * neither asks for nor holds a type reference.
 */
function isTableType(type: number): boolean {
  return type <= PGT_l4_page_table;
}

/**
 * _get_page_type(pg, type): one type reference, changing the type at count 0 (after the filtered
 * TLB flush) and validating on the 0→1 transition. Returns 0 or -errno.
 */
export function getPageType(x: XenState, mfn: number, type: number): number {
  const f = x.frames;
  const count = f.typeCount(mfn);
  const cur = f.type(mfn);
  if (count === TYPE_COUNT_MAX) {
    if (x.explain) x.diag.fail(`Type count overflow on mfn ${mfn.toString(16)}`, undefined, mfn);
    return EINVAL;
  }
  if (count === 0) {
    if (cur !== type) {
      typeChangeFlush(x, mfn);
      f.setType(mfn, type);
      f.setFlags(mfn, f.flags(mfn) & ~F_VALIDATED);
    }
    f.setTypeCount(mfn, 1);
    // A table at count 0 is never validated (its last type reference demoted it): it validates
    // now. Other types need no validation (Xen's alloc_page_type does nothing for them).
    if (isTableType(type)) {
      // mm.c:3113: validation starts by zeroing nr_validated_ptes, partial_flags and
      // linear_pt_count, which share tlbflush_timestamp's word (asm/mm.h struct page_info): a table
      // that fails at its first entry is left with stamp 0.
      f.setTlbflushTimestamp(mfn, 0);
      const rc = promote(x, mfn, type, 0);
      if (rc !== 0) return validationFailed(x, mfn, type, rc);
    }
    f.setFlags(mfn, f.flags(mfn) | F_VALIDATED);
    return 0;
  }
  if (cur !== type) {
    // The linear-pagetable path probes (have L2, want L1), (L3, L2), (L4, L3) without a message.
    const silentProbe = cur === type + 1 && type <= 3;
    if (!silentProbe && x.explain) {
      x.diag.fail(
        `Bad type (saw ${f.tafHex(mfn)} != exp ${typeBitsHex(type)}) for mfn ${mfn.toString(16)} ` +
          `(pfn ${pfnOf(x, mfn).toString(16)})`,
        `Bad type (saw ${TYPE_NAMES[cur]} != exp ${TYPE_NAMES[type]}) for mfn ${hex(mfn)}`,
        mfn,
      );
    }
    return EINVAL;
  }
  if (!(f.flags(mfn) & F_VALIDATED)) {
    if (f.flags(mfn) & F_PARTIAL) return resumeValidation(x, mfn, type);
    // Another CPU would be validating it; with atomic validation this cannot happen.
    throw new Error(`mfn ${hex(mfn)} in use but not validated (taf=${hex16(f.taf(mfn))})`);
  }
  f.setTypeCount(mfn, count + 1);
  return 0;
}

/** _put_page_type: drops a type reference; the last one demotes a table and stamps the frame. */
export function putPageType(x: XenState, mfn: number): void {
  const f = x.frames;
  const count = f.typeCount(mfn);
  if (count === 0) throw new Error(`put_page_type underflow on mfn ${hex(mfn)}`);
  if (count === 1) {
    const type = f.type(mfn);
    if (isTableType(type) && f.flags(mfn) & F_VALIDATED) {
      f.setFlags(mfn, f.flags(mfn) & ~F_VALIDATED);
      demote(x, mfn, type);
    }
    // _put_final_page_type: stamp, so the next type change knows which TLBs may be stale.
    f.setTlbflushTimestamp(mfn, x.clock.now);
  }
  f.setTypeCount(mfn, count - 1);
}

/**
 * get_page_and_type_from_mfn (mm.c:1063): a general then a type reference, or neither — except
 * that a table left as old_guest_table keeps its general reference for the clean-up (mm.c:1115).
 */
export function getPageAndType(x: XenState, mfn: number, dom: number, type: number): number {
  if (!getPage(x, mfn, dom)) {
    if (x.explain) x.diag.fail(`Could not get page ref for mfn ${mfn.toString(16)}`, undefined, mfn);
    return EINVAL;
  }
  const rc = getPageType(x, mfn, type);
  if (rc !== 0 && mfn !== x.oldGuestTable) putPage(x, mfn);
  return rc;
}

/**
 * validate_page's failure path (mm.c:2645–2662): type_info = 0 (type none, count 0), unless the
 * table is old_guest_table: then it keeps its type reference, takes a general one (get_page_light)
 * and goes PGT_partial, for put_old_guest_table to finish.
 */
function validationFailed(x: XenState, mfn: number, type: number, rc: number): number {
  const f = x.frames;
  if (x.explain) {
    x.diag.fail(
      `Error while validating mfn ${mfn.toString(16)} (pfn ${pfnOf(x, mfn).toString(16)}) for type ` +
        `${typeBitsHex(type)}: caf=${f.cafHex(mfn)} taf=${f.tafHex(mfn)}`,
    );
  }
  if (mfn !== x.oldGuestTable) {
    f.partial.delete(mfn);
    f.setType(mfn, PGT_none);
    f.setTypeCount(mfn, 0);
  } else {
    f.setCount(mfn, f.count(mfn) + 1);
    f.setFlags(mfn, f.flags(mfn) | F_PARTIAL);
  }
  return rc;
}

/**
 * _get_page_type on a PGT_partial table of the wanted type (mm.c:2977–2988): the caller takes the
 * validation over from nr_validated_ptes, and the general reference that went with PGT_partial is
 * put (mm.c:3129). Only an L2 can be found partial here (the leak of assertUnreachable); L3/L4
 * tables go partial only as old_guest_table, and are cleaned up before the call returns.
 */
function resumeValidation(x: XenState, mfn: number, type: number): number {
  const f = x.frames;
  const p = f.partial.get(mfn)!;
  if (p.partialSet) throw new Error(`mfn ${hex(mfn)}: resuming a validation through a partial entry`);
  f.partial.delete(mfn);
  f.setFlags(mfn, f.flags(mfn) & ~F_PARTIAL);
  const rc = promote(x, mfn, type, p.nr);
  if (rc !== 0) validationFailed(x, mfn, type, rc);
  else f.setFlags(mfn, f.flags(mfn) | F_VALIDATED);
  putPage(x, mfn);
  return rc;
}

/**
 * put_old_guest_table (mm.c:3164), run by the continuation before the guest sees the result: the
 * partially validated table's type (as _put_page_type with PTF_partial_set) and the general
 * reference old_guest_table held.
 */
export function putOldGuestTable(x: XenState): void {
  const mfn = x.oldGuestTable;
  if (mfn === 0) return;
  x.oldGuestTable = 0;
  putPartialType(x, mfn);
  putPage(x, mfn);
}

/**
 * _put_page_type(page, PTF_partial_set) (mm.c:2797–2831) on a PGT_partial table: devalidate from
 * nr_validated_ptes (the entry at nr first, if it holds a partial reference: put_pt_page), stamp,
 * type count 1 → 0, and put the general reference of PGT_partial. Every caller has a PGT_partial
 * table: old_guest_table is always left partial (validationFailed), and so is the lower table a
 * partial reference points at (it was old_guest_table before).
 */
function putPartialType(x: XenState, mfn: number): void {
  const f = x.frames;
  const p = f.partial.get(mfn)!;
  f.partial.delete(mfn);
  f.setFlags(mfn, f.flags(mfn) & ~F_PARTIAL);
  // It failed at a present entry past slot 0: it has contents.
  const page = f.page(mfn)!;
  if (p.partialSet) {
    const lower = pteMfn(page[2 * p.nr]!, page[2 * p.nr + 1]!);
    putPartialType(x, lower);
    putPage(x, lower);
  }
  releaseEntries(x, mfn, f.type(mfn), page, p.nr);
  f.setTlbflushTimestamp(mfn, x.clock.now);
  f.setTypeCount(mfn, 0);
  putPage(x, mfn);
}

export function putPageAndType(x: XenState, mfn: number): void {
  putPageType(x, mfn);
  putPage(x, mfn);
}

/**
 * test_and_clear_bit(_PGT_pinned) and, when the bit was set, put_page_and_type for the pin's
 * references: MMUEXT_UNPIN_TABLE and relinquish_memory both do this. False if not pinned.
 */
export function dropPin(x: XenState, mfn: number): boolean {
  const f = x.frames;
  if (!(f.flags(mfn) & F_PINNED)) return false;
  f.setFlags(mfn, f.flags(mfn) & ~F_PINNED);
  putPageAndType(x, mfn);
  return true;
}

/** The flush in _get_page_type on a type change: the owner's dirty vCPUs not flushed since the stamp. */
function typeChangeFlush(x: XenState, mfn: number): void {
  const d = x.domains.get(x.frames.owner(mfn));
  if (!d) return;
  const stamp = x.frames.tlbflushTimestamp(mfn);
  // Usually every vCPU has flushed since the frame's stamp: then there is nothing to filter (a
  // first pin types hundreds of thousands of fresh frames writable, each through here).
  let any = false;
  for (const v of d.vcpus) if (needFlush(v.tlbflushTime, stamp, x.clock.now)) any = true;
  if (!any) return;
  const stale = filterNeedFlush(x.clock, d.vcpus, stamp);
  flushVcpus(x.clock, x.obs, d.id, stale, 'type_change', mfn);
}

/**
 * promote_lN_table: takes the references of every present entry from `start` on (L4: guest slots
 * only), depth first, and returns the first failure's error.
 */
function promote(x: XenState, mfn: number, level: number, start: number): number {
  const f = x.frames;
  const page = f.page(mfn);
  const owner = f.owner(mfn);
  if (page) {
    const d = x.domains.get(owner)!;
    const rc = level === 1 ? promoteL1(x, mfn, page, d) : promoteLN(x, mfn, level, page, d, start);
    if (rc !== 0) return rc;
  }
  if (level === 4) initXenL4Slots(x, mfn);
  return 0;
}

/**
 * A failed entry: Xen's message and the chain link. promote_l1_table puts the references taken so
 * far itself (mm.c:1369); promote_l{2,3,4}_table failing past slot 0 leave them to the clean-up:
 * nr_validated_ptes = i, and the table becomes old_guest_table (mm.c:1493, 1597, 1788).
 */
function promoteFailed(
  x: XenState,
  mfn: number,
  level: number,
  page: Uint32Array,
  i: number,
  lo: number,
  hi: number,
  rc: number,
): number {
  if (x.explain) {
    x.diag.fail(`Failure ${rc} in promote_l${level}_table: slot ${hex(i)}`);
    x.diag.chain.push({ mfn, level, slot: i, val: toBig(lo, hi) });
  }
  if (level === 1) releaseEntries(x, mfn, level, page, i);
  else if (i > 0) markPartial(x, mfn, i, pteMfn(lo, hi));
  return rc;
}

/**
 * promote_l{2,3,4}_table's `if ( i )` branch. old_guest_table is 0 here, or the table this entry
 * points at, which failed past its own slot 0: the table takes over its general reference
 * (PTF_partial_set, mm.c:1612, 1807). Or, under an L4 only, an L2 below an L3 that failed at its
 * slot 0: ASSERT_UNREACHABLE() (assertUnreachable). (An L2's entries are L1s, which never set
 * old_guest_table; an L3's are L2s, which set it to themselves: promote_l3_table's assertion,
 * mm.c:1618, cannot fail here.)
 */
function markPartial(x: XenState, mfn: number, i: number, target: number): void {
  const old = x.oldGuestTable;
  // An entry may name mfn 0 (I/O memory), which as old_guest_table means none: test old first.
  const partialSet = old !== 0 && old === target;
  if (old !== 0 && !partialSet) assertUnreachable(x, old);
  x.frames.partial.set(mfn, { nr: i, partialSet });
  x.oldGuestTable = mfn;
}

/**
 * ASSERT_UNREACHABLE() in promote_l4_table's failure path (mm.c:1813): old_guest_table holds a
 * lower table that is not this entry's — an L2 that failed past its slot 0 under an L3 that
 * failed at its slot 0. A debug build stops here. A release build overwrites old_guest_table:
 * the L2 stays PGT_partial with its validated entries and its type reference (until it is
 * validated again or its domain dies), and the general reference old_guest_table held is never
 * put.
 */
function assertUnreachable(x: XenState, lost: number): void {
  if (x.explain) {
    x.diag.fail(`Assertion 'unreachable' failed at arch/x86/mm.c:1813`);
    x.diag.stop ??= 'ASSERT_UNREACHABLE() in promote_l4_table (xen/arch/x86/mm.c:1813): a debug build stops here';
  }
  x.leaked.set(lost, (x.leaked.get(lost) ?? 0) + 1);
}

/**
 * adjust_guest_lNe: the flags a PV guest's entries get from Xen. Stored only when they change (a
 * table validated before has them already): a store per entry costs here.
 */
function adjustEntry(page: Uint32Array, i: number, level: number, lo: number, hi: number): void {
  const add = guestAdjustFlags(level, pteFlags(lo, hi));
  const newLo = addFlagsLo(lo, add);
  if (newLo !== page[2 * i]) page[2 * i] = newLo;
  if (add > 0xfff) page[2 * i + 1] = addFlagsHi(hi, add);
}

/**
 * promote_l1_table's loop: the hot loop of validation (512 entries a table, hundreds of tables a
 * tree). Most entries take get_page_from_l1e's fast path; the full one decides (and explains) the
 * rest.
 */
function promoteL1(x: XenState, mfn: number, page: Uint32Array, d: Domain): number {
  const f = x.frames;
  const disallow = l1DisallowMask(d);
  for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
    const lo = page[2 * i]!;
    if (!(lo & _PAGE_PRESENT)) continue;
    const hi = page[2 * i + 1]!;
    // get_page_from_l1e's fast path, called here directly: the full call is too big to inline.
    let rc = 0;
    if ((pteFlags(lo, hi) & disallow) !== 0 || !l1eFastPath(f, pteMfn(lo, hi), lo, d.id)) {
      rc = getPageFromL1e(x, lo, hi, d, d, d);
      if (rc < 0) return promoteFailed(x, mfn, 1, page, i, lo, hi, rc);
    }
    // rc > 0: l1e_flip_flags (mm.c:1354), an I/O mapping's cache attributes, stored as Xen set them.
    // An entry with USER and GLOBAL gets nothing from adjust_guest_l1e (with GUEST_KERNEL, nothing;
    // without, GLOBAL|USER, which it has): most entries, once a table was validated before. The
    // call per entry cost a fifth of a pin.
    if (rc !== 0 || (lo & USER_GLOBAL) !== USER_GLOBAL) adjustEntry(page, i, 1, lo ^ rc, hi);
  }
  return 0;
}

const USER_GLOBAL = _PAGE_USER | _PAGE_GLOBAL;

/** promote_l{2,3,4}_table's loop from nr_validated_ptes (L4: guest slots only). */
function promoteLN(x: XenState, mfn: number, level: number, page: Uint32Array, d: Domain, start: number): number {
  for (let i = start; i < ENTRIES_PER_TABLE; i++) {
    const lo = page[2 * i]!;
    if (!(lo & _PAGE_PRESENT)) continue;
    if (level === 4 && !isGuestL4Slot(i)) continue;
    const hi = page[2 * i + 1]!;
    const rc = getPageFromLNe(x, lo, hi, mfn, level, d);
    if (rc !== 0) return promoteFailed(x, mfn, level, page, i, lo, hi, rc);
    adjustEntry(page, i, level, lo, hi);
  }
  return 0;
}

/** demote_lN_table: puts the references of every present entry (the table's own self-map aside). */
function demote(x: XenState, mfn: number, level: number): void {
  const page = x.frames.page(mfn);
  if (page) releaseEntries(x, mfn, level, page, ENTRIES_PER_TABLE);
}

function releaseEntries(x: XenState, mfn: number, level: number, page: Uint32Array, end: number): void {
  // put_page_from_lNe skips a non-present entry itself; skipping it here saves the call.
  if (level === 1) {
    for (let i = 0; i < end; i++) {
      const lo = page[2 * i]!;
      if (lo & _PAGE_PRESENT) putPageFromL1e(x, lo, page[2 * i + 1]!);
    }
    return;
  }
  for (let i = 0; i < end; i++) {
    const lo = page[2 * i]!;
    if (!(lo & _PAGE_PRESENT) || (level === 4 && !isGuestL4Slot(i))) continue;
    putPageFromLNe(x, lo, page[2 * i + 1]!, mfn, level);
  }
}

/** Xen's linear self-map slot (LINEAR_PT_VIRT_START = 0xffff810000000000). */
export const LINEAR_PT_SLOT = 258;
/** Xen's read-only M2P slot (RO_MPT_VIRT_START = 0xffff800000000000). */
export const RO_MPT_SLOT = 256;
/**
 * The frame of Xen's RO-M2P L3 (x86_64/mm.c:529, l3_ro_mpt). Xen's own frames are not in the
 * simulated RAM: the simulator names this one just past it, at MAX_MACHINE_FRAMES.
 */
export const XEN_L3_RO_MPT_MFN = MAX_MACHINE_FRAMES;
/** __PAGE_HYPERVISOR_RW (asm/page.h:355): P|RW|A|D|NX. */
const PAGE_HYPERVISOR_RW = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_NX;
/** idle_pg_table's RO-M2P entry, __PAGE_HYPERVISOR_RO | _PAGE_USER (x86_64/mm.c:533): P|A|NX|U. */
const PAGE_RO_MPT = _PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_NX | _PAGE_USER;

function writeL4e(page: Uint32Array, slot: number, mfn: number, flags: number): void {
  page[2 * slot] = pteLo(mfn, flags);
  page[2 * slot + 1] = pteHi(mfn, flags);
}

/**
 * init_xen_l4_slots (mm.c:1644), as promote_l4_table calls it (mm.c:1829) without m2p_strict:
 * Xen owns slots 256–271, whatever the guest wrote. Slot 256 (RO M2P) is left empty — it is
 * filled when the table becomes a kernel base (fillRoMpt) — and slot 258 is the table's own
 * linear map with __PAGE_HYPERVISOR_RW. The other Xen mappings (MMCFG, per-domain area, Xen text,
 * directmap) point at frames the simulator does not model: it leaves them empty.
 */
function initXenL4Slots(x: XenState, mfn: number): void {
  const page = x.frames.pageForWrite(mfn);
  page.fill(0, 2 * 256, 2 * 272);
  writeL4e(page, LINEAR_PT_SLOT, mfn, PAGE_HYPERVISOR_RW);
}

/**
 * fill_ro_mpt (mm.c:1721), which new_guest_cr3 calls without m2p_strict (mm.c:3351): an L4 that
 * becomes a kernel base gets the read-only M2P in slot 256. Xen writes it only if the slot is
 * empty; here it is empty or holds this entry already (init_xen_l4_slots emptied it, a guest
 * cannot write Xen's slots, and zap_ro_mpt is m2p_strict's), so the write is unconditional.
 */
export function fillRoMpt(x: XenState, mfn: number): void {
  writeL4e(x.frames.pageForWrite(mfn), RO_MPT_SLOT, XEN_L3_RO_MPT_MFN, PAGE_RO_MPT);
}

/**
 * relinquish_memory's forced devalidation: the table stops being validated and gives back its
 * entries' references although others still hold type references to it (they put them later,
 * without a second demotion). This is what breaks reference cycles at domain death.
 */
export function forceDevalidate(x: XenState, mfn: number): void {
  const f = x.frames;
  // A partially validated table: its validated entries, and the type and general references of
  // PGT_partial (domain.c relinquish_memory: `if ( x & PGT_partial )`).
  if (f.flags(mfn) & F_PARTIAL) return putPartialType(x, mfn);
  f.setFlags(mfn, f.flags(mfn) & ~F_VALIDATED);
  demote(x, mfn, f.type(mfn));
}
