// Entry rules: what one present page-table entry may point at, and the references it holds.
// Models xen/arch/x86/mm.c (4.17): get_page_from_l1e (line 859, with its I/O branch) /
// put_page_from_l1e, get_page_from_l{2,3,4}e / put_page_from_l{2,3,4}e, and the
// get_lN_linear_pagetable family with inc/dec_linear_{entries,uses} (XSA-240).
// get_page_and_type_from_mfn is page-type.ts's getPageAndType; mod_lN_entry, the callers, are in
// mmu-update.ts.
//
// Holders (§1.3): a present RO L1e holds a general ref on its frame, a RW L1e also a writable type
// ref; an L(N)e holds a general + L(N-1) type ref; a linear entry (same level, RO) to another table
// a general + L(N) type ref; a self-map nothing.

import { DOMID_IO, EBUSY, EINVAL, EPERM } from './abi.ts';
import type { Domain } from './domain.ts';
import { xsmTarget } from './foreign.ts';
import { CHUNK_MASK, F_VALIDATED, type FrameTable, IO_MFN_LIMIT, MAX_MACHINE_FRAMES, NO_OWNER, PGT_writable_page } from './frames.ts';
import { getPage, getPageAndType, getPageType, pfnOf, putPage, putPageType, TYPE_COUNT_MAX } from './page-type.ts';
import {
  _PAGE_PAT,
  _PAGE_PCD,
  _PAGE_PRESENT,
  _PAGE_PWT,
  _PAGE_RW,
  hex,
  hex16Of,
  INVALID_MFN_PATTERN,
  L1_DISALLOW_MASK,
  L1_DISALLOW_MASK_CACHE_OK,
  LN_DISALLOW_MASK,
  PAGE_CACHE_ATTRS,
  pteFlags,
  pteMfn,
} from './pte.ts';
import type { XenState } from './state.ts';

const LINEAR_MIN = -0x8000;
const LINEAR_MAX = 0x7fff;

/**
 * I/O memory (DOMID_IO's, or beyond the machine's RAM): get_page_from_l1e's MMIO branch
 * (`!mfn_valid || owner == dom_io`). The trace contract: MFNs below 0x100 are I/O memory (no domain
 * can be given them); the machine's RAM is [0x100, MAX_MACHINE_FRAMES) whatever domains exist, so
 * a RAM frame no domain owns is free ("could not pin", -EBUSY) and never becomes MMIO.
 */
export function isMmio(mfn: number): boolean {
  return mfn < IO_MFN_LIMIT || mfn >= MAX_MACHINE_FRAMES;
}

/** l1_disallow_mask(d): cache attributes only for a domain with I/O (cache-flush) rights. */
export function l1DisallowMask(d: Domain): number {
  return d.privileged ? L1_DISALLOW_MASK_CACHE_OK : L1_DISALLOW_MASK;
}

/**
 * get_page_from_l1e(l1e, l1e_owner, pg_owner) (mm.c:859): 0, the flags to flip (> 0, an I/O
 * mapping's cache attributes, applied by the caller as l1e_flip_flags does), or -errno. `curr` is
 * the calling domain, which DOMID_IO as pg_owner stands for in the I/O checks.
 */
export function getPageFromL1e(
  x: XenState,
  lo: number,
  hi: number,
  l1eOwner: Domain,
  pgOwner: Domain,
  curr: Domain,
): number {
  const f = x.frames;
  const mfn = pteMfn(lo, hi);
  const bad = pteFlags(lo, hi) & l1DisallowMask(l1eOwner);
  if (bad === 0 && l1eFastPath(f, mfn, lo, pgOwner.id)) return 0;
  if (bad !== 0) {
    if (x.explain) x.diag.fail(`Bad L1 flags ${bad.toString(16)}`, `Bad L1 flags ${hex(bad)}`);
    return EINVAL;
  }
  if (isMmio(mfn)) return getMmioFromL1e(x, lo, hi, l1eOwner, pgOwner, curr);
  const real = mfn < f.size ? f.owner(mfn) : NO_OWNER;
  if (real !== pgOwner.id) {
    // mm.c:985: only a pg_owner other than the entry's owner, with privilege over the frame's real
    // owner (xsm_priv_mapping, XSM_TARGET), may map it — a privileged domain filling another's L1.
    const realDom = x.domains.get(real);
    if (!realDom || pgOwner === l1eOwner || !xsmTarget(pgOwner, realDom)) {
      if (x.explain) {
        // A destroyed domain's frame still held elsewhere is still its (a zombie's): Xen names it.
        const free = real === NO_OWNER;
        const realName = free ? 'none (free frame)' : realDom ? `d${real}` : `d${real} (destroyed)`;
        x.diag.fail(
          `pg_owner d${pgOwner.id} l1e_owner d${l1eOwner.id}, but real_pg_owner d${free ? -1 : real}`,
          `mfn ${hex(mfn)} is not d${pgOwner.id}'s: owner ${realName}`,
          mfn,
        );
      }
      couldNotPin(x, mfn, lo, hi, l1eOwner, pgOwner);
      return EBUSY;
    }
    pgOwner = realDom;
  }
  f.setCount(mfn, f.count(mfn) + 1);
  if (lo & _PAGE_RW && getPageType(x, mfn, PGT_writable_page) !== 0) {
    if (x.explain) x.diag.fail('Could not get page type PGT_writable_page');
    couldNotPin(x, mfn, lo, hi, l1eOwner, pgOwner);
    putPage(x, mfn);
    return EBUSY;
  }
  return 0;
}

