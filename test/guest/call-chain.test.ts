// A deadlock says where each vCPU is stuck: its kernel call chain (outermost first, the wait
// last), from the frames the kernel functions push and pop as they run. The guest runs against
// the real simulated Xen.
import { describe, expect, it } from 'vitest';
import type { Op } from '../../guest/ops.ts';
import { boot } from './helpers.ts';

/** Something lazy (a freed vmalloc area) and one dirty vmap block: the alias kill flushes (FORCE). */
const lazyAndDirty: Op[] = [
  { op: 'vmalloc', name: 'a', pages: 8 },
  { op: 'vfree', name: 'a' },
  { op: 'vm_map_ram', name: 'x', pages: 4 },
  { op: 'vm_unmap_ram', name: 'x' },
];

function irqsOff(call: Op): Op[] {
  return [{ op: 'local_irq_disable' }, { op: 'barrier', name: 'both-off', count: 2 }, call, { op: 'local_irq_enable' }];
}

const PIN_TO_PURGE = ['xen_dup_mmap', 'xen_pgd_pin', '__xen_pgd_pin', 'vm_unmap_aliases', '__purge_vmap_area_lazy'];
const IPI_WAIT = ['flush_tlb_kernel_range', 'on_each_cpu', 'smp_call_function', 'smp_call_function_mask', 'csd_flag_wait'];

describe('the call chain of a deadlocked vCPU', () => {
  it('a pin with interrupts off against an alias kill: one waits in csd_flag_wait, the other spins in spin_lock', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const b = boot();
      const r = b.run([irqsOff({ op: 'spawn', name: 'p' }), irqsOff({ op: 'vm_unmap_aliases' })], { seed }, lazyAndDirty);
      expect(r.outcome).toBe('deadlock');
      const cycle = r.deadlock!.cycle;
      const acker = cycle.find((e) => /ack IPI do_flush_tlb_all/.test(e.why))!;
      const spinner = cycle.find((e) => /spins on purge_lock/.test(e.why))!;
      // Innermost last: the sender is stuck in csd_flag_wait, the other in spin_lock.
      expect(acker.chain.slice(-IPI_WAIT.length)).toEqual(IPI_WAIT);
      expect(spinner.chain.at(-1)).toBe('spin_lock');
      const pinner = cycle.find((e) => e.vcpu === 0)!;
      expect(pinner.chain.slice(0, PIN_TO_PURGE.length)).toEqual(PIN_TO_PURGE);
      const other = cycle.find((e) => e.vcpu === 1)!;
      expect(other.chain.slice(0, 2)).toEqual(['vm_unmap_aliases', '__purge_vmap_area_lazy']);
      // The log's deadlock event carries the same chains.
      expect(b.of('deadlock')[0]).toMatchObject({ cycle: cycle.map((e) => ({ vcpu: e.vcpu, chain: e.chain })) });
    }
  });

  it('every frame is popped: after a completed run no vCPU is left in a function', () => {
    const b = boot();
    const r = b.run(
      [
        [{ op: 'spawn', name: 'p' }, { op: 'fork', parent: 'p', child: 'q' }, { op: 'exit', mm: 'q' }, { op: 'vm_unmap_aliases' }],
        [{ op: 'vmalloc', name: 'b', pages: 4 }, { op: 'vfree', name: 'b' }, { op: 'suspend' }],
      ],
      { seed: 3 },
      lazyAndDirty,
    );
    expect(r.outcome).toBe('completed');
    expect(b.k.cpus.map((c) => c.chain)).toEqual([[], []]);
  });

});
