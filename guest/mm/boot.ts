// Boot: what the domain builder and the early kernel leave behind (xen_setup_kernel_pagetable,
// xen_mark_init_mm_pinned, vmalloc_init). The direct map covers all of the domain's memory, RW
// except the page-table pages; the vmalloc area's L1s exist up front (2.6.28 allocates them on
// demand through pte_alloc_kernel, which under Xen would re-enter vm_unmap_aliases — left out);
// init_mm's L4 is pinned and loaded on every vCPU.

import { MMUEXT, type MmuextOp } from '../../hypervisor/index.ts';
import { KernelBug } from '../bug.ts';
import type { HypercallPort } from '../port.ts';
import type { Cpu } from '../smp/cpu.ts';
import { PG_pinned, pte, PTE, type Mem } from './mem.ts';

/** What boot uses: the domain, its memory and vCPUs, and the port (the builder's stores, the pin). */
export interface BootCtx {
  readonly dom: number;
  readonly port: HypercallPort;
  readonly mem: Mem;
  readonly cpus: readonly Cpu[];
}

export interface KernelTables {
  /** swapper_pg_dir / init_level4_pgt. */
  initL4: number;
  /** Direct-map L1s: pfn p is mapped by dmL1[p >> 9], slot p & 511. */
  dmL1: number[];
  /** vmalloc-area L1s: page index i is mapped by vmL1[i >> 9], slot i & 511. */
  vmL1: number[];
  /** init_mm's kernel L4 entries, which pgd_ctor copies into every new pgd. */
  kernelL4: { slot: number; val: bigint }[];
}

/** L4 slots of PAGE_OFFSET and VMALLOC_START. */
const DIRECT_MAP_L4_SLOT = 272;
const VMALLOC_L4_SLOT = 388;

export function bootKernel(k: BootCtx, memoryPages: number, vmallocPages: number, base: number): KernelTables {
  const mem = k.mem;
  const caller = { dom: k.dom, vcpu: 0 };
  k.port.createDomain({ domid: k.dom, vcpus: k.cpus.length, base, count: memoryPages });

  let next = 0;
  const take = (n: number) => Array.from({ length: n }, () => next++);
  const initL4 = take(1)[0]!;
  const dmL3 = take(1)[0]!;
  const dmL2 = take(1)[0]!;
  const dmL1 = take(Math.ceil(memoryPages / 512));
  const vmL3 = take(1)[0]!;
  const vmL2 = take(1)[0]!;
  const vmL1 = take(Math.ceil(vmallocPages / 512));
  if (next >= memoryPages) throw new KernelBug('boot', `memory of ${memoryPages} pages is too small for the kernel's page tables`);

  const store = (pfn: number, slot: number, val: bigint, count = 1, stride = 0n) => {
    const rc = k.port.store(caller, mem.mfn(pfn), slot, val, count, stride);
    if (rc !== 0) throw new KernelBug('boot', `domain builder store refused: ${rc}`);
  };
  dmL1.forEach((l1, i) => store(l1, 0, pte(mem.mfn(i * 512), PTE.KERNEL), Math.min(512, memoryPages - i * 512), 0x1000n));
  for (let p = 0; p < next; p++) store(dmL1[p >> 9]!, p & 511, pte(mem.mfn(p), PTE.KERNEL_RO));
  store(dmL2, 0, pte(mem.mfn(dmL1[0]!), PTE.KERNPG_TABLE), dmL1.length, 0x1000n);
  store(dmL3, 0, pte(mem.mfn(dmL2), PTE.KERNPG_TABLE));
  store(vmL2, 0, pte(mem.mfn(vmL1[0]!), PTE.KERNPG_TABLE), vmL1.length, 0x1000n);
  store(vmL3, 0, pte(mem.mfn(vmL2), PTE.KERNPG_TABLE));
  const kernelL4 = [
    { slot: DIRECT_MAP_L4_SLOT, val: pte(mem.mfn(dmL3), PTE.KERNPG_TABLE) },
    { slot: VMALLOC_L4_SLOT, val: pte(mem.mfn(vmL3), PTE.KERNPG_TABLE) },
  ];
  for (const { slot, val } of kernelL4) store(initL4, slot, val);

  for (const c of k.cpus) {
    const ops: MmuextOp[] = [{ cmd: MMUEXT.new_baseptr, mfn: mem.mfn(initL4) }];
    if (c.id === 0) ops.unshift({ cmd: MMUEXT.pin_l4_table, mfn: mem.mfn(initL4) });
    const r = k.port.hypercall({ dom: k.dom, vcpu: c.id }, { op: 'mmuext_op', ops });
    if (r.rc !== 0) throw new KernelBug('boot', `pinning init_mm failed: ${r.rc}`, r.refusals[0]);
  }
  for (let p = 0; p < next; p++) mem.flags[p] = PG_pinned;
  mem.seed(next);
  return { initL4, dmL1, vmL1, kernelL4 };
}
