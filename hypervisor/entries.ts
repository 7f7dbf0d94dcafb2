// Entry rules: what one present page-table entry may point at, and the references it holds.
// Models xen/arch/x86/mm.c: get_page_from_l1e / put_page_from_l1e, get_page_from_l{2,3,4}e /
// put_page_from_l{2,3,4}e, get_page_and_type_from_mfn, and the get_lN_linear_pagetable family with
// inc/dec_linear_{entries,uses} (XSA-240). mod_lN_entry, their caller, is in mmu-update.ts.
//
// Holders (§1.3): a present RO L1e holds a general ref on its frame, a RW L1e also a writable type
// ref; an L(N)e holds a general + L(N-1) type ref; a linear entry (same level, RO) to another table
// a general + L(N) type ref; a self-map nothing.

import { EBUSY, EINVAL, EPERM } from './abi.ts';
import type { Domain } from './domain.ts';
import {
  F_VALIDATED,
  type FrameTable,
  hex16,
  IO_MFN_LIMIT,
  NO_OWNER,
  PGT_writable_page,
} from './frames.ts';
import { getPage, getPageAndType, getPageType, pfnOf, putPage, putPageType, TYPE_COUNT_MAX } from './page-type.ts';
import {
  _PAGE_PRESENT,
  _PAGE_RW,
  hex,
  INVALID_MFN_PATTERN,
  L1_DISALLOW_MASK,
  L1_DISALLOW_MASK_CACHE_OK,
  LN_DISALLOW_MASK,
  pteFlags,
  pteMfn,
  toBig,
} from './pte.ts';
import type { XenState } from './state.ts';

const LINEAR_MIN = -0x8000;
const LINEAR_MAX = 0x7fff;

/** Not RAM with a page_info of a domain's: beyond the frame table, or unowned I/O memory. */
export function isMmio(x: XenState, mfn: number): boolean {
  const f = x.frames;
  return !f.valid(mfn) || (mfn < IO_MFN_LIMIT && f.owner[mfn] === NO_OWNER);
}

/** l1_disallow_mask(d): cache attributes only for a domain with I/O (cache-flush) rights. */
export function l1DisallowMask(d: Domain): number {
  return d.privileged ? L1_DISALLOW_MASK_CACHE_OK : L1_DISALLOW_MASK;
}

/** get_page_from_l1e(l1e, l1e_owner, pg_owner): 0 or -errno. */
export function getPageFromL1e(x: XenState, lo: number, hi: number, l1eOwner: Domain, pgOwner: number): number {
  const f = x.frames;
  const bad = pteFlags(lo, hi) & l1DisallowMask(l1eOwner);
  if (bad !== 0) {
    x.diag.fail(`Bad L1 flags ${bad.toString(16)}`, `Bad L1 flags ${hex(bad)}`);
    return EINVAL;
  }
  const mfn = pteMfn(lo, hi);
  if (isMmio(x, mfn)) {
    // I/O memory takes no references; only a domain with iomem rights may map it.
    if (x.domains.get(pgOwner)?.privileged) return 0;
    if (mfn === INVALID_MFN_PATTERN) return EINVAL;
    x.diag.fail(
      `d${pgOwner} non-privileged attempt to map MMIO space ${mfn.toString(16)}`,
      `mfn ${hex(mfn)} is I/O memory; d${pgOwner} has no iomem rights`,
      mfn,
    );
    return EPERM;
  }
  const real = f.count[mfn] === 0 ? NO_OWNER : f.owner[mfn]!;
  if (real !== pgOwner) {
    const realName = real === NO_OWNER ? 'none (free frame)' : `d${real}`;
    x.diag.fail(
      `pg_owner d${pgOwner} l1e_owner d${l1eOwner.id}, but real_pg_owner d${real === NO_OWNER ? -1 : real}`,
      `mfn ${hex(mfn)} is not d${pgOwner}'s: owner ${realName}`,
      mfn,
    );
    return EBUSY;
  }
  f.count[mfn]!++;
  if (lo & _PAGE_RW && getPageType(x, mfn, PGT_writable_page) !== 0) {
    x.diag.fail('Could not get page type PGT_writable_page');
    x.diag.fail(
      `Error getting mfn ${mfn.toString(16)} (pfn ${pfnOf(x, mfn).toString(16)}) from L1 entry ` +
        `${hex16(toBig(lo, hi))} for l1e_owner d${l1eOwner.id}, pg_owner d${pgOwner}`,
    );
    putPage(x, mfn);
    return EBUSY;
  }
  return 0;
}

/**
 * get_page_from_l1e's common case, for promotion's 512-entry loop: a present entry, no disallowed
 * flags, mapping an allocated frame of pgOwner's read-only, or writable when the frame already is
 * a validated writable page. Takes the references and returns true; returns false, having done
 * nothing, for anything else — the caller then takes the full path, which also explains failures.
 */
export function getPageFromL1eFast(f: FrameTable, lo: number, hi: number, disallow: number, pgOwner: number): boolean {
  if ((pteFlags(lo, hi) & disallow) !== 0) return false;
  const mfn = pteMfn(lo, hi);
  // Not RAM, a free frame or not pgOwner's (I/O memory is nobody's): the full path decides.
  if (mfn >= f.size) return false;
  const count = f.count[mfn]!;
  if (count === 0 || f.owner[mfn] !== pgOwner) return false;
  if (lo & _PAGE_RW) {
    // _get_page_type(writable) with nothing to change: same type, validated, count not at its max.
    const tc = f.typeCount[mfn]!;
    if (f.type[mfn] !== PGT_writable_page || !(f.flags[mfn]! & F_VALIDATED) || tc === TYPE_COUNT_MAX) return false;
    f.typeCount[mfn] = tc + 1;
  }
  f.count[mfn] = count + 1;
  return true;
}

/** put_page_from_l1e: RW → put_page_and_type, RO → put_page; I/O memory holds nothing. */
export function putPageFromL1e(x: XenState, lo: number, hi: number): void {
  if (!(lo & _PAGE_PRESENT)) return;
  const mfn = pteMfn(lo, hi);
  if (isMmio(x, mfn)) return;
  if (lo & _PAGE_RW) putPageType(x, mfn);
  putPage(x, mfn);
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
    x.diag.fail(`Bad L${level} flags ${bad.toString(16)}`, `Bad L${level} flags ${hex(bad)}`);
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
  if (f.type[target] === level) {
    f.linear[target]!++; // dec_linear_uses
    f.linear[container]!--; // dec_linear_entries
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
    x.diag.fail('Attempt to create linear p.t. (feature disabled)');
    return false;
  }
  if (lo & _PAGE_RW) {
    x.diag.fail('Attempt to create linear p.t. with write perms');
    return false;
  }
  if (target === container) return true;
  const f = x.frames;
  if (f.owner[container] !== dom) return false;
  if (!getPage(x, target, dom)) {
    x.diag.fail(`Could not get page ref for mfn ${target.toString(16)}`, undefined, target);
    return false;
  }
  const ok =
    f.linear[target]! <= 0 &&
    f.linear[target]! > LINEAR_MIN &&
    f.linear[container]! >= 0 &&
    f.linear[container]! < LINEAR_MAX &&
    f.type[target] === level &&
    (f.flags[target]! & F_VALIDATED) !== 0 &&
    f.typeCount[target]! > 0;
  if (!ok) {
    putPage(x, target);
    return false;
  }
  f.linear[target]!--; // inc_linear_uses
  f.linear[container]!++; // inc_linear_entries
  f.typeCount[target]!++;
  return true;
}
