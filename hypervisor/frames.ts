// The frame table: Xen's struct page_info, one per MFN, as typed arrays in chunks, and the page
// contents. Models xen/arch/x86/include/asm/mm.h (count_info, type_info, tlbflush_timestamp,
// linear_pt_count). 18 bytes a frame in a chunk that was written; a chunk that only ever was
// allocated or freed whole costs 17 bytes; contents exist only for frames that were written.

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

/** A chunk's frames: 2^12, so a materialized chunk is 72 KiB (18 bytes a frame). */
const CHUNK_SHIFT = 12;
export const CHUNK_FRAMES = 1 << CHUNK_SHIFT;
/** A frame's index in its chunk's arrays (see FrameTable.chunkAt). */
export const CHUNK_MASK = CHUNK_FRAMES - 1;
/** Bytes of one materialized chunk: owner 2, count 4, flags 1, type 1, type count 4, stamp 4, linear 2. */
export const CHUNK_BYTES = 18 * CHUNK_FRAMES;
/** Bytes a chunk costs while uniform: owner 2, count 1, flags 1, stamp 4, zero 1, a slot of `chunks` 8. */
const UNIFORM_BYTES = 17;
/** A written page's contents: 512 entries of 8 bytes. */
const PAGE_BYTES = ENTRIES_PER_TABLE * 8;

/** The page_info fields of CHUNK_FRAMES frames, as typed arrays (frame mfn at `mfn & CHUNK_MASK`). */
export class Chunk {
  readonly owner = new Uint16Array(CHUNK_FRAMES);
  readonly count = new Uint32Array(CHUNK_FRAMES);
  readonly flags = new Uint8Array(CHUNK_FRAMES);
  readonly type = new Uint8Array(CHUNK_FRAMES);
  readonly typeCount = new Uint32Array(CHUNK_FRAMES);
  readonly stamp = new Uint32Array(CHUNK_FRAMES);
  readonly linear = new Int16Array(CHUNK_FRAMES);
}

/**
 * The frame table, sparse: memory follows the frames used, not the machine's size. Frames come in
 * chunks of CHUNK_FRAMES. A chunk whose frames are all in one of the two states a range of frames
 * is put in at once — free (stamped alike), or allocated to a domain and untouched since — is
 * *uniform*: a few numbers, no arrays. It is materialized (its arrays made and filled) on its first
 * write of a single frame. So a 64 M-frame domain costs 16 bytes a chunk (256 KiB) until it uses
 * its frames, and a chunk its domain frees whole becomes uniform again (its arrays dropped).
 * Callers check valid() first, as Xen checks mfn_valid(): the chunk index is `mfn >>> 12` (a
 * shift: a division cost the validation bench twice as much), which an MFN of 2^32 or more would
 * wrap onto a real chunk. Below that, a read past the table gives undefined, as a typed array would.
 */
export class FrameTable {
  /** max_page: frames [0, size) have a page_info (are RAM or I/O); the rest is not RAM. */
  size = 0;
  /** The materialized chunks; undefined = uniform (u* below). */
  private chunks: (Chunk | undefined)[] = [];
  private uOwner = new Uint16Array(0);
  private uCount = new Uint8Array(0);
  private uFlags = new Uint8Array(0);
  private uStamp = new Uint32Array(0);
  /** A uniform chunk's type, type count and linear count: 0 (undefined past the table). */
  private uZero = new Uint8Array(0);
  /** Chunks materialized now and written pages, and the most of each ever at once (bytes, peakBytes). */
  private materialized = 0;
  private peakMaterialized = 0;
  private peakPages = 0;
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

  /** Grows the table to cover [0, size), the new frames free, never stamped. Existing frames keep their state. */
  grow(size: number): void {
    if (size <= this.size) return;
    const n = Math.ceil(size / CHUNK_FRAMES);
    const old = this.chunks.length;
    if (n > old) {
      this.uOwner = widen(this.uOwner, new Uint16Array(n).fill(NO_OWNER, old));
      this.uCount = widen(this.uCount, new Uint8Array(n));
      this.uFlags = widen(this.uFlags, new Uint8Array(n));
      this.uStamp = widen(this.uStamp, new Uint32Array(n));
      this.uZero = new Uint8Array(n);
      for (let i = old; i < n; i++) this.chunks.push(undefined);
    }
    this.size = size;
  }

