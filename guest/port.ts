// The guest's only way to Xen: the calls a real PV kernel (and its domain builder) makes. The
// simulator shell implements it over the Hypervisor and logs each call as a replayable trace
// record, so a guest run produces exactly the hypercall stream `xensim replay` accepts.

import type {
  AccessResult,
  Caller,
  CallResult,
  DomainSpec,
  FlushEvent,
  Hypercall,
} from '../hypervisor/index.ts';

export interface HypercallPort {
  /** The toolstack's domain build (create_domain record). */
  createDomain(spec: DomainSpec): void;
  /**
   * Plain stores of `count` consecutive entries from `slot`, the value growing by `stride` each
   * (the domain builder's way to lay out page tables; a `store` record with count/stride).
   */
  store(caller: Caller, mfn: number, slot: number, val: bigint, count?: number, stride?: bigint): number;
  hypercall(caller: Caller, call: Hypercall): CallResult;
  /** XENMEM_exchange of the given frames (a `memory_exchange` record). */
  memoryExchange(caller: Caller, mfns: number[]): CallResult;
  /** A guest load/store through the vCPU's TLB (an `access` record). */
  access(caller: Caller, va: bigint, write: boolean): AccessResult;
  /**
   * The simulator's own look into a vCPU's TLB, for hazard detection only: not a hypercall, not
   * logged, changes nothing. The translation the TLB holds for va, if any.
   */
  tlbProbe(caller: Caller, va: bigint): { mfn: number; writable: boolean } | undefined;
  /** Xen's own flushes (type changes, CR3 loads …) as they happen, for the hazard tracker. */
  onXenFlush?(fn: (e: FlushEvent) => void): void;
}
