// Per-cpu vmap blocks for small vm_map_ram() requests, as in 2.6.28 mm/vmalloc.c (new_vmap_block,
// vb_alloc, vb_free, free_vmap_block), with the 2008 quirks kept on purpose:
// - a request takes a power-of-two, naturally aligned run (3 pages consume 4);
// - alloc_map is never cleared, so freed space inside a block is never reused;
// - a block leaves its cpu's free list when `free` reaches 0, and then vm_unmap_aliases (which
//   walks the free lists only) no longer sees its dirty pages;
// - dirty_map is never cleared, so every later vm_unmap_aliases flushes again;
// - vb_free neither clears PTEs nor flushes (under the lazy PTE policy).
// vbq->lock and vb->lock guard the lists and bitmaps; each operation here runs without a yield
// while it touches them, so they are implied.

import type { VmapArea } from './vmap-area.ts';

/** x86-64 with NR_CPUS ≤ 2048: VMAP_BBMAP_BITS = 1024 pages (a 4 MiB block). */
export const VMAP_BBMAP_BITS = 1024;
/** VMAP_MAX_ALLOC = BITS_PER_LONG pages. */
export const VMAP_MAX_ALLOC = 64;

export class VmapBlock {
  readonly va: VmapArea;
  readonly cpu: number;
  free = VMAP_BBMAP_BITS;
  dirty = 0;
  readonly allocMap = new Uint8Array(VMAP_BBMAP_BITS);
  readonly dirtyMap = new Uint8Array(VMAP_BBMAP_BITS);
  onDirtyList = false;

  constructor(va: VmapArea, cpu: number) {
    this.va = va;
    this.cpu = cpu;
  }
}

export class VmapBlockQueue {
  readonly cpu: number;
  /** vbq->free, head first. */
  readonly free: VmapBlock[] = [];
  /** vbq->dirty: filled in 2008, read by nothing. */
  readonly dirty: VmapBlock[] = [];

  constructor(cpu: number) {
    this.cpu = cpu;
  }
}

/** get_order(pages): the power of two a request is rounded up to. */
export function orderOf(pages: number): number {
  let order = 0;
  while (1 << order < pages) order++;
  return order;
}

/** bitmap_find_free_region: the first naturally aligned run of 2^order clear bits, claimed. */
export function findFreeRegion(map: Uint8Array, order: number): number | undefined {
  const n = 1 << order;
  for (let pos = 0; pos + n <= map.length; pos += n) {
    let clear = true;
    for (let i = pos; i < pos + n; i++) if (map[i]) clear = false;
    if (clear) {
      map.fill(1, pos, pos + n);
      return pos;
    }
  }
  return undefined;
}

/** The runs [i, j) of set bits in a dirty map. */
export function dirtyRuns(map: Uint8Array): [number, number][] {
  const runs: [number, number][] = [];
  let i = 0;
  while (i < map.length) {
    if (!map[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < map.length && map[j]) j++;
    runs.push([i, j]);
    i = j;
  }
  return runs;
}
