// The TLB-flush clock and the per-vCPU TLBs. Models xen/arch/x86/flushtlb.c (pre_flush /
// post_flush, tlbflush_clock, tlbflush_time) and asm/flushtlb.h (NEED_FLUSH, tlbflush_filter).
// A vCPU stands for the pCPU it runs on: its TLB keeps translations until it is flushed, so a
// stale writable entry really survives an unflushed unmap.

import type { Domain, Vcpu } from './domain.ts';
import { addrOk, vpnOf } from './pte.ts';
import type { FlushCause, XenObserver } from './types.ts';

export class TlbClock {
  /** tlbflush_clock starts at 1; the simulator uses an unbounded counter (no wrap). */
  now = 1;
}

/** NEED_FLUSH(cpu_stamp, page_stamp): the CPU's last flush does not post-date the page's stamp. */
export function needFlush(cpuStamp: number, pageStamp: number, now: number): boolean {
  return cpuStamp <= pageStamp && pageStamp <= now;
}

/** A full local flush: pre_flush ticks the clock, post_flush records it for the CPU. */
export function flushLocal(clock: TlbClock, v: Vcpu): void {
  // Map.clear() makes a new table even for an empty map: flushes are most often of an empty TLB.
  if (v.tlb.size > 0) v.tlb.clear();
  v.tlbflushTime = ++clock.now;
}

export function invlpgLocal(v: Vcpu, vpn: number): void {
  v.tlb.delete(vpn);
}

/** Flushes the vCPUs fully and reports it. */
export function flushVcpus(
  clock: TlbClock,
  obs: XenObserver,
  dom: number,
  vcpus: readonly Vcpu[],
  cause: FlushCause,
  mfn?: number,
): void {
  if (vcpus.length === 0) return;
  for (const v of vcpus) flushLocal(clock, v);
  obs.flush?.({ cause, dom, vcpus: vcpus.map((v) => v.id), clock: clock.now, ...(mfn === undefined ? {} : { mfn }) });
}

/** tlbflush_filter: the vCPUs that have not flushed since `stamp`. */
export function filterNeedFlush(clock: TlbClock, vcpus: readonly Vcpu[], stamp: number): Vcpu[] {
  return vcpus.filter((v) => needFlush(v.tlbflushTime, stamp, clock.now));
}

/** INVLPG on some vCPUs; silently nothing for an address outside the guest's range. */
export function invlpg(clock: TlbClock, obs: XenObserver, d: Domain, vcpus: readonly Vcpu[], va: bigint): void {
  if (!addrOk(va)) return;
  const vpn = vpnOf(va);
  for (const v of vcpus) invlpgLocal(v, vpn);
  obs.flush?.({ cause: 'guest', dom: d.id, vcpus: vcpus.map((v) => v.id), va, clock: clock.now });
}
