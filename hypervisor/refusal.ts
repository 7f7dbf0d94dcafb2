// Turns the diagnostics of a failed operation into a Refusal: Xen's messages, the validation chain
// (outermost table first) and the references that stand in the way.

import { errnoName } from './abi.ts';
import { typeHolders } from './holders.ts';
import type { XenState } from './state.ts';
import type { Refusal } from './types.ts';

export function buildRefusal(x: XenState, at: string, what: string, rc: number): Refusal {
  const diag = x.diag;
  const mfn = diag.mfn;
  const refusal: Refusal = {
    at,
    what,
    rc,
    reason: diag.reason ?? `-${errnoName(rc)}`,
    xen: diag.xen.slice(),
    chain: diag.chain.slice().reverse(),
    blockers: mfn === undefined ? [] : typeHolders(x, mfn),
  };
  if (mfn !== undefined) refusal.mfn = mfn;
  return refusal;
}
