// Pinning and unpinning a process's page tables, as in 2.6.28 arch/x86/xen/mmu.c:
// __xen_pgd_pin (alias kill, then one batch: each table page made read-only in the direct map,
// PTE pages pinned one by one under their split lock, the pgd last with a TLB flush, PIN_L4 of
// the pgd and of the user pgd), __xen_pgd_unpin (the reverse), xen_pgd_pin / xen_pgd_unpin,
// xen_mm_pin_all / xen_mm_unpin_all for suspend, and load_cr3 / leave_mm.

import { MMUEXT, UVMF } from '../../hypervisor/index.ts';
import { KernelBug } from '../bug.ts';
import { PG_pinned, PG_savepinned, pte, PTE } from '../mm/mem.ts';
import { withPgdLock, type Mm, type MmCtx } from '../mm/mm-struct.ts';
import type { PinSite } from '../policy.ts';
import type { Cpu } from '../smp/cpu.ts';
import { kernelFn, type Co } from '../smp/co.ts';
import { spinLock, spinUnlock } from '../smp/spinlock.ts';
import { xenKillAliases } from './alias-kill.ts';
import type { VmallocCtx } from '../vmalloc/purge.ts';
import { xenMcBatch, xenMcCallback, xenMcEntry, xenMcIssue, type McBuffer } from './multicall.ts';

/** A vCPU's own state here: its multicall buffer, cpu_tlbstate.active_mm, xen_current_cr3. */
export interface PerCpu {
  readonly mc: McBuffer;
  /** cpu_tlbstate.active_mm (null: init_mm). */
  activeMm: Mm | null;
  /** xen_current_cr3: the pgd pfn this vCPU has loaded. */
  cr3: number;
}

/**
 * What arch/x86/xen/mmu.c uses: the mm code (pgd_list, pgd_lock), the alias kill's vmalloc
 * context (which brings the multicall and SMP layers), and each vCPU's per-cpu state.
 */
export interface PinCtx extends VmallocCtx, MmCtx {
  percpu(c: Cpu): PerCpu;
}

type Level = 'pgd' | 'pud' | 'pmd' | 'pte';

/** xen_do_pin: a queued MMUEXT pin/unpin of one frame. */
function xenDoPin(k: PinCtx, c: Cpu, cmd: number, pfn: number): void {
  xenMcEntry(k, c, { op: 'mmuext_op', ops: [{ cmd, mfn: k.mem.mfn(pfn) }] });
}

/** The direct-map PTE of a page made RO (pin) or RW (unpin), as a queued update_va_mapping. */
function queueProtect(k: PinCtx, c: Cpu, pfn: number, flags: number, level: Level): void {
  xenMcEntry(k, c, {
    op: 'update_va_mapping',
    va: k.mem.va(pfn),
    val: pte(k.mem.mfn(pfn), flags),
    flags: level === 'pgd' ? UVMF.TLB_FLUSH : UVMF.NONE,
  });
}

/** xen_pin_page: RO in the direct map; a PTE page is also pinned under its split lock. */
function* xenPinPage(k: PinCtx, c: Cpu, mm: Mm, pfn: number, level: Level): Co {
  const mem = k.mem;
  if (mem.flags[pfn]! & PG_pinned) return; // TestSetPagePinned: already pinned
  mem.flags[pfn]! |= PG_pinned;
  const ptl = level === 'pte' && k.policy.splitPtlocks ? mm.ptl(pfn) : null;
  if (ptl) yield* spinLock(c, ptl);
  queueProtect(k, c, pfn, PTE.KERNEL_RO, level);
  if (ptl) {
    xenDoPin(k, c, MMUEXT.pin_l1_table, pfn);
    xenMcCallback(k, c, () => spinUnlock(c, ptl));
  }
}

/** xen_unpin_page: back to RW; a PTE page is unpinned first under its split lock. */
function* xenUnpinPage(k: PinCtx, c: Cpu, mm: Mm, pfn: number, level: Level): Co {
  const mem = k.mem;
  if (!(mem.flags[pfn]! & PG_pinned)) return; // TestClearPagePinned
  mem.flags[pfn]! &= ~PG_pinned;
  const ptl = level === 'pte' && k.policy.splitPtlocks ? mm.ptl(pfn) : null;
  if (ptl) {
    yield* spinLock(c, ptl);
    xenDoPin(k, c, MMUEXT.unpin_table, pfn);
  }
  queueProtect(k, c, pfn, PTE.KERNEL, level);
  if (ptl) xenMcCallback(k, c, () => spinUnlock(c, ptl));
}

