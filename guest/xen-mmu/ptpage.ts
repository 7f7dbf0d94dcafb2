// A new page-table page in a pinned address space: 2.6.28 arch/x86/xen/enlighten.c
// xen_alloc_ptpage (SetPagePinned, vm_unmap_aliases(), make_lowmem_page_readonly, PIN_L1 for a
// PTE page with split ptlocks — each a synchronous hypercall that BUGs on failure) and
// xen_release_ptpage (UNPIN, back to RW, ClearPagePinned).

import { MMUEXT } from '../../hypervisor/index.ts';
import { KernelBug } from '../bug.ts';
import { PG_pinned, pte, PTE } from '../mm/mem.ts';
import type { Cpu } from '../smp/cpu.ts';
import { kernelFn, type Co } from '../smp/co.ts';
import type { VmallocCtx } from '../vmalloc/purge.ts';
import { xenKillAliases } from './alias-kill.ts';

/** make_lowmem_page_readonly / _readwrite: the direct-map PTE via update_va_mapping, flags 0. */
export function setLowmemPageProt(k: VmallocCtx, c: Cpu, pfn: number, readonly: boolean): void {
  const r = k.hypercall(c, {
    op: 'update_va_mapping',
    va: k.mem.va(pfn),
    val: pte(k.mem.mfn(pfn), readonly ? PTE.KERNEL_RO : PTE.KERNEL),
    flags: 0,
  });
  const fn = readonly ? 'make_lowmem_page_readonly' : 'make_lowmem_page_readwrite';
  if (r.rc !== 0) throw new KernelBug(fn, `kernel BUG in ${fn}: update_va_mapping returned ${r.rc}`, r.refusals[0]);
}

/** pin_pagetable_pfn: one synchronous MMUEXT op; BUG on failure. */
export function pinPagetablePfn(k: VmallocCtx, c: Cpu, cmd: number, pfn: number): void {
  const r = k.hypercall(c, { op: 'mmuext_op', ops: [{ cmd, mfn: k.mem.mfn(pfn) }] });
  if (r.rc !== 0) {
    throw new KernelBug('pin_pagetable_pfn', `kernel BUG in pin_pagetable_pfn: mmuext_op returned ${r.rc}`, r.refusals[0]);
  }
}

/** xen_alloc_ptpage(mm, pfn, level): only for a pinned mm. */
export const xenAllocPtpage = kernelFn('xen_alloc_ptpage', function* (k: VmallocCtx, c: Cpu, mmPinned: boolean, pfn: number, pte_level: boolean): Co {
  if (!mmPinned) return;
  k.mem.flags[pfn]! |= PG_pinned;
  yield* xenKillAliases(k, c, 'alloc_ptpage');
  setLowmemPageProt(k, c, pfn, true);
  if (pte_level && k.policy.splitPtlocks) pinPagetablePfn(k, c, MMUEXT.pin_l1_table, pfn);
});

/** xen_release_ptpage: the reverse, for a page that was pinned. */
export function xenReleasePtpage(k: VmallocCtx, c: Cpu, pfn: number, pte_level: boolean): void {
  if (!k.mem.pinned(pfn)) return;
  if (pte_level && k.policy.splitPtlocks) pinPagetablePfn(k, c, MMUEXT.unpin_table, pfn);
  setLowmemPageProt(k, c, pfn, false);
  k.mem.flags[pfn]! &= ~PG_pinned;
}
