// The global KVA allocator of 2.6.28 mm/vmalloc.c (Nick Piggin's "mm: rewrite vmap layer"):
// vmap areas with a one-page guard gap, first fit above vstart, one synchronous purge and retry on
// exhaustion, and lazy freeing (the area keeps its PTEs until a purge; vmap_lazy_nr counts pages).
//
// Addresses are kept as page indices from VMALLOC_START; `vaOf` turns them into addresses.

import { PAGE_SIZE, VMALLOC_START } from '../mm/mem.ts';

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

export function alignUp(v: number, align: number): number {
  return Math.ceil(v / align) * align;
}
