// Trace v1 records as the reader hands them out (see docs/trace-format.md and
// docs/trace-extensions.md). Hypercall records ARE the hypervisor's Hypercall shapes
// (hypervisor/types.ts) plus the common fields, so the replayer passes them to Xen as they are.
// 64-bit values (PTEs, machine and virtual addresses) are bigint; MFN and flags arguments are
// Ulong (a number below 2^53, a bigint above: any value of their C type, unsigned long).
import type {
  DecreaseReservationCall,
  Hypercall,
  MemoryExchangeCall,
  MmuextOpCall,
  MmuUpdateCall,
  MulticallCall,
  SetGdtCall,
  Ulong,
  UnknownHypercall,
  UpdateVaMappingCall,
  UpdateVaMappingOtherdomainCall,
} from '../../hypervisor/types.ts';

/** A value inside an `expect` object, normalised: numbers for ints and MFNs, bigint for 64-bit values. */
export type ExpectValue = number | bigint | boolean | string | null | number[] | string[];
/** `expect`: an integer (the rc) or an object whose keys must all match the result. */
export type Expect = number | { [key: string]: ExpectValue };

/** The fields every record may carry. */
export interface RecordCommon {
  /** The calling domain; absent = the first domain created (the replayer resolves it). */
  dom?: number;
  /** The calling vCPU; absent = 0. */
  vcpu?: number;
  expect?: Expect;
}

export type MmuUpdateRecord = MmuUpdateCall & RecordCommon;
export type MmuextOpRecord = MmuextOpCall & RecordCommon;
export type UpdateVaMappingRecord = UpdateVaMappingCall & RecordCommon;
export type MulticallRecord = MulticallCall & RecordCommon;
/** Hypercall 22. */
export type UpdateVaMappingOtherdomainRecord = UpdateVaMappingOtherdomainCall & RecordCommon;
/** A hypercall number Xen has no handler for: rc -ENOSYS. Written `{"op":"hypercall","nr":…}`. */
export type UnknownHypercallRecord = UnknownHypercall & RecordCommon;
export type HypercallRecord =
  | MmuUpdateRecord
  | MmuextOpRecord
  | UpdateVaMappingRecord
  | UpdateVaMappingOtherdomainRecord
  | MulticallRecord
  | UnknownHypercallRecord;

export interface CreateDomainRecord extends RecordCommon {
  op: 'create_domain';
  domid: number;
  vcpus: number;
  frames: { base: number; count: number };
  privileged?: boolean;
  /** Extension: Xen's hardware domain (is_hardware_domain). */
  hardware?: boolean;
  /** Extension: the writable_pagetables VM assist enabled. */
  writable_pagetables?: boolean;
}
/** Extension: domain_kill → domain_relinquish_resources. */
export interface DestroyDomainRecord extends RecordCommon {
  op: 'destroy_domain';
  domid: number;
}
export interface StoreRecord extends RecordCommon {
  op: 'store';
  mfn: Ulong;
  slot: number;
  val: bigint;
  /** Extension: `count` consecutive entries from `slot` (default 1), the value growing by `stride`. */
  count?: number;
  stride?: bigint;
}
/** Extension: XENMEM_decrease_reservation; rc = extents done. */
export type DecreaseReservationRecord = DecreaseReservationCall & RecordCommon;
/** Extension: XENMEM_exchange's steal_page check; rc 0, or -EINVAL while a frame is referenced. */
export type MemoryExchangeRecord = MemoryExchangeCall & RecordCommon;
/** Extension: HYPERVISOR_set_gdt (hypercall 2): the vCPU's GDT frames become seg_desc pages. */
export type SetGdtRecord = SetGdtCall & RecordCommon;
export interface FrameRecord extends RecordCommon {
  op: 'frame';
  mfn: Ulong;
}
export interface ReadRecord extends RecordCommon {
  op: 'read';
  mfn: Ulong;
  slot: number;
}
/** Extension: a guest load/store at va through the vCPU's TLB and page tables. */
export interface AccessRecord extends RecordCommon {
  op: 'access';
  va: bigint;
  write: boolean;
}
/** Extension: recount every reference; a non-empty result fails the replay like an expectation. */
export interface AuditRecord extends RecordCommon {
  op: 'audit';
}

export type TraceRecord =
  | CreateDomainRecord
  | DestroyDomainRecord
  | StoreRecord
  | DecreaseReservationRecord
  | MemoryExchangeRecord
  | SetGdtRecord
  | FrameRecord
  | ReadRecord
  | AccessRecord
  | AuditRecord
  | HypercallRecord;

export type TraceOp = TraceRecord['op'];
export type { Hypercall };

/** One record of a trace and the (1-based) line it came from. */
export interface TraceEntry {
  line: number;
  record: TraceRecord;
  /** Read from a hypercall log's record line: what the log says it came to (src/replay/check.ts). */
  log?: LoggedRecord;
}

/** What a hypercall log's record line recorded, for replay's check; plain traces have none. */
export interface LoggedRecord {
  /** Its `time` (simulated time). */
  time: number;
  /** Its `line` key: the trace line (a replay's log) or the record's ordinal (a run's log). */
  line: unknown;
  /** Its `result` object, as written. */
  result: unknown;
  /** The `refusal` objects of the refusal lines that follow it (the log's blame). */
  refusals: unknown[];
  /** The `tlb_flush` lines between the record line before it and this one: the flushes it caused. */
  flushes: readonly unknown[];
}

/** What a hypercall log is, beyond its records: filled in by the reader as it reads (readTraceBatches). */
export interface LogShape {
  /** The first log line (numeric `level` and `time`), 0 when none. */
  firstLogLine: number;
  /** The first plain trace record (not a log line), 0 when none. */
  firstTraceRecord: number;
  /** Record lines read (log lines with `op`). */
  recordLines: number;
  /** The end line, when read: its line, and its `records`, `reason` and `exit` as written. */
  end?: { line: number; records: unknown; reason: unknown; exit: unknown };
  /** The first log line after the end line, 0 when none. */
  afterEnd: number;
  /** The line of a `tlb_flush` line that no record line follows (a flush without its record), 0 when none. */
  strayFlush: number;
}

/** Every op the reader knows, in the order the error message lists them. */
export const TRACE_OPS: readonly TraceOp[] = [
  'create_domain',
  'destroy_domain',
  'store',
  'mmu_update',
  'mmuext_op',
  'update_va_mapping',
  'update_va_mapping_otherdomain',
  'multicall',
  'hypercall',
  'decrease_reservation',
  'memory_exchange',
  'set_gdt',
  'frame',
  'read',
  'access',
  'audit',
];

/** The record ops that are a hypercall of their own (what a log's summary counts as hypercalls). */
export const HYPERCALL_OPS = new Set<string>([
  'mmu_update',
  'mmuext_op',
  'update_va_mapping',
  'update_va_mapping_otherdomain',
  'multicall',
  'hypercall',
]);
export function isHypercallRecord(r: TraceRecord): r is HypercallRecord {
  return HYPERCALL_OPS.has(r.op);
}

/** Records that act as a vCPU of a domain (they have a caller: dom and vcpu). */
const CALLER_OPS = new Set<string>([...HYPERCALL_OPS, 'store', 'decrease_reservation', 'memory_exchange', 'set_gdt', 'access']);
export function hasCaller(r: TraceRecord): boolean {
  return CALLER_OPS.has(r.op);
}
