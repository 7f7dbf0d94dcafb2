// Domains and vCPUs: the per-vCPU base pointers (arch.guest_table / guest_table_user), LDT
// arguments, TLB and last-flush stamp. Models struct domain / struct vcpu (xen/sched.h,
// asm/domain.h) as far as the PV MMU reads them.

export class Vcpu {
  readonly id: number;
  /** arch.guest_table: the kernel L4 in CR3 (0 = none). Holds a general + L4 type ref. */
  guestTable = 0;
  /** arch.guest_table_user: the user L4 (0 = none). Holds a general + L4 type ref. */
  guestTableUser = 0;
  /** tlbflush_time of the pCPU this vCPU runs on: the clock value of its last full flush. */
  tlbflushTime: number;
  /** Cached translations: virtual page number → mfn * 2 + writable. Survives PTE changes. */
  readonly tlb = new Map<number, number>();
  ldtBase = 0n;
  ldtEnts = 0;
  /** set_gdt's frames: each holds a general + PGT_seg_desc_page type ref. */
  gdtFrames: number[] = [];
  gdtEnts = 0;

  constructor(id: number, clock: number) {
    this.id = id;
    this.tlbflushTime = clock;
  }
}

export class Domain {
  readonly id: number;
  readonly privileged: boolean;
  /** is_hardware_domain(d) (Xen's dom0): its write faults on read-only L1 mappings are emulated (ptwr.ts). */
  hardware = false;
  /** VM_ASSIST(d, writable_pagetables), as VMASST_CMD_enable sets it: the same emulation. */
  writablePagetables = false;
  readonly vcpus: Vcpu[];
  /** The machine frames populated at creation: [base, base+count). */
  readonly ranges: { base: number; count: number }[] = [];

  constructor(id: number, vcpus: number, privileged: boolean, clock: number) {
    this.id = id;
    this.privileged = privileged;
    this.vcpus = Array.from({ length: vcpus }, (_, i) => new Vcpu(i, clock));
  }

  /** Iterates every MFN the domain was given (whether or not it still owns it). */
  *mfns(): IterableIterator<number> {
    for (const r of this.ranges) for (let m = r.base; m < r.base + r.count; m++) yield m;
  }
}
