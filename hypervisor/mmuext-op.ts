// HYPERVISOR_mmuext_op (hypercall 26). Models do_mmuext_op and new_guest_cr3 in
// xen/arch/x86/mm.c: pins (not nested), unpins (no type check), base pointers, TLB and cache
// flushes, SET_LDT, CLEAR_PAGE / COPY_PAGE; sequential, stopping at the first failing op.

import {
  EACCES,
  EINVAL,
  ENOSYS,
  EOPNOTSUPP,
  EPERM,
  MMUEXT,
} from './abi.ts';
import type { Domain, Vcpu } from './domain.ts';
import { F_PINNED, frameOf, PGT_l4_page_table, PGT_writable_page } from './frames.ts';
import { getPgOwner, xsmTarget } from './foreign.ts';
import {
  dropPin,
  putOldGuestTable,
  fillRoMpt,
  getPage,
  getPageAndType,
  getPageType,
  putPage,
  putPageAndType,
  putPageType,
} from './page-type.ts';
import { addrOk, hex } from './pte.ts';
import type { XenState } from './state.ts';
import { flushVcpus, invlpg } from './tlb.ts';
import type { MmuextOp, Ulong } from './types.ts';

export interface MmuextOutcome {
  rc: number;
  done: number;
  failed?: number;
}

export function doMmuextOp(
  x: XenState,
  d: Domain,
  v: Vcpu,
  ops: readonly MmuextOp[],
  foreigndom: number,
  onEntry: () => void,
): MmuextOutcome {
  // foreigndom is an unsigned int (do_mmuext_op's prototype); get_pg_owner(domid_t) keeps 16 bits.
  const pgOwner = getPgOwner(x, d, foreigndom & 0xffff);
  if (typeof pgOwner === 'number') return { rc: pgOwner, done: 0 };
  // xsm_mmuext_op (mm.c:3478): the caller must be the FD or a control domain, dom_io included.
  if (!xsmTarget(d, pgOwner)) {
    if (x.explain) x.diag.note(`d${d.id} may not act on d${pgOwner.id} (XSM_TARGET)`);
    return { rc: EPERM, done: 0 };
  }
  let done = 0;
  for (; done < ops.length; done++) {
    onEntry();
    const rc = mmuextOne(x, d, v, pgOwner, ops[done]!);
    if (rc !== 0) {
      putOldGuestTable(x); // the continuation's clean-up (mm.c:3933, 3436)
      return { rc, done, failed: done };
    }
  }
  return { rc: 0, done };
}

