// mm/vmalloc.c's globals: the vmap area list and its first-fit search, vmap_lazy_nr, the per-cpu
// vmap_block_queue and vmap_block_tree, vmap_initialized.
//
// Locks: vmap_area_lock guards the area list (the rbtree and address-sorted list of the kernel);
// purge_lock (function-static in __purge_vmap_area_lazy) serialises purges.

import { Spinlock } from '../smp/spinlock.ts';
import { alignUp, type VmapArea } from './vmap-area.ts';
import type { VmapBlock, VmapBlockQueue } from './vmap-block.ts';

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
