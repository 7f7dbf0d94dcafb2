// Jeremy's dom0 case (linux-guest.md §0, §4): making a DMA buffer machine-contiguous, in the shape
// xen_create_contiguous_region later took (arch/x86/xen/mmu.c): under
// spin_lock_irqsave(&xen_reservation_lock) — interrupts off — kill the vmalloc aliases (the seed
// patch's intended __vm_unmap_aliases(0) caller), zap the pages' direct-map PTEs, XENMEM_exchange
// them (refused while any PTE still references a frame), and map them back.

import { UVMF } from '../../hypervisor/index.ts';
import type { GuestEvent } from '../events.ts';
import { pte, PTE } from '../mm/mem.ts';
import type { Cpu } from '../smp/cpu.ts';
import { kernelFn, type Co } from '../smp/co.ts';
import { spinLockIrqsave, spinUnlockIrqrestore, type Spinlock } from '../smp/spinlock.ts';
import type { VmallocCtx } from '../vmalloc/purge.ts';
import { xenKillAliases } from './alias-kill.ts';
import { xenMcBatch, xenMcEntry, xenMcIssue } from './multicall.ts';

/** The alias kill's context, and xen_reservation_lock, which guards exchanges with Xen. */
export interface ContiguousCtx extends VmallocCtx {
  readonly reservationLock: Spinlock;
}

/** The pages' direct-map PTEs, all at once through the multicall buffer. */
function setDirectMap(k: ContiguousCtx, c: Cpu, pfns: readonly number[], present: boolean): void {
  xenMcBatch(c, k.mc(c));
  for (const p of pfns) {
    xenMcEntry(k, c, {
      op: 'update_va_mapping',
      va: k.mem.va(p),
      val: present ? pte(k.mem.mfn(p), PTE.KERNEL) : 0n,
      flags: UVMF.NONE,
    });
  }
  xenMcIssue(k, c, 0);
}

export const xenCreateContiguousRegion = kernelFn('xen_create_contiguous_region', function* (k: ContiguousCtx, c: Cpu, pfns: readonly number[]): Co {
  const lock = k.reservationLock;
  const flags = yield* spinLockIrqsave(c, lock);
  yield* xenKillAliases(k, c, 'create_contiguous');
  setDirectMap(k, c, pfns, false);
  const r = k.port.memoryExchange(k.caller(c), pfns.map((p) => k.mem.mfn(p)));
  setDirectMap(k, c, pfns, true);
  spinUnlockIrqrestore(c, lock, flags);
  const ev: GuestEvent = { event: 'exchange', vcpu: c.id, pages: pfns.length, ok: r.rc === 0 };
  if (r.refusals[0]) ev.refusal = r.refusals[0];
  k.emit(ev);
});
