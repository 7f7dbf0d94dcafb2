// HYPERVISOR_set_gdt (hypercall 2): the vCPU's GDT frames take a general + PGT_seg_desc_page type
// reference each, the old ones are given back. Models do_set_gdt / pv_set_gdt / pv_destroy_gdt
// (xen/arch/x86/pv/descriptor-tables.c). validate_segdesc_page's per-descriptor check (which
// mostly fixes up DPLs) is not modelled: every frame's contents are accepted.

import { EFAULT, EINVAL } from './abi.ts';
import type { Domain, Vcpu } from './domain.ts';
import { PGT_seg_desc_page } from './frames.ts';
import { getPage, getPageType, putPage, putPageAndType } from './page-type.ts';
import { hex } from './pte.ts';
import type { XenState } from './state.ts';
import { flushVcpus } from './tlb.ts';

/** FIRST_RESERVED_GDT_ENTRY on x86-64: 14 pages of 512 descriptors belong to the guest. */
export const FIRST_RESERVED_GDT_ENTRY = 14 * 512;

/** pv_destroy_gdt: the vCPU's GDT frames are put. */
export function destroyGdt(x: XenState, v: Vcpu): void {
  for (const mfn of v.gdtFrames) putPageAndType(x, mfn);
  v.gdtFrames = [];
  v.gdtEnts = 0;
}

export function doSetGdt(x: XenState, d: Domain, v: Vcpu, frames: readonly number[], entries: number): number {
  if (entries > FIRST_RESERVED_GDT_ENTRY) {
    if (x.explain) x.diag.fail(`set_gdt: ${entries} entries, more than FIRST_RESERVED_GDT_ENTRY (${FIRST_RESERVED_GDT_ENTRY})`);
    return EINVAL;
  }
  const nr = Math.ceil(entries / 512);
  if (frames.length < nr) {
    if (x.explain) x.diag.fail(`set_gdt: ${entries} entries need ${nr} frames, the list has ${frames.length}`);
    return EFAULT;
  }
  const taken: number[] = [];
  for (const mfn of frames.slice(0, nr)) {
    const ok = getPage(x, mfn, d.id);
    if (!ok || getPageType(x, mfn, PGT_seg_desc_page) !== 0) {
      if (ok) putPage(x, mfn);
      if (x.explain) x.diag.fail(`set_gdt: mfn ${mfn.toString(16)} cannot be a descriptor page`, `mfn ${hex(mfn)} cannot be d${d.id}'s descriptor page`, mfn);
      for (const t of taken) putPageAndType(x, t);
      return EINVAL;
    }
    taken.push(mfn);
  }
  destroyGdt(x, v);
  v.gdtFrames = taken;
  v.gdtEnts = entries;
  // do_set_gdt flushes the local TLB after a successful pv_set_gdt (pv/descriptor-tables.c:145).
  flushVcpus(x.clock, x.obs, d.id, [v], 'guest');
  return 0;
}
