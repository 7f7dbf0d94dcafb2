// vmap_page_range / vunmap_page_range for the vmalloc area: kernel PTE writes into init_mm's
// pinned L1 tables. 2.6.28 writes each PTE with set_pte_at (update_va_mapping) or a trapped
// store (ptwr emulation); both are checked L1 updates without a TLB flush, which one mmu_update
// batch per range expresses with the same effect on Xen.

import { MMU, type CallResult, type Hypercall } from '../../hypervisor/index.ts';
import { KernelBug } from '../bug.ts';
import type { KernelTables } from '../mm/boot.ts';
import { pte, PTE, type Mem } from '../mm/mem.ts';
import type { Cpu } from '../smp/cpu.ts';

/** What the PTE walkers use: the vmalloc area's L1s (init_mm's tables), pfn → mfn, mmu_update. */
export interface PteRangeCtx {
  readonly mem: Mem;
  readonly tables: KernelTables;
  hypercall(c: Cpu, call: Hypercall): CallResult;
}

/** The machine address of the vmalloc-area PTE for page index idx. */
export function vmallocPtePtr(k: PteRangeCtx, idx: number): bigint {
  const l1 = k.tables.vmL1[idx >> 9];
  if (l1 === undefined) throw new KernelBug('vmalloc', `vmalloc page ${idx} is outside the simulated vmalloc area`);
  // One BigInt (exact: an mfn times 4096 is far below 2^53).
  return BigInt(k.mem.mfn(l1) * 4096 + (idx & 511) * 8 + MMU.NORMAL_PT_UPDATE);
}

/** vmap_page_range: map pfns at [start, start + pfns.length), PAGE_KERNEL. */
export function vmapPageRange(k: PteRangeCtx, c: Cpu, start: number, pfns: readonly number[]): void {
  const reqs = pfns.map((p, i) => ({ ptr: vmallocPtePtr(k, start + i), val: pte(k.mem.mfn(p), PTE.KERNEL) }));
  const r = k.hypercall(c, { op: 'mmu_update', reqs });
  if (r.rc !== 0) {
    throw new KernelBug('vmap_page_range', `BUG: unable to map vmalloc page ${start + r.done!}: rc ${r.rc}`, r.refusals[0]);
  }
}

/** vunmap_page_range: clear [start, start + pages) (no TLB flush). */
export function vunmapPageRange(k: PteRangeCtx, c: Cpu, start: number, pages: number): void {
  const reqs = [];
  for (let i = 0; i < pages; i++) reqs.push({ ptr: vmallocPtePtr(k, start + i), val: 0n });
  const r = k.hypercall(c, { op: 'mmu_update', reqs });
  if (r.rc !== 0) throw new KernelBug('vunmap_page_range', `BUG: clearing vmalloc PTE failed: rc ${r.rc}`, r.refusals[0]);
}
