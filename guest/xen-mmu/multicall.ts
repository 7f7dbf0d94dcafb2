// Multicall batching as in 2.6.28 arch/x86/xen/multicalls.[ch]: a per-cpu buffer of MC_BATCH
// entries, interrupts saved off while a batch is built (xen_mc_batch), an early flush when the
// buffer is full, xen_mc_issue(mode) that flushes unless lazy mode covers the batch and then
// restores the saved interrupt state, and xen_mc_flush that issues one HYPERVISOR_multicall,
// prints every failed entry and BUG()s, then runs the callbacks (e.g. PTE-page unlocks).

import { errnoName, HYPERCALL, type CallResult, type Hypercall, type Refusal } from '../../hypervisor/index.ts';
import { KernelBug } from '../bug.ts';
import { localIrqRestore, localIrqSave, type Cpu } from '../smp/cpu.ts';
import type { Policy } from '../policy.ts';

export const PARAVIRT_LAZY_NONE = 0;
export const PARAVIRT_LAZY_MMU = 1;

export class McBuffer {
  readonly entries: Hypercall[] = [];
  readonly callbacks: (() => void)[] = [];
  /** xen_mc_irq_flags: what xen_mc_batch saved (a nested batch overwrites it, as in 2.6.28). */
  irqFlags = true;
  /** paravirt_get_lazy_mode(). */
  lazyMode = PARAVIRT_LAZY_NONE;
}

/** What the multicall layer uses: this vCPU's buffer (xen_mc_buffer), its size, the hypercall. */
export interface McCtx {
  readonly policy: Policy;
  mc(c: Cpu): McBuffer;
  hypercall(c: Cpu, call: Hypercall): CallResult;
}

/** xen_mc_batch: interrupts off until the batch is issued. */
export function xenMcBatch(c: Cpu, mc: McBuffer): void {
  mc.irqFlags = localIrqSave(c);
}

/** xen_mc_entry's slot: flushes first when the buffer is full. */
export function xenMcEntry(k: McCtx, c: Cpu, call: Hypercall): void {
  const mc = k.mc(c);
  if (mc.entries.length >= k.policy.mcBatch) xenMcFlush(k, c);
  mc.entries.push(call);
}

export function xenMcCallback(k: McCtx, c: Cpu, fn: () => void): void {
  k.mc(c).callbacks.push(fn);
}

/** xen_mc_issue(mode): flush unless lazy mode covers it, then restore the batch's irq state. */
export function xenMcIssue(k: McCtx, c: Cpu, mode: number): void {
  const mc = k.mc(c);
  if ((mc.lazyMode & mode) === 0) xenMcFlush(k, c);
  localIrqRestore(c, mc.irqFlags);
}

/** xen_mc_flush: one multicall; any failed entry is printed and is a BUG. */
export function xenMcFlush(k: McCtx, c: Cpu): void {
  const mc = k.mc(c);
  if (mc.entries.length === 0 && mc.callbacks.length === 0) return;
  const calls = mc.entries.splice(0);
  const callbacks = mc.callbacks.splice(0);
  const saved = localIrqSave(c);
  let failure: KernelBug | undefined;
  if (calls.length > 0) {
    const r = k.hypercall(c, { op: 'multicall', calls });
    const failed = (r.results ?? []).map((rc, i) => ({ rc, i })).filter((e) => e.rc !== 0);
    if (failed.length > 0) {
      const lines = [`${failed.length} of ${calls.length} multicall(s) failed: cpu ${c.id}`];
      for (const { rc, i } of failed) {
        lines.push(`  call ${String(i + 1).padStart(2)}/${calls.length}: op=${opNumber(calls[i]!)} result=${rc} (${errnoName(rc)})`);
      }
      const refusal: Refusal | undefined = r.refusals[0];
      failure = new KernelBug('xen_mc_flush', lines[0]!, refusal, lines);
    }
  }
  localIrqRestore(c, saved);
  for (const cb of callbacks) cb();
  if (failure) throw failure;
}

function opNumber(call: Hypercall): number {
  if (call.op === 'hypercall') return Number(call.nr);
  return HYPERCALL[call.op === 'decrease_reservation' || call.op === 'memory_exchange' ? 'memory_op' : call.op];
}

/** arch_enter_lazy_mmu_mode: page-table writes of pinned tables queue up. */
export function enterLazyMmu(k: McCtx, c: Cpu): void {
  k.mc(c).lazyMode = PARAVIRT_LAZY_MMU;
}

/** xen_leave_lazy: leave the mode and flush what queued. */
export function leaveLazyMmu(k: McCtx, c: Cpu): void {
  k.mc(c).lazyMode = PARAVIRT_LAZY_NONE;
  xenMcFlush(k, c);
}