  /** Bytes the frame table holds now: materialized chunks, uniform chunks, page contents. */
  get bytes(): number {
    return this.materialized * CHUNK_BYTES + this.chunks.length * UNIFORM_BYTES + this.pages.size * PAGE_BYTES;
  }

  /** The most bytes it held: materialized chunks and page contents each at their most. */
  get peakBytes(): number {
    return this.peakMaterialized * CHUNK_BYTES + this.chunks.length * UNIFORM_BYTES + this.peakPages * PAGE_BYTES;
  }

  // ---- page_info fields of one frame. Reads: the chunk's arrays, or its uniform state. ----------
  /** The domain that owns the frame (NO_OWNER: free, or I/O memory). */
  owner(mfn: number): number {
    const i = mfn >>> CHUNK_SHIFT;
    const c = this.chunks[i];
    return c === undefined ? this.uOwner[i]! : c.owner[mfn & CHUNK_MASK]!;
  }
  /** General reference count (count_info & PGC_count_mask). */
  count(mfn: number): number {
    const i = mfn >>> CHUNK_SHIFT;
    const c = this.chunks[i];
    return c === undefined ? this.uCount[i]! : c.count[mfn & CHUNK_MASK]!;
  }
  flags(mfn: number): number {
    const i = mfn >>> CHUNK_SHIFT;
    const c = this.chunks[i];
    return c === undefined ? this.uFlags[i]! : c.flags[mfn & CHUNK_MASK]!;
  }
  type(mfn: number): number {
    const i = mfn >>> CHUNK_SHIFT;
    const c = this.chunks[i];
    return c === undefined ? this.uZero[i]! : c.type[mfn & CHUNK_MASK]!;
  }
  /** type_info & PGT_count_mask. */
  typeCount(mfn: number): number {
    const i = mfn >>> CHUNK_SHIFT;
    const c = this.chunks[i];
    return c === undefined ? this.uZero[i]! : c.typeCount[mfn & CHUNK_MASK]!;
  }
  tlbflushTimestamp(mfn: number): number {
    const i = mfn >>> CHUNK_SHIFT;
    const c = this.chunks[i];
    return c === undefined ? this.uStamp[i]! : c.stamp[mfn & CHUNK_MASK]!;
  }
  /** linear_pt_count: > 0 = linear entries in this table, < 0 = uses as a linear target (XSA-240). */
  linear(mfn: number): number {
    const i = mfn >>> CHUNK_SHIFT;
    const c = this.chunks[i];
    return c === undefined ? this.uZero[i]! : c.linear[mfn & CHUNK_MASK]!;
  }

  // ---- Writes of one frame materialize its chunk. ------------------------------------------------
  setOwner(mfn: number, v: number): void {
    this.chunkOf(mfn).owner[mfn & CHUNK_MASK] = v;
  }
  setCount(mfn: number, v: number): void {
    this.chunkOf(mfn).count[mfn & CHUNK_MASK] = v;
  }
  setFlags(mfn: number, v: number): void {
    this.chunkOf(mfn).flags[mfn & CHUNK_MASK] = v;
  }
  setType(mfn: number, v: number): void {
    this.chunkOf(mfn).type[mfn & CHUNK_MASK] = v;
  }
  setTypeCount(mfn: number, v: number): void {
    this.chunkOf(mfn).typeCount[mfn & CHUNK_MASK] = v;
  }
  setTlbflushTimestamp(mfn: number, v: number): void {
    this.chunkOf(mfn).stamp[mfn & CHUNK_MASK] = v;
  }
  setLinear(mfn: number, v: number): void {
    this.chunkOf(mfn).linear[mfn & CHUNK_MASK] = v;
  }

