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
  private readonly freeList: number[] = [];

  constructor(base: number, nrPages: number) {
    this.base = base;
    this.nrPages = nrPages;
    this.flags = new Uint8Array(nrPages);
  }

  mfn(pfn: number): number {
    return this.base + pfn;
  }

  pfn(mfn: number): number {
    return mfn - this.base;
  }

  /** The direct-map address of a page. */
  va(pfn: number): bigint {
    return PAGE_OFFSET + BigInt(pfn) * PAGE_SIZE;
  }

  /** Makes [first, nrPages) allocatable, lowest pfn handed out first. */
  seed(first: number): void {
    for (let p = this.nrPages - 1; p >= first; p--) this.freeList.push(p);
  }

  /** alloc_page: the most recently freed page first. */
  alloc(): number {
    const p = this.freeList.pop();
    if (p === undefined) throw new OutOfMemory('out of guest memory (raise the scenario\'s memory)');
    return p;
  }

  free(pfn: number): void {
    this.flags[pfn] = 0;
    this.freeList.push(pfn);
  }

  get freePages(): number {
    return this.freeList.length;
  }

  pinned(pfn: number): boolean {
    return (this.flags[pfn]! & PG_pinned) !== 0;
  }
}
