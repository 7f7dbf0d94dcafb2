// The kernel operations a scenario's vCPU programs are made of, each mapped to the 2.6.28 code
// path it stands for (vmalloc/vfree, vm_map_ram, fork → dup_mmap → xen_dup_mmap, exec →
// activate_mm, a page fault that allocates a PTE page, exit_mmap, suspend, …).

import { KernelBug } from './bug.ts';
import { PTE, pte } from './mm/mem.ts';
import { buildUserTables, Mm, pgdAlloc, plainStore, USER_L2_SLOT, withPgdLock, zeroedPage } from './mm/mm-struct.ts';
import { localIrqDisable, localIrqEnable, type Cpu } from './smp/cpu.ts';
import { frame, kernelFn, PREEMPT, type Co } from './smp/co.ts';
import { spinLock, spinUnlock } from './smp/spinlock.ts';
import { stopMachine } from './smp/stop-machine.ts';
import { barrierWait, type Barrier } from './smp/barrier.ts';
import { vunmapPageRange, } from './vmalloc/pte-range.ts';
import { vaOf, type VmapArea } from './vmalloc/vmap-area.ts';
import { vfree, vmalloc, vmMapRam, vmUnmapRam } from './vmalloc/vmalloc.ts';
import { vmUnmapAliases } from './vmalloc/unmap-aliases.ts';
import { xenExitMmap } from './xen-mmu/exit-mmap.ts';
import { activateMm, xenMmPinAll, xenMmUnpinAll, xenPgdPin, type PinCtx } from './xen-mmu/pin.ts';
import { xenAllocPtpage, xenReleasePtpage } from './xen-mmu/ptpage.ts';
import { xenKillAliases } from './xen-mmu/alias-kill.ts';
import { xenCreateContiguousRegion, type ContiguousCtx } from './xen-mmu/contiguous.ts';
import type { PinSite } from './policy.ts';
import { flushTlbKernelRange, flushTlbMm } from './xen-mmu/tlb-flush.ts';
import { enterLazyMmu, leaveLazyMmu, PARAVIRT_LAZY_MMU, xenMcBatch, xenMcEntry, xenMcIssue } from './xen-mmu/multicall.ts';
import { MMU } from '../hypervisor/index.ts';

export type Op =
  | { op: 'vmalloc'; name: string; pages: number }
  | { op: 'vfree'; name: string }
  | { op: 'vm_map_ram'; name: string; pages: number }
  | { op: 'vm_unmap_ram'; name: string }
  | { op: 'vm_unmap_aliases' }
  | { op: '__vm_unmap_aliases'; allow_flush: boolean }
  | { op: 'unmap_kernel_range'; name: string }
  | { op: 'touch'; name: string; write?: boolean }
  | { op: 'local_irq_disable' }
  | { op: 'local_irq_enable' }
  | { op: 'spawn'; name: string; pages?: number }
  | { op: 'fork'; parent: string; child: string }
  | { op: 'exec'; name: string; pages?: number }
  | { op: 'exec_fail'; name: string }
  | { op: 'pgd_alloc'; name: string }
  | { op: 'use_mm'; mm: string }
  | { op: 'lazy_leave_mm'; mm: string }
  | { op: 'fault'; mm: string; count?: number }
  | { op: 'exit'; mm: string }
  | { op: 'flush_tlb_mm'; mm: string }
  | { op: 'suspend' }
  | { op: 'vmalloc_init' }
  | { op: 'alloc_pte_init_mm' }
  | { op: 'kill_aliases'; site?: PinSite }
  | { op: 'create_contiguous'; pages: number }
  | { op: 'barrier'; name: string; count: number }
  | { op: 'free_pte'; mm: string };

export const OP_NAMES = [
  'vmalloc', 'vfree', 'vm_map_ram', 'vm_unmap_ram', 'vm_unmap_aliases', '__vm_unmap_aliases',
  'unmap_kernel_range', 'touch', 'local_irq_disable', 'local_irq_enable', 'spawn', 'fork', 'exec',
  'exec_fail', 'pgd_alloc', 'use_mm', 'lazy_leave_mm', 'fault', 'exit', 'flush_tlb_mm', 'suspend',
  'vmalloc_init', 'alloc_pte_init_mm', 'kill_aliases', 'create_contiguous', 'barrier', 'free_pte',
] as const;