  /**
   * The hot paths' handle on a frame (one chunk look-up for all its fields): the materialized
   * chunk holding mfn, whose arrays index by `mfn & CHUNK_MASK`, or undefined while the chunk is
   * uniform (then use the accessors, whose first write materializes it). Callers checked valid().
   */
  chunkAt(mfn: number): Chunk | undefined {
    return this.chunks[mfn >>> CHUNK_SHIFT];
  }

  private chunkOf(mfn: number): Chunk {
    const i = mfn >>> CHUNK_SHIFT;
    return this.chunks[i] ?? this.materialize(i);
  }

  private materialize(i: number): Chunk {
    const c = new Chunk();
    c.owner.fill(this.uOwner[i]!);
    if (this.uCount[i]) c.count.fill(this.uCount[i]!);
    if (this.uFlags[i]) c.flags.fill(this.uFlags[i]!);
    if (this.uStamp[i]) c.stamp.fill(this.uStamp[i]!);
    this.chunks[i] = c;
    if (++this.materialized > this.peakMaterialized) this.peakMaterialized = this.materialized;
    return c;
  }

  /**
   * The end of the uniform chunk holding mfn (all its frames in mfn's state), or mfn itself if
   * the chunk is materialized: a pass over a range checks one frame of a uniform chunk for all.
   */
  uniformEnd(mfn: number): number {
    const i = mfn >>> CHUNK_SHIFT;
    return this.chunks[i] === undefined ? (i + 1) * CHUNK_FRAMES : mfn;
  }

  /**
   * alloc_heap_pages + assign_pages for the free frames [from, to): owned by `dom` with the
   * allocation reference. Their type, type count and linear count are 0 already, and their stamps
   * stay (the realloc flush reads them). Whole uniform chunks change by four numbers.
   */
  allocate(from: number, to: number, dom: number): void {
    this.eachPart(from, to, (i) => {
      this.uOwner[i] = dom;
      this.uCount[i] = 1;
      this.uFlags[i] = F_ALLOCATED;
    }, (c, lo, hi) => {
      c.owner.fill(dom, lo, hi);
      c.count.fill(1, lo, hi);
      c.flags.fill(F_ALLOCATED, lo, hi);
    });
  }

  /**
   * free_domheap_page for frames [from, to) that held only their allocation reference: free,
   * untyped, stamped `stamp`. A whole chunk becomes uniform again, its arrays dropped.
   */
  free(from: number, to: number, stamp: number): void {
    const uniform = (i: number): void => {
      if (this.chunks[i] !== undefined) {
        this.chunks[i] = undefined;
        this.materialized--;
      }
      this.uOwner[i] = NO_OWNER;
      this.uCount[i] = 0;
      this.uFlags[i] = 0;
      this.uStamp[i] = stamp;
    };
    this.eachPart(from, to, uniform, (c, lo, hi) => {
      c.count.fill(0, lo, hi);
      c.owner.fill(NO_OWNER, lo, hi);
      c.type.fill(0, lo, hi);
      c.flags.fill(0, lo, hi);
      c.linear.fill(0, lo, hi);
      c.stamp.fill(stamp, lo, hi);
    }, true);
  }

  /**
   * Makes uniform again each materialized chunk within [from, to) whose frames are all free and
   * stamped alike (a domain's frames after its death: freed one by one or in runs), its arrays
   * dropped. Costs a pass over those chunks only.
   */
  compact(from: number, to: number): void {
    const last = Math.ceil(Math.min(to, this.size) / CHUNK_FRAMES);
    for (let i = Math.floor(from / CHUNK_FRAMES); i < last; i++) {
      const c = this.chunks[i];
      if (c === undefined || !freeAlike(c)) continue;
      this.chunks[i] = undefined;
      this.materialized--;
      this.uOwner[i] = NO_OWNER;
      this.uCount[i] = 0;
      this.uFlags[i] = 0;
      this.uStamp[i] = c.stamp[0]!;
    }
  }

