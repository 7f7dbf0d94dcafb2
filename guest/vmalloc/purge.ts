// Lazy freeing and the purge, as in 2.6.28 mm/vmalloc.c with the seed patch applied
// (free_unmap_vmap_area_noflush, lazy_max_pages, try_purge_vmap_area_lazy, purge_vmap_area_lazy,
// __purge_vmap_area_lazy(start, end, sync, enum purge_flush)):
//   lock:  trylock when !sync && flush != FORCE, else a blocking spin_lock(&purge_lock);
//   flush: (nr && flush == IF_NEEDED) || flush == FORCE — 2.6.28's `nr || force_flush` with
//          IF_NEEDED ≡ force 0 and FORCE ≡ force 1; NEVER exists only with the patch;
//   order: unmap the lazy areas' PTEs, flush, and only then free their virtual ranges.

import { KernelBug } from '../bug.ts';
import type { Cpu } from '../smp/cpu.ts';
import { frame, kernelFn, PREEMPT, type Co } from '../smp/co.ts';
import { spinLock, spinTrylock, spinUnlock } from '../smp/spinlock.ts';
import { flushTlbKernelRange, type TlbFlushCtx } from '../xen-mmu/tlb-flush.ts';
import { noteFreedUnflushed, type HazardCtx } from './hazard.ts';
import { vunmapPageRange, type PteRangeCtx } from './pte-range.ts';
import { VM_LAZY_FREE, VM_LAZY_FREEING, type VmapArea } from './vmap-area.ts';

export const PURGE_FLUSH = { NEVER: 0, IF_NEEDED: 1, FORCE: 2 } as const;
export type PurgeFlush = (typeof PURGE_FLUSH)[keyof typeof PURGE_FLUSH];
export const PURGE_FLUSH_NAMES = ['never', 'if_needed', 'force'] as const;

/**
 * What mm/vmalloc.c uses: the vmap state and the policy, the PTE walkers, the arch's
 * flush_tlb_kernel_range (through the multicall and SMP layers), and the hazard tracker.
 */
export interface VmallocCtx extends TlbFlushCtx, PteRangeCtx, HazardCtx {}

/** fls(x): the 1-based index of the highest set bit. */
function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/** lazy_max_pages(): fls(num_online_cpus()) * 32 MiB / PAGE_SIZE (0 when vmap_lazy_unmap is off). */
export function lazyMaxPages(k: VmallocCtx): number {
  const p = k.policy;
  if (!p.vmapLazyUnmap) return 0;
  if (p.lazyMaxPagesConstant !== null) return p.lazyMaxPagesConstant;
  return Math.floor(fls(k.cpus.length) * 8192 * p.lazyMaxPagesScale);
}

/** A range of page indices being widened over purged areas; start > end means empty. */
export interface PurgeRange {
  start: number;
  end: number;
}

/** unmap_vmap_area: clears the area's PTEs (no flush). */
export function unmapVmapArea(k: VmallocCtx, c: Cpu, va: VmapArea): void {
  vunmapPageRange(k, c, va.start, va.pages);
}

export const purgeVmapAreaLazyRange = kernelFn('__purge_vmap_area_lazy', function* (k: VmallocCtx, c: Cpu, range: PurgeRange, sync: boolean, flush: PurgeFlush): Co {
  const vs = k.vmap;
  const lock = vs.purgeLock;
  if (!sync && flush !== PURGE_FLUSH.FORCE) {
    if (!spinTrylock(c, lock)) {
      k.emit({ event: 'purge', vcpu: c.id, sync, flush: PURGE_FLUSH_NAMES[flush], purged_pages: 0, areas: 0, flushed: false, skipped: true });
      return;
    }
  } else {
    if (lock.sleeping && !c.irqsEnabled) {
      k.warnOn(c, 'mutex_lock', 'BUG: sleeping function called from invalid context (vmap_purge_lock with interrupts off)');
    }
    yield* spinLock(c, lock);
  }
  let nr = 0;
  const purged: VmapArea[] = [];
  for (const va of vs.areas) {
    if (!(va.flags & VM_LAZY_FREE)) continue;
    range.start = Math.min(range.start, va.start);
    range.end = Math.max(range.end, va.end);
    nr += va.pages;
    purged.push(va);
    if (k.policy.ptePolicy === 'lazy') unmapVmapArea(k, c, va);
    va.flags = (va.flags & ~VM_LAZY_FREE) | VM_LAZY_FREEING;
  }
  if (nr > 0) {
    if (nr > vs.lazyNr) throw new KernelBug('__purge_vmap_area_lazy', `BUG_ON(nr ${nr} > vmap_lazy_nr ${vs.lazyNr})`);
    vs.lazyNr -= nr;
  }
  const flushed = (nr > 0 && flush === PURGE_FLUSH.IF_NEEDED) || flush === PURGE_FLUSH.FORCE;
  if (flushed) yield* flushTlbKernelRange(k, c, range.start, range.end);
  if (nr > 0) {
    yield* spinLock(c, vs.vmapAreaLock);
    for (const va of purged) {
      if (!flushed) noteFreedUnflushed(k, c, va.start, va.end);
      vs.remove(va);
    }
    spinUnlock(c, vs.vmapAreaLock);
  }
  spinUnlock(c, lock);
  k.emit({ event: 'purge', vcpu: c.id, sync, flush: PURGE_FLUSH_NAMES[flush], purged_pages: nr, areas: purged.length, flushed });
});

/** try_purge_vmap_area_lazy: (sync 0, IF_NEEDED) — gives up if another purge runs. */
export function tryPurgeVmapAreaLazy(k: VmallocCtx, c: Cpu): Co {
  return frame(c, 'try_purge_vmap_area_lazy', purgeVmapAreaLazyRange(k, c, { start: Infinity, end: 0 }, false, PURGE_FLUSH.IF_NEEDED));
}

/** purge_vmap_area_lazy: (sync 1, IF_NEEDED), as alloc_vmap_area does on exhaustion. */
export function purgeVmapAreaLazy(k: VmallocCtx, c: Cpu): Co {
  return frame(c, 'purge_vmap_area_lazy', purgeVmapAreaLazyRange(k, c, { start: Infinity, end: 0 }, true, PURGE_FLUSH.IF_NEEDED));
}

/**
 * free_unmap_vmap_area_noflush: mark the area lazily freed (PTEs stay under the lazy policy; the
 * eager policy of 2.6.37 clears them now) and purge when vmap_lazy_nr passes lazy_max_pages().
 */
export const freeUnmapVmapAreaNoflush = kernelFn('free_unmap_vmap_area_noflush', function* (k: VmallocCtx, c: Cpu, va: VmapArea): Co {
  if (k.policy.ptePolicy === 'eager') unmapVmapArea(k, c, va);
  va.flags |= VM_LAZY_FREE;
  // Not atomic in 2.6.28: the flag is set, then atomic_add(&vmap_lazy_nr) follows, with no lock
  // held, and __purge_vmap_area_lazy walks vmap_area_list under rcu_read_lock only. A purge on
  // another CPU in this gap counts the area in nr but not in vmap_lazy_nr: its BUG_ON fires.
  if (k.policy.lazyFreeGap) yield PREEMPT;
  k.vmap.lazyNr += va.pages;
  if (k.vmap.lazyNr > lazyMaxPages(k)) yield* tryPurgeVmapAreaLazy(k, c);
});