/** A scenario that names something it never made (caught when the op runs). */
export class ScenarioError extends Error {
  override name = 'ScenarioError';
  /** The operation that failed: its program (a vCPU id, or the setup) and its index there. */
  op?: { program: number | 'setup'; index: number };
}

/** Named things the programs create and refer to. */
export class Objects {
  readonly vmalloc = new Map<string, VmapArea>();
  readonly vmMapRam = new Map<string, { start: number; pfns: number[] }>();
  readonly mms = new Map<string, Mm>();
  /** Data pages an mm owns (a fork's child shares its parent's). */
  readonly ownsData = new Set<Mm>();

  get<T>(map: Map<string, T>, name: string, what: string): T {
    const v = map.get(name);
    if (v === undefined) throw new ScenarioError(`no ${what} named "${name}" exists at this point`);
    return v;
  }
}

/**
 * What the operations use: every subsystem's context (arch/x86/xen/mmu.c's, which brings mm,
 * vmalloc, the multicall and SMP layers; the contiguous-region exchange's), the scenario's named
 * objects and its rendezvous.
 */
export interface OpsCtx extends PinCtx, ContiguousCtx {
  readonly objects: Objects;
  barrier(name: string, count: number): Barrier;
}

export function describeOp(op: Op): string {
  const args = Object.entries(op)
    .filter(([k]) => k !== 'op')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return args ? `${op.op} ${args}` : op.op;
}

function* newProcess(k: OpsCtx, c: Cpu, name: string, pages: number): Co<Mm> {
  const mm = yield* pgdAlloc(k, c, name);
  const data = Array.from({ length: pages }, () => k.mem.alloc());
  buildUserTables(k, c, mm, data, PTE.USER_RW);
  k.objects.mms.set(name, mm);
  k.objects.ownsData.add(mm);
  return mm;
}

/**
 * set_pmd / set_pte on a user table: a plain store while the mm is not pinned; otherwise a queued
 * mmu_update, issued at once unless lazy MMU mode covers `mode` (then at arch_leave_lazy_mmu_mode).
 */
function setUserEntry(k: OpsCtx, c: Cpu, mm: Mm, table: number, slot: number, val: bigint, mode = 0): void {
  if (!k.mem.pinned(mm.pgd)) {
    plainStore(k, c, table, slot, val);
    return;
  }
  xenMcBatch(c, k.mc(c));
  const ptr = BigInt(k.mem.mfn(table)) * 4096n + BigInt(slot * 8) + BigInt(MMU.NORMAL_PT_UPDATE);
  xenMcEntry(k, c, { op: 'mmu_update', reqs: [{ ptr, val }] });
  xenMcIssue(k, c, mode);
}

/**
 * dup_mmap's copy_page_range for the data pages: the child maps them read-only (plain stores, it
 * is not pinned yet) and the parent's PTEs are write-protected for copy-on-write in lazy MMU mode
 * (one multicall at the end); then flush_tlb_mm(oldmm).
 */
const copyPageRange = kernelFn('copy_page_range', function* (k: OpsCtx, c: Cpu, parent: Mm, child: Mm): Co {
  buildUserTables(k, c, child, parent.data, PTE.USER_RO);
  enterLazyMmu(k, c);
  parent.data.forEach((p, i) => setUserEntry(k, c, parent, parent.l1s[0]!, i, pte(k.mem.mfn(p), PTE.USER_RO), PARAVIRT_LAZY_MMU));
  leaveLazyMmu(k, c);
  yield* flushTlbMm(k, c, parent);
});

/** munmap of the last PTE page's range: zap its PTE, clear the pmd, free_pte_range → xen_release_ptpage. */
const freePte = kernelFn('free_pte_range', function* (k: OpsCtx, c: Cpu, mm: Mm): Co {
  if (mm.l1s.length < 2) throw new ScenarioError(`mm ${mm.name} has no faulted-in PTE page to free`);
  yield* spinLock(c, mm.pageTableLock);
  const pfn = mm.l1s.pop()!;
  setUserEntry(k, c, mm, pfn, 0, 0n);
  setUserEntry(k, c, mm, mm.l2, USER_L2_SLOT + mm.l1s.length, 0n);
  xenReleasePtpage(k, c, pfn, true);
  k.mem.free(pfn);
  const data = mm.faultData.get(pfn);
  mm.faultData.delete(pfn);
  if (data !== undefined) k.mem.free(data);
  spinUnlock(c, mm.pageTableLock);
});