/** __xen_pgd_pin(mm, pgd). A failed entry BUGs in xen_mc_flush. */
export const xenPgdPinAt = kernelFn('__xen_pgd_pin', function* (k: PinCtx, c: Cpu, mm: Mm, site: PinSite): Co {
  yield* xenKillAliases(k, c, site);
  xenMcBatch(c, k.mc(c));
  for (const [pfn, level] of mm.walkPages()) yield* xenPinPage(k, c, mm, pfn, level);
  yield* xenPinPage(k, c, mm, mm.pgd, 'pgd');
  xenDoPin(k, c, MMUEXT.pin_l4_table, mm.pgd);
  yield* xenPinPage(k, c, mm, mm.userPgd, 'pgd');
  xenDoPin(k, c, MMUEXT.pin_l4_table, mm.userPgd);
  xenMcIssue(k, c, 0);
});

/** xen_pgd_pin(mm), from xen_dup_mmap (fork) and xen_activate_mm (exec), under page_table_lock. */
export const xenPgdPin = kernelFn('xen_pgd_pin', function* (k: PinCtx, c: Cpu, mm: Mm): Co {
  yield* spinLock(c, mm.pageTableLock);
  yield* xenPgdPinAt(k, c, mm, 'pgd_pin');
  spinUnlock(c, mm.pageTableLock);
});

/** __xen_pgd_unpin: UNPIN the pgds first, then every page back to RW (PGD last). */
export const xenPgdUnpin = kernelFn('__xen_pgd_unpin', function* (k: PinCtx, c: Cpu, mm: Mm): Co {
  xenMcBatch(c, k.mc(c));
  xenDoPin(k, c, MMUEXT.unpin_table, mm.pgd);
  xenDoPin(k, c, MMUEXT.unpin_table, mm.userPgd);
  yield* xenUnpinPage(k, c, mm, mm.userPgd, 'pgd');
  for (const [pfn, level] of mm.walkPages()) yield* xenUnpinPage(k, c, mm, pfn, level);
  yield* xenUnpinPage(k, c, mm, mm.pgd, 'pgd');
  xenMcIssue(k, c, 0);
});

/**
 * xen_mm_pin_all (suspend): under spin_lock_irqsave(&pgd_lock), pin every pgd that is not
 * pinned — each pin running its alias kill with interrupts off — and mark it SavePinned.
 */
export const xenMmPinAll = kernelFn('xen_mm_pin_all', function* (k: PinCtx, c: Cpu): Co {
  yield* withPgdLock(k, c, function* () {
    for (const mm of k.pgdList) {
      if (k.mem.pinned(mm.pgd)) continue;
      yield* xenPgdPinAt(k, c, mm, 'mm_pin_all');
      k.mem.flags[mm.pgd]! |= PG_savepinned;
    }
  });
});

/** xen_mm_unpin_all: unpin what xen_mm_pin_all pinned. */
export const xenMmUnpinAll = kernelFn('xen_mm_unpin_all', function* (k: PinCtx, c: Cpu): Co {
  yield* withPgdLock(k, c, function* () {
    for (const mm of k.pgdList) {
      if (!(k.mem.flags[mm.pgd]! & PG_savepinned)) continue;
      if (!k.mem.pinned(mm.pgd)) throw new KernelBug('xen_mm_unpin_all', 'BUG_ON(!PagePinned(page))');
      yield* xenPgdUnpin(k, c, mm);
      k.mem.flags[mm.pgd]! &= ~PG_savepinned;
    }
  });
});

/** load_cr3 → xen_write_cr3: the kernel and user base pointers in one batch. */
export function loadCr3(k: PinCtx, c: Cpu, pgd: number, userPgd: number | null): void {
  xenMcBatch(c, k.mc(c));
  xenMcEntry(k, c, {
    op: 'mmuext_op',
    ops: [
      { cmd: MMUEXT.new_baseptr, mfn: k.mem.mfn(pgd) },
      { cmd: MMUEXT.new_user_baseptr, mfn: userPgd === null ? 0 : k.mem.mfn(userPgd) },
    ],
  });
  xenMcIssue(k, c, 0);
  k.percpu(c).cr3 = pgd;
}

/** switch_mm to mm on this vCPU: it joins cpu_vm_mask and loads the mm's pgds. */
export function activateMm(k: PinCtx, c: Cpu, mm: Mm): void {
  const pc = k.percpu(c);
  pc.activeMm?.cpuVmMask.delete(c.id);
  pc.activeMm = mm;
  mm.cpuVmMask.add(c.id);
  loadCr3(k, c, mm.pgd, mm.userPgd);
}

/** leave_mm: back to init_mm's swapper_pg_dir. */
export function leaveMm(k: PinCtx, c: Cpu): void {
  const pc = k.percpu(c);
  pc.activeMm?.cpuVmMask.delete(c.id);
  pc.activeMm = null;
  loadCr3(k, c, k.tables.initL4, null);
}
