// Which domain a call acts on: get_pg_owner() and the XSM_TARGET check of do_mmu_update /
// do_mmuext_op (xen/arch/x86/mm.c, include/xsm/dummy.h).

import { DOMID_IO, DOMID_SELF, DOMID_XEN, EPERM, ESRCH } from './abi.ts';
import type { Domain } from './domain.ts';
import type { XenState } from './state.ts';

/**
 * The foreign domain FD names, or -errno: DOMID_SELF is the caller; the caller's own numeric id is
 * refused ("Cannot specify itself as foreign domain", -ESRCH), as is an unknown id; naming another
 * domain needs privilege over it (-EPERM). DOMID_IO / DOMID_XEN as FD are not modelled and are
 * refused for every caller (-EPERM).
 */
export function getPgOwner(x: XenState, caller: Domain, fd: number): Domain | number {
  if (fd === DOMID_SELF) return caller;
  if (fd === caller.id) {
    x.diag.fail('Cannot specify itself as foreign domain');
    return ESRCH;
  }
  if (fd === DOMID_IO || fd === DOMID_XEN) return EPERM;
  const d = x.domains.get(fd);
  if (!d) {
    x.diag.fail(`Unknown domain d${fd}`);
    return ESRCH;
  }
  if (!caller.privileged) {
    x.diag.fail(`d${caller.id} may not act on d${fd}`);
    return EPERM;
  }
  return d;
}
