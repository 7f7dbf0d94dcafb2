// Writable page tables: Xen 4.17 emulating a PV kernel's write fault through a present, read-only
// mapping of one of its L1 page tables. xen/arch/x86/traps.c fixup_page_fault (line 1537: `ptwr`
// for VM_ASSIST(d, writable_pagetables), line 1543: `mmio_ro` for is_hardware_domain(d); either
// sends the fault on) → pv/ro-page-fault.c pv_ro_page_fault (line 352) → ptwr_do_page_fault (279)
// → ptwr_emulated_update (81). mmio_ro_ranges are empty in the model, so the MMIO branch of
// pv_ro_page_fault (line 374) never applies.

import type { Domain } from './domain.ts';
import { getPageFromL1e, putPageFromL1e } from './entries.ts';
import { F_VALIDATED, PGT_l1_page_table } from './frames.ts';
import { TYPE_COUNT_MAX } from './page-type.ts';
import { _PAGE_PRESENT, _PAGE_RW, addFlagsHi, addFlagsLo, guestAdjustFlags, pteFlags, pteMfn, slotOf48, va48 } from './pte.ts';
import type { XenState } from './state.ts';
import { findL1 } from './walk.ts';

/** Whether fixup_page_fault hands d's write faults on present mappings to pv_ro_page_fault. */
export function emulatesRoWrites(d: Domain): boolean {
  return d.writablePagetables || d.hardware;
}

/**
 * A guest store of 8 bytes at va that faulted on a read-only mapping, storing what it read there
 * (the `access` op's write: docs/trace-extensions.md). True when Xen emulates it (the fault is
 * fixed, the entry rewritten as ptwr_emulated_update does), false when the guest takes the #PF.
 */
export function ptwrWrite(x: XenState, d: Domain, base: number, va: bigint): boolean {
  const f = x.frames;
  // guest_get_eff_kern_l1e: the L1 entry through Xen's linear map of the current tables.
  const l1 = findL1(f, base, va);
  if (l1 === undefined) return false;
  const s = slotOf48(va48(va), 1);
  const lo = f.page(l1)?.[2 * s] ?? 0;
  const hi = f.page(l1)?.[2 * s + 1] ?? 0;
  if ((lo & (_PAGE_PRESENT | _PAGE_RW)) !== _PAGE_PRESENT) return false; // line 371
  // ptwr_do_page_fault (line 289–295): a frame of d's, locked (mm.c page_lock, line 2046: validated,
  // with a type reference), whose type is L1.
  const t = pteMfn(lo, hi);
  if (!f.valid(t) || f.count(t) === 0 || f.owner(t) !== d.id || f.type(t) !== PGT_l1_page_table) return false;
  if (!(f.flags(t) & F_VALIDATED) || f.typeCount(t) === 0 || f.typeCount(t) === TYPE_COUNT_MAX) return false;
  if (va & 7n) return false; // line 97: a naturally aligned store
  const page = f.pageForWrite(t);
  const slot = Number((va & 0xfffn) >> 3n);
  const oLo = page[2 * slot]!;
  const oHi = page[2 * slot + 1]!;
  let nLo = oLo;
  let nHi = oHi;
  if (nLo & _PAGE_PRESENT) {
    // line 156: the new entry as get_page_from_l1e(nl1e, d, d) takes it; a refusal is
    // X86EMUL_UNHANDLEABLE, and the guest gets its page fault.
    const rc = getPageFromL1e(x, nLo, nHi, d, d, d);
    if (rc < 0) return false;
    nLo ^= rc;
    const add = guestAdjustFlags(1, pteFlags(nLo, nHi)); // line 187: adjust_guest_l1e
    nLo = addFlagsLo(nLo, add);
    nHi = addFlagsHi(nHi, add);
  }
  // A non-present entry passes (pv_l1tf_check_l1e, line 151: L1TF shadowing is not modelled).
  page[2 * slot] = nLo >>> 0; // line 214: UPDATE_ENTRY without PRESERVE_AD
  page[2 * slot + 1] = nHi >>> 0;
  putPageFromL1e(x, oLo, oHi); // line 223
  return true;
}
