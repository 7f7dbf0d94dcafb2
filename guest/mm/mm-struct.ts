// Process address spaces of a 64-bit PV guest (mm_struct, pgd_alloc / pgd_ctor, the separate
// user pgd of arch/x86/xen/mmu.c xen_pgd_alloc): a kernel pgd whose kernel slots share init_mm's
// L3s, a user pgd, and user page tables L3 → L2 → L1s mapping a few data pages at USER_BASE.
// While an mm is not pinned its tables are ordinary memory written with plain stores.

import { KernelBug } from '../bug.ts';
import type { Caller } from '../../hypervisor/index.ts';
import type { Policy } from '../policy.ts';
import type { HypercallPort } from '../port.ts';
import type { KernelTables } from './boot.ts';
import type { Cpu } from '../smp/cpu.ts';
import { kernelFn, type Co } from '../smp/co.ts';
import { spinLock, spinLockIrqsave, spinUnlock, spinUnlockIrqrestore, Spinlock } from '../smp/spinlock.ts';
import { pte, PTE, type Mem } from './mem.ts';

/** USER_BASE = 0x400000: L4 slot 0, L3 slot 0, L2 slot 2. */
export const USER_L2_SLOT = 2;

export class Mm {
  readonly name: string;
  readonly pgd: number;
  readonly userPgd: number;
  l3 = -1;
  l2 = -1;
  /** PTE pages, at L2 slots USER_L2_SLOT, USER_L2_SLOT + 1, … */
  readonly l1s: number[] = [];
  /** Data pages mapped by l1s[0], slot by slot. */
  readonly data: number[] = [];
  /** The data page a fault mapped at slot 0 of each PTE page it added. */
  readonly faultData = new Map<number, number>();
  /** cpu_vm_mask: the vCPUs that may hold this mm in their TLB or CR3. */
  readonly cpuVmMask = new Set<number>();
  readonly pageTableLock: Spinlock;
  /** Split PTE-page locks (USE_SPLIT_PTLOCKS). */
  private readonly ptls = new Map<number, Spinlock>();

  constructor(name: string, pgd: number, userPgd: number) {
    this.name = name;
    this.pgd = pgd;
    this.userPgd = userPgd;
    this.pageTableLock = new Spinlock(`${name}->page_table_lock`);
  }

  ptl(pfn: number): Spinlock {
    let l = this.ptls.get(pfn);
    if (!l) {
      l = new Spinlock(`ptl(pfn ${pfn})`);
      this.ptls.set(pfn, l);
    }
    return l;
  }

  /** User page-table pages in __xen_pgd_walk order: PUD, PMD, PTEs (the pgd comes last, apart). */
  walkPages(): [number, 'pud' | 'pmd' | 'pte'][] {
    const out: [number, 'pud' | 'pmd' | 'pte'][] = [];
    if (this.l3 >= 0) out.push([this.l3, 'pud']);
    if (this.l2 >= 0) out.push([this.l2, 'pmd']);
    for (const p of this.l1s) out.push([p, 'pte']);
    return out;
  }
}

/**
 * What the mm code uses: the page allocator, the port's plain stores, init_mm's kernel L4 slots,
 * pgd_list under pgd_lock, and the policy (whether pgd_lock is irq-safe).
 */
export interface MmCtx {
  readonly mem: Mem;
  readonly port: HypercallPort;
  readonly tables: KernelTables;
  readonly policy: Policy;
  readonly pgdList: Mm[];
  readonly pgdLock: Spinlock;
  caller(c: Cpu): Caller;
}

/** A page fresh from the allocator, zeroed (get_zeroed_page), with a plain store. */
export function zeroedPage(k: MmCtx, c: Cpu): number {
  const pfn = k.mem.alloc();
  plainStore(k, c, pfn, 0, 0n, 512);
  return pfn;
}

export function plainStore(k: MmCtx, c: Cpu, pfn: number, slot: number, val: bigint, count = 1): void {
  const rc = k.port.store(k.caller(c), k.mem.mfn(pfn), slot, val, count, 0n);
  if (rc !== 0) {
    throw new KernelBug('store', `BUG: unable to handle kernel paging request: write to pfn ${pfn} (a page table) faulted`);
  }
}

/** pgd_alloc: the kernel pgd (pgd_ctor copies init_mm's kernel slots), the user pgd, pgd_list. */
export const pgdAlloc = kernelFn('pgd_alloc', function* (k: MmCtx, c: Cpu, name: string): Co<Mm> {
  const mm = new Mm(name, zeroedPage(k, c), zeroedPage(k, c));
  for (const { slot, val } of k.tables.kernelL4) plainStore(k, c, mm.pgd, slot, val);
  yield* withPgdLock(k, c, function* () {
    k.pgdList.push(mm);
  });
  return mm;
});

/** Runs body under pgd_lock: spin_lock_irqsave (≤ 2.6.36) or spin_lock, per pgdLockIrqSafe. */
export function* withPgdLock(k: MmCtx, c: Cpu, body: () => Co): Co {
  if (k.policy.pgdLockIrqSafe) {
    const flags = yield* spinLockIrqsave(c, k.pgdLock);
    try {
      yield* body();
    } finally {
      spinUnlockIrqrestore(c, k.pgdLock, flags);
    }
  } else {
    yield* spinLock(c, k.pgdLock);
    try {
      yield* body();
    } finally {
      spinUnlock(c, k.pgdLock);
    }
  }
}

/** Builds fresh user tables for an unpinned mm: L3 → L2 → one L1 mapping `pages` data pages. */
export function buildUserTables(k: MmCtx, c: Cpu, mm: Mm, data: readonly number[], flags: number): void {
  mm.l3 = zeroedPage(k, c);
  mm.l2 = zeroedPage(k, c);
  const l1 = zeroedPage(k, c);
  mm.l1s.push(l1);
  data.forEach((p, i) => plainStore(k, c, l1, i, pte(k.mem.mfn(p), flags)));
  mm.data.push(...data);
  plainStore(k, c, mm.l2, USER_L2_SLOT, pte(k.mem.mfn(l1), PTE.PAGE_TABLE));
  plainStore(k, c, mm.l3, 0, pte(k.mem.mfn(mm.l2), PTE.PAGE_TABLE));
  plainStore(k, c, mm.pgd, 0, pte(k.mem.mfn(mm.l3), PTE.PAGE_TABLE));
  plainStore(k, c, mm.userPgd, 0, pte(k.mem.mfn(mm.l3), PTE.PAGE_TABLE));
}
