// The global KVA allocator of 2.6.28 mm/vmalloc.c (Nick Piggin's "mm: rewrite vmap layer"):
// vmap areas with a one-page guard gap, first fit above vstart, one synchronous purge and retry on
// exhaustion, and lazy freeing (the area keeps its PTEs until a purge; vmap_lazy_nr counts pages).
//
// Locks: vmap_area_lock guards the area list (the rbtree and address-sorted list of the kernel);
// purge_lock (function-static in __purge_vmap_area_lazy) serialises purges.
//
// Addresses are kept as page indices from VMALLOC_START; `vaOf` turns them into addresses.

import { PAGE_SIZE, VMALLOC_START } from '../mm/mem.ts';
import { Spinlock } from '../smp/spinlock.ts';
import type { VmapBlock, VmapBlockQueue } from './vmap-block.ts';

/** vmap_area.flags */
export const VM_LAZY_FREE = 0x1;
export const VM_LAZY_FREEING = 0x2;
export const VM_VM_AREA = 0x4;

export class VmapArea {
  /** Page index of va_start; va_end = start + pages (exclusive). */
  readonly start: number;
  readonly pages: number;
  flags: number;
  /** Backing pfns of a vmalloc area (handed back to the page allocator by vfree). */
  pfns: number[] = [];
  /** What the area is for: "vmalloc", "vm_map_ram", "vmap_block". */
  readonly use: string;

  constructor(start: number, pages: number, flags: number, use: string) {
    this.start = start;
    this.pages = pages;
    this.flags = flags;
    this.use = use;
  }

  get end(): number {
    return this.start + this.pages;
  }
}

export function vaOf(pageIndex: number): bigint {
  return VMALLOC_START + BigInt(pageIndex) * PAGE_SIZE;
}

/** The vmalloc layer's global state. */
export class VmapState {
  /** Size of the vmalloc area in pages (the simulated VMALLOC_END). */
  readonly limit: number;
  /** vmap_area_list: sorted by address. */
  readonly areas: VmapArea[] = [];
  /** vmap_lazy_nr, in pages. */
  lazyNr = 0;
  readonly vmapAreaLock = new Spinlock('vmap_area_lock');
  readonly purgeLock: Spinlock;
  /** vmap_initialized: set at the end of vmalloc_init(). */
  initialized = false;
  /** Per-cpu vmap_block_queue. */
  readonly vbq: VmapBlockQueue[];
  /** vmap_block_tree: blocks by their first page index. */
  readonly blocks = new Map<number, VmapBlock>();
  /** Page indices whose lazy area was freed without a TLB flush (for the VA-reuse check). */
  readonly unflushed = new Set<number>();

  constructor(limit: number, cpus: number, purgeLockSleeps: boolean, makeQueue: (cpu: number) => VmapBlockQueue) {
    this.limit = limit;
    this.purgeLock = new Spinlock('purge_lock', purgeLockSleeps);
    this.vbq = Array.from({ length: cpus }, (_, i) => makeQueue(i));
  }

  /** First fit of `pages` at `align` above `vstart`, a guard page after every area. */
  findFree(pages: number, align: number, vstart = 0): number | undefined {
    let addr = alignUp(vstart, align);
    for (const a of this.areas) {
      if (a.end + 1 <= addr) continue;
      if (addr + pages <= a.start) break;
      addr = alignUp(a.end + 1, align);
    }
    return addr + pages <= this.limit ? addr : undefined;
  }

  insert(a: VmapArea): void {
    let i = this.areas.length;
    while (i > 0 && this.areas[i - 1]!.start > a.start) i--;
    this.areas.splice(i, 0, a);
  }

  /** __free_vmap_area: the range becomes reusable. */
  remove(a: VmapArea): void {
    const i = this.areas.indexOf(a);
    if (i >= 0) this.areas.splice(i, 1);
  }

  findArea(start: number): VmapArea | undefined {
    return this.areas.find((a) => a.start === start);
  }
}

export function alignUp(v: number, align: number): number {
  return Math.ceil(v / align) * align;
}
