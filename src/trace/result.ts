// What one record produced, as the replayer, the hypercall log and `--json` see it.
import { errnoName } from '../../hypervisor/abi.ts';
import type { FrameInfo, Refusal } from '../../hypervisor/types.ts';
import { hex } from './write.ts';

export interface RecordResult {
  /** The hypercall's rc; for setup records and queries 0 (or the store's / access's rc). */
  rc: number;
  /** mmu_update / mmuext_op: entries completed. */
  done?: number;
  /** multicall: one rc per entry. */
  results?: number[];
  /** Why Xen refused, one per refused operation (hypercalls only). */
  refusals?: Refusal[];
  /** frame. */
  frame?: FrameInfo;
  /** read: the entry as Xen stores it. */
  val?: bigint;
  /** read: the entry's frame number; access: the frame reached. */
  mfn?: number;
  /** read: the entry's present bit. */
  present?: boolean;
  /** access. */
  writable?: boolean;
  tlb_hit?: boolean;
  stale?: boolean;
  /** audit: one line per mismatch. */
  mismatches?: string[];
}

/** The result keys an `expect` object is compared against: the result with the frame's keys inlined. */
export function flattenResult(r: RecordResult): Record<string, unknown> {
  return r.frame === undefined ? (r as unknown as Record<string, unknown>) : { ...r, ...r.frame };
}

/**
 * The JSON form of a result (no refusals: they have lines of their own). `errno` adds the errno
 * name of rc (the log has it; `--json` does not).
 */
export function resultToJson(r: RecordResult, errno: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = { rc: r.rc };
  if (errno) o.errno = errnoName(r.rc);
  if (r.done !== undefined) o.done = r.done;
  if (r.results !== undefined) o.results = r.results;
  if (r.frame !== undefined) o.frame = r.frame;
  if (r.val !== undefined) o.val = hex(r.val);
  if (r.mfn !== undefined) o.mfn = hex(r.mfn);
  if (r.present !== undefined) o.present = r.present;
  if (r.writable !== undefined) o.writable = r.writable;
  if (r.tlb_hit !== undefined) o.tlb_hit = r.tlb_hit;
  if (r.stale !== undefined) o.stale = r.stale;
  if (r.mismatches !== undefined) o.mismatches = r.mismatches;
  return o;
}
