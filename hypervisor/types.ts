// The data that crosses the hypervisor's boundary: hypercall arguments as the guest passes them
// (the structs of public/xen.h, with vCPU bitmaps as id lists), results, refusals and events.
// 64-bit values (PTEs, machine addresses, virtual addresses) are bigint. The other unsigned long
// arguments (MFNs, UVMF flags) are Ulong: a number below 2^53 — every real frame, so the common
// path allocates nothing — and a bigint only above, where no frame is (Xen answers -EINVAL).

/**
 * A C `unsigned long` / `xen_pfn_t` argument, 64 bits: a number when below 2^53 (exact), else a
 * bigint. Never a bigint below 2^53, so `typeof v === 'number'` is the fast test.
 */
export type Ulong = number | bigint;

/** Who makes a call: the domain and the vCPU that traps into Xen. */
export interface Caller {
  dom: number;
  vcpu: number;
}

/** struct mmu_update: ptr is the machine address of the entry, ptr & 7 the command. */
export interface MmuUpdateReq {
  ptr: bigint;
  val: bigint;
}

/** struct mmuext_op, with arg1/arg2 unions spelled out. vcpumask null = an unreadable pointer. */
export interface MmuextOp {
  cmd: number;
  mfn?: Ulong;
  linear_addr?: bigint;
  vcpumask?: number[] | null;
  nr_ents?: number;
  src_mfn?: Ulong;
}

export interface MmuUpdateCall {
  op: 'mmu_update';
  reqs: MmuUpdateReq[];
  foreigndom?: number;
}
export interface MmuextOpCall {
  op: 'mmuext_op';
  ops: MmuextOp[];
  foreigndom?: number;
}
export interface UpdateVaMappingCall {
  op: 'update_va_mapping';
  va: bigint;
  val: bigint;
  /** UVMF_*: flags & 3 = none/tlb_flush/invlpg; flags & ~3 = local (0), all (4), or multi. */
  flags: Ulong;
  /** The vCPU bitmap of UVMF_MULTI; null = an unreadable pointer (-EFAULT after the update). */
  vcpumask?: number[] | null;
}
/** Hypercall 22: update_va_mapping with FD = domid (domid_t in the prototype: 16 bits). */
export interface UpdateVaMappingOtherdomainCall extends Omit<UpdateVaMappingCall, 'op'> {
  op: 'update_va_mapping_otherdomain';
  domid: number;
}
export interface MulticallCall {
  op: 'multicall';
  calls: Hypercall[];
}
/** Hypercall 2: `entries` descriptors in the first ceil(entries/512) frames of the list. */
export interface SetGdtCall {
  op: 'set_gdt';
  frames: Ulong[];
  entries: number;
}
/** Hypercall 12, XENMEM_decrease_reservation (order-0 extents): rc = extents done. */
export interface DecreaseReservationCall {
  op: 'decrease_reservation';
  mfns: Ulong[];
}
/** Hypercall 12, XENMEM_exchange: its steal_page check only. */
export interface MemoryExchangeCall {
  op: 'memory_exchange';
  mfns: Ulong[];
}
/** A hypercall number Xen has no handler for (answered -ENOSYS). */
export interface UnknownHypercall {
  op: 'hypercall';
  nr: Ulong;
}
export type Hypercall =
  | MmuUpdateCall
  | MmuextOpCall
  | UpdateVaMappingCall
  | UpdateVaMappingOtherdomainCall
  | MulticallCall
  | SetGdtCall
  | DecreaseReservationCall
  | MemoryExchangeCall
  | UnknownHypercall;

/** One table entry on the way to a failure: validation of `mfn` (level) failed at `slot`. */
export interface ChainLink {
  mfn: number;
  level: number;
  slot: number;
  val: bigint;
}

