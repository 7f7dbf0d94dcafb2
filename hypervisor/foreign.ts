// Which domain a call acts on, and whether the caller may. Models get_pg_owner
// (xen/common/page_alloc.c, 4.17 line 2665), which does no privilege check, and the dummy XSM
// policy's XSM_TARGET (xen/include/xsm/dummy.h: xsm_default_action line 78, xsm_mmu_update 720,
// xsm_mmuext_op 733, xsm_priv_mapping 747) that do_mmu_update, do_mmuext_op and get_page_from_l1e
// ask per request.

import { DOMID_IO, DOMID_SELF, DOMID_XEN, ESRCH } from './abi.ts';
import { Domain } from './domain.ts';
import type { XenState } from './state.ts';

/**
 * dom_io and dom_xen: Xen's system domains. No vCPUs, no privilege, no frames the simulator lets
 * anyone take a reference to (in Xen, dom_io owns the I/O frames and dom_xen Xen's shared pages;
 * here the I/O frames are nobody's and Xen has no pages).
 */
export const DOM_IO = new Domain(DOMID_IO, 0, false, 0);
export const DOM_XEN = new Domain(DOMID_XEN, 0, false, 0);

/**
 * get_pg_owner(domid), or -ESRCH where it returns NULL: the caller's own numeric id ("Cannot
 * specify itself as foreign domain"), or an unknown domain. DOMID_SELF (through
 * rcu_lock_domain_by_any_id) is the caller; DOMID_IO / DOMID_XEN are the system domains. Whether
 * the caller may act on the result is the XSM check's (xsmTarget), asked later.
 */
export function getPgOwner(x: XenState, caller: Domain, fd: number): Domain | number {
  if (fd === caller.id) {
    if (x.explain) x.diag.fail('Cannot specify itself as foreign domain');
    return ESRCH;
  }
  if (fd === DOMID_SELF) return caller;
  if (fd === DOMID_IO) return DOM_IO;
  if (fd === DOMID_XEN) return DOM_XEN;
  const d = x.domains.get(fd);
  if (!d) {
    if (x.explain) x.diag.fail(`Unknown domain d${fd}`);
    return ESRCH;
  }
  return d;
}

/**
 * xsm_default_action(XSM_TARGET, src, target) under the dummy policy: a domain may act on itself;
 * a control domain (privileged here) on any. (A device model's `target` is not modelled.)
 */
export function xsmTarget(src: Domain, target: Domain): boolean {
  return src === target || src.privileged;
}

/** xsm_mmu_update(XSM_TARGET, d, t, f): the data owner unless it is dom_io, then the table owner. */
export function xsmMmuUpdate(x: XenState, d: Domain, pt: Domain | null, pg: Domain): boolean {
  const ok = (pg === DOM_IO || xsmTarget(d, pg)) && (pt === null || xsmTarget(d, pt));
  if (!ok && x.explain) x.diag.note(`d${d.id} may not act on d${pt !== null && !xsmTarget(d, pt) ? pt.id : pg.id} (XSM_TARGET)`);
  return ok;
}