/**
 * get_page_from_l1e's common case (promotion runs it 512 times a table), on the frame's chunk
 * arrays when they exist (one chunk look-up, no accessor calls): an allocated frame of pgOwner's,
 * read-only, or writable when it already is a validated writable page with room for one more
 * type reference — _get_page_type with nothing to change. The caller checked the flags
 * (l1_disallow_mask). False: the full path decides. (An owned frame always has a general
 * reference; `mfn < size` is mfn_valid, which the chunk index needs: frames.ts.)
 */
export function l1eFastPath(f: FrameTable, mfn: number, lo: number, pgOwner: number): boolean {
  const c = mfn < f.size ? f.chunkAt(mfn) : undefined;
  const j = mfn & CHUNK_MASK;
  if (c === undefined || c.owner[j] !== pgOwner) return false;
  if (lo & _PAGE_RW) {
    const tc = c.typeCount[j]!;
    if (c.type[j] !== PGT_writable_page || !(c.flags[j]! & F_VALIDATED) || tc === TYPE_COUNT_MAX) return false;
    c.typeCount[j] = tc + 1;
  }
  c.count[j]!++;
  return true;
}

/** get_page_from_l1e's could_not_pin message (mm.c:1039). */
function couldNotPin(x: XenState, mfn: number, lo: number, hi: number, l1eOwner: Domain, pgOwner: Domain): void {
  if (x.explain) {
    x.diag.fail(
      `Error getting mfn ${mfn.toString(16)} (pfn ${pfnOf(x, mfn).toString(16)}) from L1 entry ` +
        `${hex16Of(lo, hi)} for l1e_owner d${l1eOwner.id}, pg_owner d${pgOwner.id}`,
    );
  }
}

/**
 * get_page_from_l1e's I/O branch (mm.c:884–975): DOMID_IO stands for the caller; the data owner
 * and the entry's owner both need I/O rights (-EPERM, or -EINVAL for the all-ones pattern). No
 * reference is taken; the result is the cache-attribute flip: WB, WT and WP mappings of MMIO
 * become UC (mmio-relax off, the default; mmio_ro_ranges, which would also clear RW, are empty).
 */
function getMmioFromL1e(x: XenState, lo: number, hi: number, l1eOwner: Domain, pgOwner: Domain, curr: Domain): number {
  const mfn = pteMfn(lo, hi);
  const owner = pgOwner.id === DOMID_IO ? curr : pgOwner;
  if (!owner.privileged) {
    if (mfn === INVALID_MFN_PATTERN) return EINVAL;
    if (x.explain) {
      x.diag.fail(
        `d${owner.id} non-privileged attempt to map MMIO space ${mfn.toString(16)}`,
        `mfn ${hex(mfn)} is I/O memory; d${owner.id} has no iomem rights`,
        mfn,
      );
    }
    return EPERM;
  }
  // Xen asks this of an l1e_owner other than the data owner (mm.c:909); the data owner has just
  // passed it, so asking it of every l1e_owner is the same.
  if (!l1eOwner.privileged) {
    if (mfn === INVALID_MFN_PATTERN) return EINVAL;
    if (x.explain) {
      x.diag.fail(
        `d${curr.id} attempted to map MMIO space ${mfn.toString(16)} in d${owner.id} to d${l1eOwner.id}`,
        `mfn ${hex(mfn)} is I/O memory; d${l1eOwner.id} has no iomem rights`,
        mfn,
      );
    }
    return EPERM;
  }
  switch (lo & PAGE_CACHE_ATTRS) {
    case 0: // WB
      return _PAGE_PWT | _PAGE_PCD;
    case _PAGE_PWT: // WT
      return _PAGE_PCD;
    case _PAGE_PWT | _PAGE_PAT: // WP
      return _PAGE_PCD | _PAGE_PAT;
    default:
      return 0;
  }
}

