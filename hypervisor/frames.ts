// The frame table: Xen's struct page_info, one per MFN, as a struct of typed arrays, and the page
// contents. Models xen/arch/x86/include/asm/mm.h (count_info, type_info, tlbflush_timestamp,
// linear_pt_count). 18 bytes a frame; contents exist only for frames that were written.

import { ENTRIES_PER_TABLE } from './pte.ts';
import type { Ulong } from './types.ts';

/**
 * What an MFN argument above 2^53 (a bigint) becomes inside the model: a number no frame table
 * reaches, so mfn_valid() is false and Xen's -EINVAL follows, as for any frame past max_page.
 */
export const NOT_A_FRAME = 2 ** 53;
/** An unsigned long MFN argument as the frame table indexes it (see NOT_A_FRAME). */
export function frameOf(mfn: Ulong): number {
  return typeof mfn === 'number' ? mfn : NOT_A_FRAME;
}

/** type_info's type field (bits 63:61): PGT_none … PGT_writable_page. */
export const PGT_none = 0;
export const PGT_l1_page_table = 1;
export const PGT_l2_page_table = 2;
export const PGT_l3_page_table = 3;
export const PGT_l4_page_table = 4;
export const PGT_seg_desc_page = 5;
export const PGT_shared_page = 6;
export const PGT_writable_page = 7;
export const TYPE_NAMES = ['none', 'l1', 'l2', 'l3', 'l4', 'seg_desc', 'shared', 'writable'] as const;
export type TypeName = (typeof TYPE_NAMES)[number];

/** Bits of the `flags` array: PGC_allocated from count_info, PGT_pinned/validated from type_info. */
export const F_ALLOCATED = 1;
export const F_PINNED = 2;
export const F_VALIDATED = 4;
/** PGT_partial: a table whose validation failed part-way, its first `nr` entries still held. */
export const F_PARTIAL = 8;

/**
 * A partially validated table's nr_validated_ptes and partial_flags & PTF_partial_set (the entry at
 * nr holds a partial reference on a lower table whose own validation failed part-way).
 */
export interface PartialState {
  nr: number;
  partialSet: boolean;
}

/**
 * The simulated machine's frames: 2^26 (256 GiB), the largest machine the simulator builds. RAM is
 * [IO_MFN_LIMIT, MAX_MACHINE_FRAMES); the frame table's arrays cover only up to the highest frame a
 * domain was given, and the RAM past it is free.
 */
export const MAX_MACHINE_FRAMES = 2 ** 26;

/** No owner: a free frame, or I/O memory below 0x100. */
export const NO_OWNER = 0xffff;
/** Frames below this MFN that no domain owns are I/O memory (DOMID_IO). */
export const IO_MFN_LIMIT = 0x100;

const U64_COUNT_MASK = (1n << 55n) - 1n;

export class FrameTable {
  /** max_page: frames [0, size) have a page_info (are RAM or I/O); the rest is not RAM. */
  size = 0;
  owner = new Uint16Array(0);
  /** General reference count (count_info & PGC_count_mask). */
  count = new Uint32Array(0);
  flags = new Uint8Array(0);
  type = new Uint8Array(0);
  /** type_info & PGT_count_mask. */
  typeCount = new Uint32Array(0);
  tlbflushTimestamp = new Uint32Array(0);
  /** linear_pt_count: > 0 = linear entries in this table, < 0 = uses as a linear target (XSA-240). */
  linear = new Int16Array(0);
  /** nr_validated_ptes / partial_flags of the frames with F_PARTIAL. */
  readonly partial = new Map<number, PartialState>();
  /** Page contents, 512 entries as lo/hi uint32 pairs, only for frames written. */
  private pages = new Map<number, Uint32Array>();
  /**
   * Contents of dropped pages, for reuse (zeroed when handed out): a new 4 KiB typed array costs
   * a malloc and GC bookkeeping, and a replay frees, clears and rewrites frames all the time.
   */
  private spare: Uint32Array[] = [];
  private static readonly MAX_SPARE = 64;
  /** Which slots of a page are present, remembered until the page is next written (presentSlots). */
  private present = new Map<number, Int16Array>();
  private static readonly scratch = new Int16Array(ENTRIES_PER_TABLE);

  /** Grows the table to cover [0, size). Existing frames keep their state. */
  grow(size: number): void {
    if (size <= this.size) return;
    const grow16 = (a: Uint16Array, fill = 0) => {
      const b = new Uint16Array(size).fill(fill);
      b.set(a);
      return b;
    };
    this.owner = grow16(this.owner, NO_OWNER);
    this.count = copyInto(new Uint32Array(size), this.count);
    this.flags = copyInto(new Uint8Array(size), this.flags);
    this.type = copyInto(new Uint8Array(size), this.type);
    this.typeCount = copyInto(new Uint32Array(size), this.typeCount);
    this.tlbflushTimestamp = copyInto(new Uint32Array(size), this.tlbflushTimestamp);
    this.linear = copyInto(new Int16Array(size), this.linear);
    this.size = size;
  }