/** A page fault in mm that needs a new PTE page (__pte_alloc → pmd_populate, then set_pte_at). */
const faultPteAlloc = kernelFn('__pte_alloc', function* (k: OpsCtx, c: Cpu, mm: Mm): Co {
  yield* spinLock(c, mm.pageTableLock);
  const pfn = zeroedPage(k, c);
  yield* xenAllocPtpage(k, c, k.mem.pinned(mm.pgd), pfn, true);
  const slot = USER_L2_SLOT + mm.l1s.length;
  if (slot >= 512) throw new ScenarioError(`mm ${mm.name} has no room for another PTE page`);
  setUserEntry(k, c, mm, mm.l2, slot, pte(k.mem.mfn(pfn), PTE.PAGE_TABLE));
  mm.l1s.push(pfn);
  const data = k.mem.alloc();
  mm.faultData.set(pfn, data);
  setUserEntry(k, c, mm, pfn, 0, pte(k.mem.mfn(data), PTE.USER_RW));
  spinUnlock(c, mm.pageTableLock);
});

/** exit_mmap's teardown after xen_exit_mmap: tables and owned pages back to the allocator. */
function* freeMm(k: OpsCtx, c: Cpu, mm: Mm): Co {
  yield* withPgdLock(k, c, function* () {
    k.pgdList.splice(k.pgdList.indexOf(mm), 1);
  });
  for (const [pfn] of mm.walkPages()) k.mem.free(pfn);
  k.mem.free(mm.pgd);
  k.mem.free(mm.userPgd);
  if (k.objects.ownsData.delete(mm)) for (const p of mm.data) k.mem.free(p);
  k.objects.mms.delete(mm.name);
}

/** dup_mmap: the child's tables, copy_page_range, then arch_dup_mmap → xen_dup_mmap's pin. */
function* dupMmap(k: OpsCtx, c: Cpu, parent: Mm, name: string): Co {
  const child = yield* pgdAlloc(k, c, name);
  yield* copyPageRange(k, c, parent, child);
  k.objects.mms.set(name, child);
  yield* frame(c, 'xen_dup_mmap', xenPgdPin(k, c, child));
}

/** exit_mmap: xen_exit_mmap (arch_exit_mmap), then the teardown. */
function* exitMmap(k: OpsCtx, c: Cpu, mm: Mm): Co {
  yield* xenExitMmap(k, c, mm);
  yield* freeMm(k, c, mm);
}

/** xen_suspend, run by stop_machine with interrupts off: pin every pgd, then unpin them. */
function* xenSuspend(k: OpsCtx, c: Cpu): Co {
  if (c.irqsEnabled) throw new KernelBug('xen_suspend', 'BUG_ON(!irqs_disabled())');
  yield* xenMmPinAll(k, c);
  yield* xenMmUnpinAll(k, c);
}

/** unmap_kernel_range: clear the PTEs, then flush at once. */
function* unmapKernelRange(k: OpsCtx, c: Cpu, va: VmapArea): Co {
  vunmapPageRange(k, c, va.start, va.pages);
  yield* flushTlbKernelRange(k, c, va.start, va.end);
}

type OpOf<K extends Op['op']> = Extract<Op, { op: K }>;
type OpFn<K extends Op['op']> = (k: OpsCtx, c: Cpu, op: OpOf<K>) => Co;