/** Something that holds a reference which stands in the way (an entry, a pin, a CR3). */
export interface Holder {
  kind: 'l1e' | 'l2e' | 'l3e' | 'l4e' | 'pin' | 'cr3' | 'cr3_user' | 'gdt';
  /** The table holding the entry, or the pinned frame, or the frame in CR3. */
  mfn: number;
  slot?: number;
  val?: bigint;
  dom: number;
  vcpu?: number;
  /** For entries: whether the entry is writable (holds a writable type ref). */
  rw?: boolean;
}

/** Why Xen refused one operation, in Xen's terms, and who stands in the way. */
export interface Refusal {
  /** Where in the call: "" for a plain call, "reqs[3]", "ops[0]", "calls[1].ops[0]". */
  at: string;
  /** "pin_l1_table mfn 0x1010", "mmu_update ptr 0x1004028", … */
  what: string;
  rc: number;
  /** One line: the innermost cause, e.g. "Bad type (saw writable != exp l1) for mfn 0x1010". */
  reason: string;
  /** The frame whose type or reference could not be had, when there is one. */
  mfn?: number;
  /** The debug-build messages Xen printed (gdprintk texts), in order. */
  xen: string[];
  /** The validation chain, outermost table first, down to the failing entry. */
  chain: ChainLink[];
  /** The references that stand in the way (e.g. each L1 slot mapping the frame writable). */
  blockers: Holder[];
  /** Debug builds only: the failed ASSERT at which a debug build of Xen stops (the host crashes). */
  debug_stop?: string;
}

export interface CallResult {
  rc: number;
  /** mmu_update / mmuext_op: entries completed. */
  done?: number;
  /** multicall: one rc per entry. */
  results?: number[];
  refusals: Refusal[];
}

/** The `frame` query: a frame's page_info as a Xen developer reads it. */
export interface FrameInfo {
  owner: number | null;
  type: 'none' | 'writable' | 'l1' | 'l2' | 'l3' | 'l4' | 'seg_desc' | 'shared';
  type_count: number;
  validated: boolean;
  pinned: boolean;
  /** General reference count without the PGC flags. */
  count: number;
  allocated: boolean;
  /** count_info and type_info as Xen prints them (caf=…, taf=…), lower-case hex. */
  caf: string;
  taf: string;
  tlbflush_timestamp: number;
}

/** The `access` extension: a guest load or store at va through its TLB and page tables. */
export interface AccessResult {
  /** 0, or -EFAULT for a page fault (not mapped, or a write to a read-only mapping). */
  rc: number;
  mfn?: number;
  writable?: boolean;
  /** The translation came from the vCPU's TLB, not a page walk. */
  tlb_hit: boolean;
  /** A TLB hit that disagrees with what the page tables say now (a stale entry was used). */
  stale: boolean;
}

export type FlushCause =
  | 'guest' // the guest asked (MMUEXT_*FLUSH*, INVLPG, UVMF_*)
  | 'cr3' // a CR3 load (NEW_BASEPTR)
  | 'type_change' // _get_page_type's filtered flush before a frame changes type
  | 'l2plus_update' // mmu_update changed an L2–L4 entry (XSA-286)
  | 'realloc'; // frames handed out again (alloc_heap_pages' filtered flush)

export interface FlushEvent {
  cause: FlushCause;
  dom: number;
  /** vCPUs whose TLB was flushed (for invlpg: the ones the VA was dropped on). */
  vcpus: number[];
  /** One VA (invlpg) or the whole TLB. */
  va?: bigint;
  /** The frame whose type change or reallocation forced the flush. */
  mfn?: number;
  /** The TLB-flush clock after the flush. */
  clock: number;
}

/** What the hypervisor reports as it goes; src/log/write.ts turns it into pino lines. */
export interface XenObserver {
  flush?(e: FlushEvent): void;
}

/** A setup record the hypervisor cannot carry out (overlapping frames, unknown domain, …). */
export class SetupError extends Error {
  readonly field: string | undefined;
  constructor(message: string, field?: string) {
    super(message);
    this.name = 'SetupError';
    this.field = field;
  }
}