  /**
   * Splits [from, to) by chunk: `whole(i)` for a uniform chunk it covers entirely (or, with
   * `replaces`, any chunk it covers entirely: the caller sets every field), `part(chunk, lo, hi)`
   * for the others (materialized first), lo/hi within the chunk.
   */
  private eachPart(from: number, to: number, whole: (i: number) => void, part: (c: Chunk, lo: number, hi: number) => void, replaces = false): void {
    for (let m = from; m < to; ) {
      const i = m >>> CHUNK_SHIFT;
      const start = i * CHUNK_FRAMES;
      const end = Math.min(start + CHUNK_FRAMES, to);
      if (m === start && end === start + CHUNK_FRAMES && (replaces || this.chunks[i] === undefined)) whole(i);
      else part(this.chunkOf(m), m - start, end - start);
      m = end;
    }
  }

  /**
   * page_lock()'s condition (mm.c page_lock): a validated type holding references, its count not
   * at the maximum. Such a frame's contents change only through the checked paths.
   */
  locked(mfn: number): boolean {
    const c = this.typeCount(mfn);
    return c > 0 && c < 0xffffffff && (this.flags(mfn) & F_VALIDATED) !== 0;
  }

  /** A live page table: an L1–L4 that page_lock() takes — the only frames whose entries hold references. */
  liveTable(mfn: number): boolean {
    const t = this.type(mfn);
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
      if (this.pages.size > this.peakPages) this.peakPages = this.pages.size;
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
    const alloc = this.flags(mfn) & F_ALLOCATED ? 1n << 63n : 0n;
    return alloc | (BigInt(this.count(mfn)) & U64_COUNT_MASK);
  }

  /**
   * caf as Xen prints it (%08lx), formatted from numbers: the same text as hex08(caf(mfn)) without
   * BigInt work, which was most of the cost of a `frame` query and of the audit's per-frame text.
   */
  cafHex(mfn: number): string {
    const c = this.count(mfn).toString(16);
    return this.flags(mfn) & F_ALLOCATED ? `8${c.padStart(15, '0')}` : c.padStart(8, '0');
  }

  /** taf as Xen prints it (%016lx): hex16(taf(mfn)), from numbers (bits 63:56, then the count). */
  tafHex(mfn: number): string {
    const f = this.flags(mfn);
    const top = (this.type(mfn) << 5) | (f & F_PINNED ? 8 : 0) | (f & F_VALIDATED ? 4 : 0) | (f & F_PARTIAL ? 1 : 0);
    const tc = this.typeCount(mfn).toString(16);
    return top === 0 ? tc.padStart(16, '0') : `${top.toString(16).padStart(2, '0')}${tc.padStart(14, '0')}`;
  }

  /** type_info as Xen prints it (taf=…). */
  taf(mfn: number): bigint {
    const f = this.flags(mfn);
    return (
      (BigInt(this.type(mfn)) << 61n) |
      (f & F_PINNED ? 1n << 59n : 0n) |
      (f & F_VALIDATED ? 1n << 58n : 0n) |
      (f & F_PARTIAL ? 1n << 56n : 0n) |
      BigInt(this.typeCount(mfn))
    );
  }
}

/** Every frame of the chunk free (no owner, no reference, no type, no flag) and stamped alike. */
function freeAlike(c: Chunk): boolean {
  const stamp = c.stamp[0]!;
  for (let j = 0; j < CHUNK_FRAMES; j++) {
    if (c.owner[j] !== NO_OWNER || c.count[j] !== 0 || c.flags[j] !== 0 || c.type[j] !== 0) return false;
    if (c.typeCount[j] !== 0 || c.linear[j] !== 0 || c.stamp[j] !== stamp) return false;
  }
  return true;
}

/** `wider` with `narrow`'s values at its start. */
function widen<T extends Uint8Array | Uint16Array | Uint32Array>(narrow: T, wider: T): T {
  wider.set(narrow as never);
  return wider;
}

/** hex16(typeBits(type)) for each type, as Xen prints "exp" (typeBitsHex). */
const TYPE_BITS_HEX = TYPE_NAMES.map((_, t) => hex16(BigInt(t) << 61n));

/** taf of a bare type as Xen prints it (%016lx): hex16(typeBits(type)), without BigInt work. */
export function typeBitsHex(type: number): string {
  return TYPE_BITS_HEX[type]!;
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
