// Process exit on a Xen PV guest: 2.6.28 arch/x86/xen/mmu.c xen_exit_mmap → xen_drop_mm_ref
// (leave the mm here; IPI, wait=1, every vCPU in cpu_vm_mask or whose xen_current_cr3 is still
// this pgd, because lazily deferred cr3 loads make the mask unreliable) → unpin if pinned.

import type { Mm } from '../mm/mm-struct.ts';
import type { Cpu } from '../smp/cpu.ts';
import { kernelFn, type Co } from '../smp/co.ts';
import { smpCallFunctionMask } from '../smp/ipi.ts';
import { spinLock, spinUnlock } from '../smp/spinlock.ts';
import { leaveMm, loadCr3, xenPgdUnpin, type PinCtx } from './pin.ts';

/** drop_other_mm_ref, on the IPI's target. */
function dropOtherMmRef(k: PinCtx, t: Cpu, mm: Mm): void {
  const pc = k.percpu(t);
  if (pc.activeMm === mm) leaveMm(k, t);
  if (pc.cr3 === mm.pgd) loadCr3(k, t, k.tables.initL4, null);
}

export const xenDropMmRef = kernelFn('xen_drop_mm_ref', function* (k: PinCtx, c: Cpu, mm: Mm): Co {
  const pc = k.percpu(c);
  if (pc.activeMm === mm || pc.cr3 === mm.pgd) leaveMm(k, c);
  const mask = new Set(mm.cpuVmMask);
  if (k.policy.exitMmapCheckCr3) {
    for (const t of k.cpus) if (k.percpu(t).cr3 === mm.pgd) mask.add(t.id);
  }
  mask.delete(c.id);
  if (mask.size === 0) return;
  yield* smpCallFunctionMask(k, c, [...mask].sort((a, b) => a - b), 'drop_other_mm_ref', (t) => dropOtherMmRef(k, t, mm), true);
});

/** xen_exit_mmap. The pgd may be unpinned already (execve's error path). */
export const xenExitMmap = kernelFn('xen_exit_mmap', function* (k: PinCtx, c: Cpu, mm: Mm): Co {
  yield* xenDropMmRef(k, c, mm);
  yield* spinLock(c, mm.pageTableLock);
  if (k.mem.pinned(mm.pgd)) yield* xenPgdUnpin(k, c, mm);
  spinUnlock(c, mm.pageTableLock);
});