// A missing argument reads as 0, as an uninitialised field of the guest's struct would; an MFN
// past the frame table (any value up to 2^64-1) fails mfn_valid and ends as -EINVAL.
// One case per MMUEXT command, as do_mmuext_op's switch (its length is the switch's).
function mmuextOne(x: XenState, d: Domain, v: Vcpu, pgOwner: Domain, op: MmuextOp): number {
  const foreign = pgOwner !== d;
  switch (op.cmd) {
    case MMUEXT.pin_l1_table:
    case MMUEXT.pin_l2_table:
    case MMUEXT.pin_l3_table:
    case MMUEXT.pin_l4_table:
      return pin(x, pgOwner, op.mfn ?? 0, op.cmd - MMUEXT.pin_l1_table + 1);
    case MMUEXT.unpin_table:
      return unpin(x, pgOwner, op.mfn ?? 0);
    case MMUEXT.new_baseptr:
      return foreign ? EPERM : newGuestCr3(x, d, v, op.mfn ?? 0);
    case MMUEXT.new_user_baseptr:
      return foreign ? EPERM : newUserBaseptr(x, d, v, op.mfn ?? 0);
    case MMUEXT.tlb_flush_local:
      if (foreign) return EPERM;
      flushVcpus(x.clock, x.obs, d.id, [v], 'guest');
      return 0;
    case MMUEXT.invlpg_local:
      if (foreign) return EPERM;
      invlpg(x.clock, x.obs, d, [v], op.linear_addr ?? 0n);
      return 0;
    case MMUEXT.tlb_flush_multi:
    case MMUEXT.invlpg_multi: {
      if (foreign) return EPERM;
      const targets = vcpusOf(d, op.vcpumask);
      if (!targets) {
        if (x.explain) x.diag.fail('vcpumask could not be read');
        return EINVAL;
      }
      if (op.cmd === MMUEXT.tlb_flush_multi) flushVcpus(x.clock, x.obs, d.id, targets, 'guest');
      else invlpg(x.clock, x.obs, d, targets, op.linear_addr ?? 0n);
      return 0;
    }
    case MMUEXT.tlb_flush_all:
      if (foreign) return EPERM;
      flushVcpus(x.clock, x.obs, d.id, d.vcpus, 'guest');
      return 0;
    case MMUEXT.invlpg_all:
      if (foreign) return EPERM;
      invlpg(x.clock, x.obs, d, d.vcpus, op.linear_addr ?? 0n);
      return 0;
    case MMUEXT.flush_cache:
    case MMUEXT.flush_cache_global:
      if (foreign) return EPERM;
      if (!d.privileged) {
        if (x.explain) x.diag.fail('Non-physdev domain tried to FLUSH_CACHE.');
        // 4.17 answers FLUSH_CACHE_GLOBAL -EINVAL (mm.c:3805, do_mmuext_op); master folds both into -EACCES.
        return op.cmd === MMUEXT.flush_cache_global && x.xenVersion === '4.17' ? EINVAL : EACCES;
      }
      return 0;
    case MMUEXT.set_ldt:
      // With no entries the base is ignored (Xen reads ptr = ents ? linear_addr : 0).
      return foreign ? EPERM : setLdt(x, v, op.nr_ents ? (op.linear_addr ?? 0n) : 0n, op.nr_ents ?? 0);
    case MMUEXT.clear_page:
      return clearPage(x, pgOwner, op.mfn ?? 0);
    case MMUEXT.copy_page:
      return copyPage(x, pgOwner, op.mfn ?? 0, op.src_mfn ?? 0);
    case MMUEXT.mark_super:
    case MMUEXT.unmark_super:
      return EOPNOTSUPP;
    default:
      if (x.explain) x.diag.fail(`Invalid extended pt command ${op.cmd}`);
      return ENOSYS;
  }
}

/** MMUEXT_PIN_Lx_TABLE: a general + type ref kept by the pin; pinning is not nested. */
function pin(x: XenState, owner: Domain, arg: Ulong, level: number): number {
  const mfn = frameOf(arg);
  if (!getPage(x, mfn, owner.id)) {
    if (x.explain) x.diag.fail(`Error mfn ${arg.toString(16)}: not owned by d${owner.id}`, `mfn ${hex(arg)} is not d${owner.id}'s`, mfn);
    return EINVAL;
  }
  const rc = getPageType(x, mfn, level);
  if (rc !== 0) {
    if (x.explain) x.diag.fail(`Error ${rc} while pinning mfn ${mfn.toString(16)}`);
    // mm.c:3563: a table left as old_guest_table keeps its general reference for the clean-up.
    if (mfn !== x.oldGuestTable) putPage(x, mfn);
    return rc;
  }
  const f = x.frames;
  if (f.flags(mfn) & F_PINNED) {
    if (x.explain) x.diag.fail(`mfn ${mfn.toString(16)} already pinned`, undefined, mfn);
    putPageAndType(x, mfn);
    return EINVAL;
  }
  f.setFlags(mfn, f.flags(mfn) | F_PINNED);
  return 0;
}

/** MMUEXT_UNPIN_TABLE: drops the pin's references; checks no type and no other user. */
function unpin(x: XenState, owner: Domain, arg: Ulong): number {
  const mfn = frameOf(arg);
  if (!getPage(x, mfn, owner.id)) {
    if (x.explain) x.diag.fail(`mfn ${arg.toString(16)} bad, or bad owner d${owner.id}`, undefined, mfn);
    return EINVAL;
  }
  if (!dropPin(x, mfn)) {
    if (x.explain) x.diag.fail(`mfn ${mfn.toString(16)} not pinned`, undefined, mfn);
    putPage(x, mfn);
    return EINVAL;
  }
  putPage(x, mfn);
  return 0;
}

