// The users' side of 2.6.28 mm/vmalloc.c: alloc_vmap_area (first fit, one purge and a retry),
// vmalloc / vfree (pages freed at once while their PTEs stay lazily), vm_map_ram / vm_unmap_ram,
// and the per-cpu block allocator behind them (new_vmap_block, vb_alloc, vb_free, free_vmap_block).

import { KernelBug } from '../bug.ts';
import type { Cpu } from '../smp/cpu.ts';
import { kernelFn, PREEMPT, type Co } from '../smp/co.ts';
import { spinLock, spinUnlock } from '../smp/spinlock.ts';
import { checkReuse } from './hazard.ts';
import { freeUnmapVmapAreaNoflush, purgeVmapAreaLazy, type VmallocCtx } from './purge.ts';
import { vmapPageRange, vunmapPageRange } from './pte-range.ts';
import { vaOf, VM_VM_AREA, VmapArea } from './vmap-area.ts';
import { findFreeRegion, orderOf, VMAP_BBMAP_BITS, VMAP_MAX_ALLOC, VmapBlock } from './vmap-block.ts';

/** alloc_vmap_area: first fit; on failure one synchronous purge and a retry, then NULL. */
export const allocVmapArea = kernelFn('alloc_vmap_area', function* (k: VmallocCtx, c: Cpu, pages: number, align: number, use: string, flags: number): Co<VmapArea | null> {
  const vs = k.vmap;
  for (let purged = false; ; purged = true) {
    yield* spinLock(c, vs.vmapAreaLock);
    const start = vs.findFree(pages, align);
    if (start !== undefined) {
      const va = new VmapArea(start, pages, flags, use);
      vs.insert(va);
      spinUnlock(c, vs.vmapAreaLock);
      return va;
    }
    spinUnlock(c, vs.vmapAreaLock);
    if (purged) {
      k.warnOn(c, 'alloc_vmap_area', `vmap allocation for size ${pages * 4096} failed: use vmalloc=<size> to increase size`);
      return null;
    }
    yield* purgeVmapAreaLazy(k, c);
  }
});

/** Maps pfns at a fresh range, checking for reuse of a range freed without a flush. */
function mapFresh(k: VmallocCtx, c: Cpu, start: number, pfns: readonly number[]): void {
  checkReuse(k, c, start, start + pfns.length);
  vmapPageRange(k, c, start, pfns);
}

/**
 * vmalloc: an area with a guard page (__get_vm_area_node adds one), backing pages, PAGE_KERNEL
 * mappings; the caller then writes the memory, which fills its TLB for the first page.
 */
export const vmalloc = kernelFn('vmalloc', function* (k: VmallocCtx, c: Cpu, pages: number): Co<VmapArea> {
  const va = yield* allocVmapArea(k, c, pages + 1, 1, 'vmalloc', VM_VM_AREA);
  if (!va) throw new KernelBug('vmalloc', `vmalloc(${pages} pages) failed: vmalloc area exhausted`);
  va.pfns = Array.from({ length: pages }, () => k.mem.alloc());
  mapFresh(k, c, va.start, va.pfns);
  k.port.access(k.caller(c), vaOf(va.start), true);
  return va;
});

/** vfree → __vunmap: the area is freed lazily, its pages go back to the allocator at once. */
export const vfree = kernelFn('vfree', function* (k: VmallocCtx, c: Cpu, va: VmapArea): Co {
  yield* freeUnmapVmapAreaNoflush(k, c, va);
  for (const p of va.pfns) k.mem.free(p);
  va.pfns = [];
});

/** new_vmap_block: a block-sized, block-aligned area at the head of this cpu's free list. */
const newVmapBlock = kernelFn('new_vmap_block', function* (k: VmallocCtx, c: Cpu): Co<VmapBlock> {
  const va = yield* allocVmapArea(k, c, VMAP_BBMAP_BITS, VMAP_BBMAP_BITS, 'vmap_block', 0);
  if (!va) throw new KernelBug('new_vmap_block', 'vmap block allocation failed');
  const vb = new VmapBlock(va, c.id);
  k.vmap.blocks.set(va.start, vb);
  k.vmap.vbq[c.id]!.free.unshift(vb);
  return vb;
});

/** vb_alloc: a 2^order run from this cpu's free blocks; a full block leaves the free list. */
const vbAlloc = kernelFn('vb_alloc', function* (k: VmallocCtx, c: Cpu, pages: number): Co<number> {
  const order = orderOf(pages);
  const q = k.vmap.vbq[c.id]!;
  for (;;) {
    for (const vb of q.free) {
      const off = findFreeRegion(vb.allocMap, order);
      if (off === undefined) continue;
      vb.free -= 1 << order;
      if (vb.free === 0) q.free.splice(q.free.indexOf(vb), 1);
      return vb.va.start + off;
    }
    yield* newVmapBlock(k, c);
  }
});

/** vb_free: mark the run dirty (PTEs stay, no flush); a block dirty all over is freed lazily. */
const vbFree = kernelFn('vb_free', function* (k: VmallocCtx, c: Cpu, start: number, pages: number): Co {
  const order = orderOf(pages);
  const vb = k.vmap.blocks.get(Math.floor(start / VMAP_BBMAP_BITS) * VMAP_BBMAP_BITS);
  if (!vb) throw new KernelBug('vb_free', `no vmap block holds page ${start}`);
  const off = start - vb.va.start;
  vb.dirtyMap.fill(1, off, off + (1 << order));
  if (!vb.onDirtyList) {
    k.vmap.vbq[vb.cpu]!.dirty.push(vb);
    vb.onDirtyList = true;
  }
  if (k.policy.ptePolicy === 'eager') vunmapPageRange(k, c, start, 1 << order);
  vb.dirty += 1 << order;
  if (vb.dirty === VMAP_BBMAP_BITS) {
    if (vb.free !== 0) throw new KernelBug('vb_free', 'BUG_ON(vb->free): a fully dirty block still has free space');
    const q = k.vmap.vbq[vb.cpu]!;
    q.dirty.splice(q.dirty.indexOf(vb), 1);
    k.vmap.blocks.delete(vb.va.start);
    yield* freeUnmapVmapAreaNoflush(k, c, vb.va);
  }
});

/** vm_map_ram: small requests from per-cpu blocks, large ones from the global allocator. */
export const vmMapRam = kernelFn('vm_map_ram', function* (k: VmallocCtx, c: Cpu, pfns: readonly number[]): Co<number> {
  yield PREEMPT;
  let start: number;
  if (pfns.length <= VMAP_MAX_ALLOC) {
    start = yield* vbAlloc(k, c, pfns.length);
  } else {
    const va = yield* allocVmapArea(k, c, pfns.length, 1, 'vm_map_ram', 0);
    if (!va) throw new KernelBug('vm_map_ram', 'vm_map_ram failed: vmalloc area exhausted');
    start = va.start;
  }
  mapFresh(k, c, start, pfns);
  k.port.access(k.caller(c), vaOf(start), true);
  return start;
});

/** vm_unmap_ram: vb_free for small mappings, lazy free of the area for large ones. */
export const vmUnmapRam = kernelFn('vm_unmap_ram', function* (k: VmallocCtx, c: Cpu, start: number, pages: number): Co {
  if (pages <= VMAP_MAX_ALLOC) {
    yield* vbFree(k, c, start, pages);
    return;
  }
  const va = k.vmap.findArea(start);
  if (!va) throw new KernelBug('vm_unmap_ram', `BUG: no vmap area at page ${start}`);
  yield* freeUnmapVmapAreaNoflush(k, c, va);
});
