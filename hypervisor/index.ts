// The Hypervisor facade: one entry point per hypercall and per setup or query record, results as
// data. Everything a guest or a trace can do to the simulated Xen goes through here.
import type {
  AccessResult,
  Caller,
  CallResult,
  FrameInfo,
  Hypercall,
  XenObserver,
} from './types.ts';

export * from './types.ts';
export * from './abi.ts';

export interface DomainSpec {
  domid: number;
  vcpus: number;
  /** The machine frames [base, base+count) become the domain's, zero-filled and untyped. */
  base: number;
  count: number;
  /** dom0-like: may map I/O memory, use cache attributes and act on other domains. */
  privileged?: boolean;
}

export interface HypervisorOptions {
  observer?: XenObserver;
  /** pv-linear-pt= (default on). */
  linearPt?: boolean;
}

export class Hypervisor {
  constructor(_opts: HypervisorOptions = {}) {
    throw new Error('not implemented yet');
  }
  /** XEN_DOMCTL_createdomain + populate_physmap, as one setup step. Throws SetupError. */
  createDomain(_spec: DomainSpec): void {}
  /** domain_kill → domain_relinquish_resources. Throws SetupError for an unknown domain. */
  destroyDomain(_domid: number): void {}
  hasDomain(_domid: number): boolean {
    return false;
  }
  /** The id of the first domain created (the trace's default `dom`). */
  firstDomain(): number | undefined {
    return undefined;
  }
  /** Runs one hypercall. A refusal is a result (rc < 0, with refusals), never an exception. */
  hypercall(_caller: Caller, _call: Hypercall): CallResult {
    return { rc: 0, refusals: [] };
  }
  /** A plain guest store of one 8-byte entry; rc -EPERM when the frame is not writable memory. */
  store(_caller: Caller, _mfn: number, _slot: number, _val: bigint): number {
    return 0;
  }
  /** XENMEM_decrease_reservation: drops the allocation reference; rc = extents done. */
  decreaseReservation(_caller: Caller, _mfns: number[]): number {
    return 0;
  }
  frame(_mfn: number): FrameInfo {
    throw new Error('not implemented yet');
  }
  read(_mfn: number, _slot: number): bigint {
    return 0n;
  }
  /** A guest load/store at va: through the vCPU's TLB, or a walk of its current page tables. */
  access(_caller: Caller, _va: bigint, _write: boolean): AccessResult {
    throw new Error('not implemented yet');
  }
  /** Recount every reference from scratch; one line per mismatch or broken invariant. */
  audit(): string[] {
    return [];
  }
  /** The TLB-flush clock. */
  get clock(): number {
    return 0;
  }
}
