// Guest physical memory: pfn ↔ mfn (the domain's frames in order, as the domain builder lays out
// the p2m), the page allocator (LIFO, like the buddy allocator's per-cpu hot list: the page freed
// last is handed out first), the direct map at PAGE_OFFSET, and the per-page flags Xen's paravirt
// code keeps (PG_pinned, PG_savepinned; include/linux/page-flags.h).

export const PAGE_SIZE = 4096n;
/** x86-64 2.6.28: the direct map of all RAM (L4 slot 272, just past Xen's hole). */
export const PAGE_OFFSET = 0xffff880000000000n;
/** x86-64 2.6.28: VMALLOC_START (L4 slot 388). */
export const VMALLOC_START = 0xffffc20000000000n;
/** Where user programs' pages sit in the simulated processes. */
export const USER_BASE = 0x400000n;

export const PG_pinned = 1;
export const PG_savepinned = 2;

/** PTE flag words the guest writes (arch/x86/include/asm/pgtable.h, simplified: no NX/GLOBAL). */
export const PTE = {
  /** PAGE_KERNEL: present, RW, accessed, dirty. */
  KERNEL: 0x63,
  /** PAGE_KERNEL_RO. */
  KERNEL_RO: 0x61,
  /** _KERNPG_TABLE: a kernel link to a lower table. */
  KERNPG_TABLE: 0x63,
  /** _PAGE_TABLE: a user link to a lower table. */
  PAGE_TABLE: 0x67,
  /** A user data page, writable. */
  USER_RW: 0x67,
  /** A user data page, read-only (fork's COW copy). */
  USER_RO: 0x65,
} as const;

export function pte(mfn: number, flags: number): bigint {
  // One BigInt, not four (a run writes thousands of PTEs): exact while mfn * 4096 < 2^53.
  if (flags >= 0 && flags < 4096 && mfn < 2 ** 40) return BigInt(mfn * 4096 + flags);
  return (BigInt(mfn) << 12n) | BigInt(flags);
}

export class OutOfMemory extends Error {
  override name = 'OutOfMemory';
}

export class Mem {
  readonly base: number;
  readonly nrPages: number;
  /** PG_* bits per pfn. */
  readonly flags: Uint8Array;
  /**
   * The free list, in two parts: the pages freed (LIFO, on top), then the pages never handed out,
   * [fresh, nrPages), lowest first. Popping the first, then the second, is the order of one list
   * seeded with every page: without writing thousands of numbers per boot.
   */
  private readonly freed: number[] = [];
  private fresh: number;

  constructor(base: number, nrPages: number) {
    this.base = base;
    this.nrPages = nrPages;
    this.flags = new Uint8Array(nrPages);
    this.fresh = nrPages;
  }

  mfn(pfn: number): number {
    return this.base + pfn;
  }

  pfn(mfn: number): number {
    return mfn - this.base;
  }

  /** The direct-map address of a page. */
  va(pfn: number): bigint {
    return PAGE_OFFSET + BigInt(pfn * 4096);
  }

  /** Makes [first, nrPages) allocatable, lowest pfn handed out first. */
  seed(first: number): void {
    if (this.freed.length > 0 || this.fresh < this.nrPages) throw new Error('Mem.seed: seeded twice');
    this.fresh = first;
  }

  /** alloc_page: the most recently freed page first. */
  alloc(): number {
    const p = this.freed.pop();
    if (p !== undefined) return p;
    if (this.fresh >= this.nrPages) throw new OutOfMemory('out of guest memory (raise the scenario\'s memory)');
    return this.fresh++;
  }

  free(pfn: number): void {
    this.flags[pfn] = 0;
    this.freed.push(pfn);
  }

  get freePages(): number {
    return this.freed.length + this.nrPages - this.fresh;
  }

  pinned(pfn: number): boolean {
    return (this.flags[pfn]! & PG_pinned) !== 0;
  }
}