/** new_guest_cr3: an L4 type ref (validated on demand, no pin needed), CR3 write, old base put. */
function newGuestCr3(x: XenState, d: Domain, v: Vcpu, arg: Ulong): number {
  const mfn = frameOf(arg);
  if (v.guestTable === mfn) {
    flushVcpus(x.clock, x.obs, d.id, [v], 'cr3');
    return 0;
  }
  const rc = getPageAndType(x, mfn, d.id, PGT_l4_page_table);
  if (rc !== 0) {
    if (x.explain) x.diag.fail(`Error while installing new baseptr ${arg.toString(16)}`);
    return rc;
  }
  fillRoMpt(x, mfn);
  const old = v.guestTable;
  v.guestTable = mfn;
  v.ldtBase = 0n; // invalidate_shadow_ldt: the LDT mappings go with the old address space
  flushVcpus(x.clock, x.obs, d.id, [v], 'cr3');
  if (old !== 0) putPageAndType(x, old);
  return 0;
}

/** MMUEXT_NEW_USER_BASEPTR: as NEW_BASEPTR for guest_table_user; mfn 0 clears it. */
function newUserBaseptr(x: XenState, d: Domain, v: Vcpu, arg: Ulong): number {
  const mfn = frameOf(arg);
  const old = v.guestTableUser;
  if (old === mfn) return 0;
  if (mfn !== 0) {
    const rc = getPageAndType(x, mfn, d.id, PGT_l4_page_table);
    if (rc !== 0) {
      if (x.explain) x.diag.fail(`Error ${rc} installing new mfn ${arg.toString(16)}`);
      return rc;
    }
  }
  v.guestTableUser = mfn;
  if (old !== 0) putPageAndType(x, old);
  return 0;
}

/** The vCPUs a guest bitmap names (ids past the domain's vCPUs are ignored); null = unreadable. */
export function vcpusOf(d: Domain, mask: readonly number[] | null | undefined): Vcpu[] | undefined {
  if (!mask) return undefined;
  const out: Vcpu[] = [];
  for (const v of d.vcpus) if (mask.includes(v.id)) out.push(v);
  return out;
}

function setLdt(x: XenState, v: Vcpu, base: bigint, ents: number): number {
  if ((base & 0xfffn) !== 0n || !addrOk(base) || ents > 8192) {
    if (x.explain) x.diag.fail(`Bad args to SET_LDT: ptr=${base.toString(16)}, ents=${ents.toString(16)}`);
    return EINVAL;
  }
  v.ldtBase = base;
  v.ldtEnts = ents;
  return 0;
}

/** MMUEXT_CLEAR_PAGE: needs a writable type, so a live page table cannot be cleared. */
function clearPage(x: XenState, d: Domain, arg: Ulong): number {
  const mfn = frameOf(arg);
  if (!getPage(x, mfn, d.id)) {
    if (x.explain) x.diag.fail(`Error clearing mfn ${arg.toString(16)}`, undefined, mfn);
    return EINVAL;
  }
  if (getPageType(x, mfn, PGT_writable_page) !== 0) {
    putPage(x, mfn);
    if (x.explain) x.diag.fail(`Error clearing mfn ${mfn.toString(16)}`, undefined, mfn);
    return EINVAL;
  }
  x.frames.dropContents(mfn);
  putPageAndType(x, mfn);
  return 0;
}

/** MMUEXT_COPY_PAGE: any source the caller owns, a destination that can be writable. */
function copyPage(x: XenState, d: Domain, dstArg: Ulong, srcArg: Ulong): number {
  const dst = frameOf(dstArg);
  const src = frameOf(srcArg);
  if (!getPage(x, src, d.id)) {
    if (x.explain) x.diag.fail(`Error copying from mfn ${srcArg.toString(16)}`, undefined, src);
    return EINVAL;
  }
  if (!getPage(x, dst, d.id)) {
    putPage(x, src);
    if (x.explain) x.diag.fail(`Error copying to mfn ${dstArg.toString(16)}`, undefined, dst);
    return EINVAL;
  }
  if (getPageType(x, dst, PGT_writable_page) !== 0) {
    putPage(x, dst);
    putPage(x, src);
    if (x.explain) x.diag.fail(`Error copying to mfn ${dst.toString(16)}`, undefined, dst);
    return EINVAL;
  }
  const from = x.frames.page(src);
  if (from) x.frames.pageForWrite(dst).set(from);
  else x.frames.dropContents(dst);
  putPageType(x, dst);
  putPage(x, dst);
  putPage(x, src);
  return 0;
}