  /**
   * page_lock()'s condition (mm.c page_lock): a validated type holding references, its count not
   * at the maximum. Such a frame's contents change only through the checked paths.
   */
  locked(mfn: number): boolean {
    const c = this.typeCount[mfn]!;
    return c > 0 && c < 0xffffffff && (this.flags[mfn]! & F_VALIDATED) !== 0;
  }

  /** A live page table: an L1–L4 that page_lock() takes — the only frames whose entries hold references. */
  liveTable(mfn: number): boolean {
    const t = this.type[mfn]!;
    return t >= PGT_l1_page_table && t <= PGT_l4_page_table && this.locked(mfn);
  }

  /** mfn_valid(): the frame has a page_info. */
  valid(mfn: number): boolean {
    return mfn < this.size;
  }

  /**
   * Contents for reading; undefined means all zero. Writing through it is allowed only where no
   * entry's present bit changes (adjust_guest_lNe's flags): presentSlots() trusts that.
   */
  page(mfn: number): Uint32Array | undefined {
    return this.pages.get(mfn);
  }

  /**
   * The present slots of a written page, ascending. Kept until the page is next obtained for
   * writing: a refusal looks for the entries that map a frame in every live table, and most of a
   * table's 512 slots are empty or have not changed since the last look.
   */
  presentSlots(mfn: number): Int16Array {
    let slots = this.present.get(mfn);
    if (slots === undefined) {
      const p = this.pages.get(mfn);
      const scratch = FrameTable.scratch;
      let n = 0;
      if (p !== undefined) for (let i = 0; i < ENTRIES_PER_TABLE; i++) if (p[2 * i]! & 1) scratch[n++] = i;
      slots = scratch.slice(0, n);
      this.present.set(mfn, slots);
    }
    return slots;
  }

  /** Contents for writing, created zero-filled on first write; forgets the present slots. */
  pageForWrite(mfn: number): Uint32Array {
    this.present.delete(mfn);
    let p = this.pages.get(mfn);
    if (!p) {
      p = this.spare.pop()?.fill(0) ?? new Uint32Array(ENTRIES_PER_TABLE * 2);
      this.pages.set(mfn, p);
    }
    return p;
  }

  /** A freed or scrubbed frame reads as zeroes. */
  dropContents(mfn: number): void {
    this.present.delete(mfn);
    const p = this.pages.get(mfn);
    if (p === undefined) return;
    this.pages.delete(mfn);
    if (this.spare.length < FrameTable.MAX_SPARE) this.spare.push(p);
  }

  /** MFNs that have contents (the only frames that can hold page-table entries). */
  writtenFrames(): IterableIterator<number> {
    return this.pages.keys();
  }

  /** count_info as Xen prints it (caf=…). */
  caf(mfn: number): bigint {
    const alloc = this.flags[mfn]! & F_ALLOCATED ? 1n << 63n : 0n;
    return alloc | (BigInt(this.count[mfn]!) & U64_COUNT_MASK);
  }

  /**
   * caf as Xen prints it (%08lx), formatted from numbers: the same text as hex08(caf(mfn)) without
   * BigInt work, which was most of the cost of a `frame` query and of the audit's per-frame text.
   */
  cafHex(mfn: number): string {
    const c = this.count[mfn]!.toString(16);
    return this.flags[mfn]! & F_ALLOCATED ? `8${c.padStart(15, '0')}` : c.padStart(8, '0');
  }

  /** taf as Xen prints it (%016lx): hex16(taf(mfn)), from numbers (bits 63:56, then the count). */
  tafHex(mfn: number): string {
    const f = this.flags[mfn]!;
    const top = (this.type[mfn]! << 5) | (f & F_PINNED ? 8 : 0) | (f & F_VALIDATED ? 4 : 0) | (f & F_PARTIAL ? 1 : 0);
    const tc = this.typeCount[mfn]!.toString(16);
    return top === 0 ? tc.padStart(16, '0') : `${top.toString(16).padStart(2, '0')}${tc.padStart(14, '0')}`;
  }

  /** type_info as Xen prints it (taf=…). */
  taf(mfn: number): bigint {
    const f = this.flags[mfn]!;
    return (
      (BigInt(this.type[mfn]!) << 61n) |
      (f & F_PINNED ? 1n << 59n : 0n) |
      (f & F_VALIDATED ? 1n << 58n : 0n) |
      (f & F_PARTIAL ? 1n << 56n : 0n) |
      BigInt(this.typeCount[mfn]!)
    );
  }
}

function copyInto<T extends Uint8Array | Uint32Array | Int16Array>(dst: T, src: T): T {
  dst.set(src as never);
  return dst;
}

/** taf of a bare type, as Xen prints "exp" in "Bad type (saw … != exp …)". */
export function typeBits(type: number): bigint {
  return BigInt(type) << 61n;
}

/** count_info as Xen's "caf=%08lx" prints it. */
export function hex08(v: bigint): string {
  return v.toString(16).padStart(8, '0');
}

export function hex16(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}