// One entry per scenario operation, each a line or two that calls the kernel path it names. A
// table of small functions rather than one switch: V8 optimises each on its own, so an operation
// first met late in a compare (a new scenario) compiles its own few lines, where one switch over
// all of them was thrown out and recompiled whole each time (the compiler's largest cost).
const OPS: { [K in Op['op']]: OpFn<K> } = {
  *vmalloc(k, c, op) {
    k.objects.vmalloc.set(op.name, yield* vmalloc(k, c, op.pages));
  },
  *vfree(k, c, op) {
    const o = k.objects;
    const va = o.get(o.vmalloc, op.name, 'vmalloc area');
    o.vmalloc.delete(op.name);
    yield* vfree(k, c, va);
  },
  *vm_map_ram(k, c, op) {
    const pfns = Array.from({ length: op.pages }, () => k.mem.alloc());
    const start = yield* vmMapRam(k, c, pfns);
    k.objects.vmMapRam.set(op.name, { start, pfns });
  },
  *vm_unmap_ram(k, c, op) {
    const o = k.objects;
    const m = o.get(o.vmMapRam, op.name, 'vm_map_ram mapping');
    o.vmMapRam.delete(op.name);
    yield* vmUnmapRam(k, c, m.start, m.pfns.length);
    for (const p of m.pfns) k.mem.free(p);
  },
  *vm_unmap_aliases(k, c) {
    yield* vmUnmapAliases(k, c, true, 'vm_unmap_aliases');
  },
  *__vm_unmap_aliases(k, c, op) {
    yield* vmUnmapAliases(k, c, op.allow_flush, '__vm_unmap_aliases');
  },
  *unmap_kernel_range(k, c, op) {
    const va = k.objects.get(k.objects.vmalloc, op.name, 'vmalloc area');
    yield* frame(c, 'unmap_kernel_range', unmapKernelRange(k, c, va));
  },
  *touch(k, c, op) {
    const va = k.objects.get(k.objects.vmalloc, op.name, 'vmalloc area');
    k.port.access(k.caller(c), vaOf(va.start), op.write ?? true);
  },
  *local_irq_disable(k, c) {
    // This vCPU's own interrupt flag: no other vCPU's step reads it.
    c.fp?.pure();
    localIrqDisable(c);
    k.emit({ event: 'irq', vcpu: c.id, enabled: false, why: 'local_irq_disable' });
  },
  *local_irq_enable(k, c) {
    c.fp?.pure();
    localIrqEnable(c);
    k.emit({ event: 'irq', vcpu: c.id, enabled: true, why: 'local_irq_enable' });
  },
  *spawn(k, c, op) {
    const mm = yield* newProcess(k, c, op.name, op.pages ?? 4);
    yield* frame(c, 'xen_dup_mmap', xenPgdPin(k, c, mm));
  },
  *fork(k, c, op) {
    yield* frame(c, 'dup_mmap', dupMmap(k, c, k.objects.get(k.objects.mms, op.parent, 'mm'), op.child));
  },
  *exec(k, c, op) {
    const mm = yield* newProcess(k, c, op.name, op.pages ?? 4);
    yield* frame(c, 'xen_activate_mm', xenPgdPin(k, c, mm));
    activateMm(k, c, mm);
  },
  *exec_fail(k, c, op) {
    yield* newProcess(k, c, op.name, 1);
  },
  *pgd_alloc(k, c, op) {
    yield* newProcess(k, c, op.name, 1);
  },
  *use_mm(k, c, op) {
    activateMm(k, c, k.objects.get(k.objects.mms, op.mm, 'mm'));
  },
  *lazy_leave_mm(k, c, op) {
    const mm = k.objects.get(k.objects.mms, op.mm, 'mm');
    mm.cpuVmMask.delete(c.id);
    k.percpu(c).activeMm = null;
  },
  *fault(k, c, op) {
    const mm = k.objects.get(k.objects.mms, op.mm, 'mm');
    for (let i = 0; i < (op.count ?? 1); i++) yield* faultPteAlloc(k, c, mm);
  },
  *exit(k, c, op) {
    const mm = k.objects.get(k.objects.mms, op.mm, 'mm');
    yield* frame(c, 'exit_mmap', exitMmap(k, c, mm));
  },
  *free_pte(k, c, op) {
    yield* freePte(k, c, k.objects.get(k.objects.mms, op.mm, 'mm'));
  },
  *flush_tlb_mm(k, c, op) {
    yield* flushTlbMm(k, c, k.objects.get(k.objects.mms, op.mm, 'mm'));
  },
  *suspend(k, c) {
    yield* stopMachine(k, c, () => frame(c, 'xen_suspend', xenSuspend(k, c)));
  },
  *vmalloc_init(k) {
    k.vmap.initialized = true;
  },
  *alloc_pte_init_mm(k, c) {
    const pfn = zeroedPage(k, c);
    yield* xenAllocPtpage(k, c, true, pfn, true);
  },
  *kill_aliases(k, c, op) {
    yield* xenKillAliases(k, c, op.site ?? 'pgd_pin');
  },
  *barrier(k, c, op) {
    yield* barrierWait(c, k.barrier(op.name, op.count));
  },
  *create_contiguous(k, c, op) {
    const pfns = Array.from({ length: op.pages }, () => k.mem.alloc());
    yield* xenCreateContiguousRegion(k, c, pfns);
  },
};

export function* runOp(k: OpsCtx, c: Cpu, op: Op): Co {
  // The step that starts an operation ends here, having touched nothing shared.
  c.fp?.pure();
  yield PREEMPT;
  yield* (OPS[op.op] as OpFn<Op['op']>)(k, c, op);
}
