// HYPERVISOR_update_va_mapping (hypercall 14). Models __do_update_va_mapping in
// xen/arch/x86/mm.c (4.17: line 4447; do_update_va_mapping, line 4548, calls it with the caller as
// pg_owner): find the L1 with map_guest_l1e (pv/mm.c, walk.ts), page_lock it as an L1,
// mod_l1_entry, and only after success the UVMF flush (NONE / TLB_FLUSH / INVLPG × LOCAL / ALL /
// MULTI bitmap). Also update_va_mapping_otherdomain (hypercall 22), whose pg_owner (FD) is a
// domid_t.

import { EFAULT, EINVAL, UVMF, uvmfScope, uvmfType } from './abi.ts';
import type { Domain, Vcpu } from './domain.ts';
import { modL1Entry } from './mmu-update.ts';
import { PGT_l1_page_table } from './frames.ts';
import { vcpusOf } from './mmuext-op.ts';
import { addrOk, hex, hiOf, loOf, slotOf48, va48 } from './pte.ts';
import type { XenState } from './state.ts';
import { flushVcpus, invlpg } from './tlb.ts';
import type { Ulong } from './types.ts';
import { findL1 } from './walk.ts';

export function doUpdateVaMapping(
  x: XenState,
  d: Domain,
  v: Vcpu,
  va: bigint,
  val: bigint,
  flags: Ulong,
  vcpumask: readonly number[] | null | undefined,
  pgOwner: Domain = d,
): number {
  if (!addrOk(va)) {
    if (x.explain) x.diag.fail(`va ${hex(va)} is not a guest address`);
    return EINVAL;
  }
  const f = x.frames;
  const v48 = va48(va);
  const l1 = findL1(f, v.guestTable, va, v48);
  // The two commonest refusals of a long trace: their texts (a BigInt in hex) only if read.
  if (l1 === undefined) {
    if (x.explain) x.diag.fail(`no L1 maps va ${hex(va)} under the current base`);
    return EINVAL;
  }
  if (f.owner(l1) !== d.id || f.type(l1) !== PGT_l1_page_table || !f.liveTable(l1)) {
    if (x.explain) x.diag.fail(`mfn ${hex(l1)} mapping va ${hex(va)} is not a validated L1 of d${d.id}`, undefined, l1);
    return EINVAL;
  }
  const rc = modL1Entry(x, l1, slotOf48(v48, 1), loOf(val), hiOf(val), d, pgOwner, false, d);
  if (rc !== 0) return rc;

  // flags is an unsigned long: its pointer bits may lie above 2^32 (uvmfScope, not `&`). A flush
  // type of 3 matches no case of __do_update_va_mapping's switch: no flush, the mask is never read.
  const kind = uvmfType(flags);
  if (kind !== UVMF.TLB_FLUSH && kind !== UVMF.INVLPG) return 0;
  const where = uvmfScope(flags);
  let targets: readonly Vcpu[] | undefined;
  if (where === UVMF.LOCAL) targets = [v];
  else if (where === UVMF.ALL) targets = d.vcpus;
  else targets = vcpusOf(d, vcpumask);
  // A bad bitmap pointer fails the call although the entry has already changed.
  if (!targets) {
    if (x.explain) x.diag.fail('vcpumask could not be read (the entry was already updated)');
    return EFAULT;
  }
  if (kind === UVMF.TLB_FLUSH) flushVcpus(x.clock, x.obs, d.id, targets, 'guest');
  else if (kind === UVMF.INVLPG) invlpg(x.clock, x.obs, d, targets, va);
  return 0;
}
