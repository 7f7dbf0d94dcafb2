// Turns the diagnostics of a failed operation into a Refusal: Xen's messages, the validation chain
// (outermost table first) and the references that stand in the way.

import { errnoName } from './abi.ts';
import { holdersOf, typeHolders } from './holders.ts';
import type { XenState } from './state.ts';
import type { Refusal } from './types.ts';

/** A call refused nothing (frozen: shared by every such result). */
export const NO_REFUSALS: Refusal[] = Object.freeze([]) as unknown as Refusal[];
/** An unexplained refusal's empty lists (frozen: shared by every such refusal). */
const NONE = Object.freeze([]) as unknown as never[];
/** The unexplained refusal of each rc (-errno), made once and frozen: nothing in it varies. */
const UNEXPLAINED: Refusal[] = [];

/** `allHolders`: every reference counts as a blocker (not only those of the frame's current type). */
export function buildRefusal(x: XenState, at: string, what: string, rc: number, allHolders = false): Refusal {
  // Not explained (XenState.explain): counted only, its texts empty.
  if (!x.explain) return (UNEXPLAINED[-rc] ??= Object.freeze({ at: '', what: '', rc, reason: '', xen: NONE, chain: NONE, blockers: NONE }));
  const diag = x.diag;
  // An MFN argument past the frame table (up to 2^64-1) names no frame: no blockers, no `mfn`.
  const mfn = diag.mfn !== undefined && x.frames.valid(diag.mfn) ? diag.mfn : undefined;
  const refusal: Refusal = {
    at,
    what,
    rc,
    reason: diag.reason ?? `-${errnoName(rc)}`,
    xen: x.debugBuild ? diag.takeXen() : [],
    chain: diag.takeChain().reverse(),
    blockers: mfn === undefined || !x.blockers ? [] : allHolders ? holdersOf(x, mfn) : typeHolders(x, mfn),
  };
  if (mfn !== undefined) refusal.mfn = mfn;
  if (x.debugBuild && diag.stop !== undefined) refusal.debug_stop = diag.stop;
  return refusal;
}
