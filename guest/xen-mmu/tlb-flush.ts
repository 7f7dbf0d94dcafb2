// TLB-flush routing of a 2.6.28 Xen PV guest (arch/x86/xen/enlighten.c, mmu.c; asm/tlbflush.h):
// - local flushes are queued MMUEXT_TLB_FLUSH_LOCAL (xen_flush_tlb);
// - kernel ranges: flush_tlb_kernel_range → flush_tlb_all → on_each_cpu(do_flush_tlb_all), i.e.
//   event-channel IPIs that need the targets' cooperation — or, with the kernelFlushVia knob,
//   one MMUEXT_TLB_FLUSH_ALL (Jeremy's "loose end" patch that never reached mainline);
// - user mm shootdowns: xen_flush_tlb_others → MMUEXT_TLB_FLUSH_MULTI, done by Xen alone.

import { MMUEXT } from '../../hypervisor/index.ts';
import { KernelBug } from '../bug.ts';
import type { Mm } from '../mm/mm-struct.ts';
import type { Cpu } from '../smp/cpu.ts';
import { kernelFn, type Co } from '../smp/co.ts';
import { onEachCpu, smpCallFunctionMask } from '../smp/ipi.ts';
import type { Smp } from '../smp/smp.ts';
import { vaOf } from '../vmalloc/vmap-area.ts';
import type { VmapState } from '../vmalloc/vmap-state.ts';
import { PARAVIRT_LAZY_MMU, xenMcBatch, xenMcEntry, xenMcIssue, type McCtx } from './multicall.ts';

/**
 * What the flushes use: the multicall layer, the SMP layer (IPIs) and, for the hazard tracker,
 * the vmap state's set of unflushed pages (a kernel-range flush empties it).
 */
export interface TlbFlushCtx extends McCtx, Smp {
  readonly vmap: VmapState;
}

/** xen_flush_tlb: this vCPU's TLB, through the multicall buffer. */
export function xenFlushTlb(k: TlbFlushCtx, c: Cpu): void {
  xenMcBatch(c, k.mc(c));
  xenMcEntry(k, c, { op: 'mmuext_op', ops: [{ cmd: MMUEXT.tlb_flush_local }] });
  xenMcIssue(k, c, PARAVIRT_LAZY_MMU);
}

/** flush_tlb_kernel_range(start, end): x86 ignores the range and flushes every TLB. */
export const flushTlbKernelRange = kernelFn('flush_tlb_kernel_range', function* (k: TlbFlushCtx, c: Cpu, start: number, end: number): Co {
  const via = k.policy.kernelFlushVia === 'ipi' ? 'ipi' : 'hypercall';
  k.emit({
    event: 'tlb_flush_kernel',
    vcpu: c.id,
    via,
    start: start > end ? '0xffffffffffffffff' : '0x' + vaOf(start).toString(16),
    end: start > end ? '0x0' : '0x' + vaOf(end).toString(16),
  });
  if (via === 'hypercall') {
    const r = k.hypercall(c, { op: 'mmuext_op', ops: [{ cmd: MMUEXT.tlb_flush_all }] });
    if (r.rc !== 0) throw new KernelBug('xen_flush_tlb_all', `MMUEXT_TLB_FLUSH_ALL failed: ${r.rc}`, r.refusals[0]);
  } else {
    yield* onEachCpu(k, c, 'do_flush_tlb_all', (t) => xenFlushTlb(k, t), true);
  }
  k.vmap.unflushed.clear();
});

/**
 * flush_tlb_mm: the local TLB, then flush_tlb_others over the mm's other vCPUs — Xen's
 * MMUEXT_TLB_FLUSH_MULTI under PV, or (userFlushVia=ipi, the native model) IPIs that need the
 * targets' interrupts.
 */
export const flushTlbMm = kernelFn('flush_tlb_mm', function* (k: TlbFlushCtx, c: Cpu, mm: Mm): Co {
  xenFlushTlb(k, c);
  const others = [...mm.cpuVmMask].filter((id) => id !== c.id).sort((a, b) => a - b);
  if (others.length === 0) return;
  if (k.policy.userFlushVia === 'ipi') {
    yield* smpCallFunctionMask(k, c, others, 'flush_tlb_others_ipi', (t) => xenFlushTlb(k, t), true);
    return;
  }
  const r = k.hypercall(c, { op: 'mmuext_op', ops: [{ cmd: MMUEXT.tlb_flush_multi, vcpumask: others }] });
  if (r.rc !== 0) throw new KernelBug('xen_flush_tlb_others', `MMUEXT_TLB_FLUSH_MULTI failed: ${r.rc}`, r.refusals[0]);
});