/** put_page_from_l1e: RW → put_page_and_type, RO → put_page; I/O memory holds nothing. */
export function putPageFromL1e(x: XenState, lo: number, hi: number): void {
  if (!(lo & _PAGE_PRESENT)) return;
  const mfn = pteMfn(lo, hi);
  if (isMmio(mfn)) return;
  if (l1ePutFastPath(x, mfn, lo)) return;
  if (lo & _PAGE_RW) putPageType(x, mfn);
  putPage(x, mfn);
}

/**
 * put_page_from_l1e's common case, on the chunk arrays: not the last general reference (no free),
 * and for a writable mapping the type reference of a writable page — its last one only stamps the
 * frame (_put_final_page_type), as putPageType does for a type that is no table. False: the full
 * path does it all.
 */
function l1ePutFastPath(x: XenState, mfn: number, lo: number): boolean {
  const c = x.frames.chunkAt(mfn);
  if (c === undefined) return false;
  const j = mfn & CHUNK_MASK;
  if (c.count[j]! <= 1) return false;
  if (lo & _PAGE_RW) {
    const tc = c.typeCount[j]!;
    if (tc === 0 || c.type[j] !== PGT_writable_page) return false;
    if (tc === 1) c.stamp[j] = x.clock.now;
    c.typeCount[j] = tc - 1;
  }
  c.count[j]!--;
  return true;
}

/** get_page_from_l{2,3,4}e: the next level's type, validated on demand; else the linear rule. */
export function getPageFromLNe(
  x: XenState,
  lo: number,
  hi: number,
  container: number,
  level: number,
  d: Domain,
): number {
  const bad = pteFlags(lo, hi) & LN_DISALLOW_MASK;
  if (bad !== 0) {
    if (x.explain) x.diag.fail(`Bad L${level} flags ${bad.toString(16)}`, `Bad L${level} flags ${hex(bad)}`);
    return EINVAL;
  }
  const target = pteMfn(lo, hi);
  const rc = getPageAndType(x, target, d.id, level - 1);
  if (rc === EINVAL && getLinearPagetable(x, level, lo, target, container, d.id)) return 0;
  return rc;
}

/** put_page_from_l{2,3,4}e: self-maps hold nothing; a same-level target was a linear use. */
export function putPageFromLNe(x: XenState, lo: number, hi: number, container: number, level: number): void {
  if (!(lo & _PAGE_PRESENT)) return;
  const target = pteMfn(lo, hi);
  if (target === container) return;
  const f = x.frames;
  if (f.type(target) === level) {
    f.setLinear(target, f.linear(target) + 1); // dec_linear_uses
    f.setLinear(container, f.linear(container) - 1); // dec_linear_entries
  }
  putPageType(x, target);
  putPage(x, target);
}

/**
 * get_lN_linear_pagetable: an entry to a table of its own level. Read-only only (XSA-182); to
 * itself with no references; to another table only if that one is already validated at this level,
 * and single-level only (XSA-240): a table with linear entries is never a linear target, and a
 * linear target never gets linear entries.
 */
function getLinearPagetable(
  x: XenState,
  level: number,
  lo: number,
  target: number,
  container: number,
  dom: number,
): boolean {
  if (!x.linearPt) {
    if (x.explain) x.diag.fail('Attempt to create linear p.t. (feature disabled)');
    return false;
  }
  if (lo & _PAGE_RW) {
    if (x.explain) x.diag.fail('Attempt to create linear p.t. with write perms');
    return false;
  }
  if (target === container) return true;
  const f = x.frames;
  // Xen also checks that the table is d's (mm.c:707); here it always is: promotion passes the
  // table's owner, mod_lN_entry the pt_owner whose table it is (mmu-update.ts ptUpdate).
  if (!getPage(x, target, dom)) {
    if (x.explain) x.diag.fail(`Could not get page ref for mfn ${target.toString(16)}`, undefined, target);
    return false;
  }
  const ok =
    f.linear(target) <= 0 &&
    f.linear(target) > LINEAR_MIN &&
    f.linear(container) >= 0 &&
    f.linear(container) < LINEAR_MAX &&
    f.type(target) === level &&
    (f.flags(target) & F_VALIDATED) !== 0 &&
    f.typeCount(target) !== TYPE_COUNT_MAX; // mm.c:736: room for one more type reference
  if (!ok) {
    putPage(x, target);
    return false;
  }
  f.setLinear(target, f.linear(target) - 1); // inc_linear_uses
  f.setLinear(container, f.linear(container) + 1); // inc_linear_entries
  f.setTypeCount(target, f.typeCount(target) + 1);
  return true;
}
