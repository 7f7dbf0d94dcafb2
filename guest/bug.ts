// BUG(): what the 2.6.28 Xen code does when a hypercall it cannot live without fails
// (xen_mc_flush's dump, pin_pagetable_pfn, make_lowmem_page_readonly). The vCPU stops; the run
// ends with outcome "bug" and Xen's reason attached.

import type { Refusal } from '../hypervisor/index.ts';

export class KernelBug extends Error {
  override name = 'KernelBug';
  readonly where: string;
  readonly refusal: Refusal | undefined;
  readonly detail: string[];

  constructor(where: string, message: string, refusal?: Refusal, detail: string[] = []) {
    super(message);
    this.where = where;
    this.refusal = refusal;
    this.detail = detail;
  }
}
