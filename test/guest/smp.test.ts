// linux-guest.md §3: the irqs-off TLB-shootdown deadlock on a Xen PV guest, the WARN, 2.6.28's
// on_each_cpu re-enabling interrupts, and the hypercall route that removes the deadlock. The
// guest runs against the real simulated Xen.
import { describe, expect, it } from 'vitest';
import type { Op } from '../../guest/ops.ts';
import { boot } from './helpers.ts';

/** Something lazy (a freed vmalloc area, touched by vCPU 0) and one dirty vmap block. */
const lazyAndDirty: Op[] = [
  { op: 'vmalloc', name: 'a', pages: 8 },
  { op: 'vfree', name: 'a' },
  { op: 'vm_map_ram', name: 'x', pages: 4 },
  { op: 'vm_unmap_ram', name: 'x' },
];
const lazyOnly: Op[] = lazyAndDirty.slice(0, 2);

function irqsOff(call: Op): Op[] {
  return [{ op: 'local_irq_disable' }, { op: 'barrier', name: 'both-off', count: 2 }, call, { op: 'local_irq_enable' }];
}

describe('two vCPUs with interrupts off', () => {
  it('vm_unmap_aliases() under FORCE (a dirty block) deadlocks, and the wait-for cycle is reported', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const b = boot();
      const r = b.run([irqsOff({ op: 'vm_unmap_aliases' }), irqsOff({ op: 'vm_unmap_aliases' })], { seed }, lazyAndDirty);
      expect(r.outcome).toBe('deadlock');
      expect(b.of('vm_unmap_aliases').some((e) => e.flush === 'force')).toBe(true);
      const cycle = r.deadlock!.cycle;
      expect(cycle.map((e) => [e.vcpu, e.waitsFor]).sort()).toEqual([
        [0, 1],
        [1, 0],
      ]);
      // One waits for the other's IPI acknowledgement while that one has interrupts off.
      expect(cycle.some((e) => /ack IPI do_flush_tlb_all \(vCPU\d has interrupts off\)/.test(e.why))).toBe(true);
      expect(b.of('deadlock')).toHaveLength(1);
      expect(b.hv.audit()).toEqual([]);
    }
  });

  it('__vm_unmap_aliases(0) completes with no IPI and reports the VA-reuse hazard it leaves', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const b = boot();
      const call: Op = { op: '__vm_unmap_aliases', allow_flush: false };
      const r = b.run([irqsOff(call), irqsOff(call)], { seed }, lazyAndDirty);
      expect(r.outcome).toBe('completed');
      expect(b.of('ipi_send')).toEqual([]);
      const hazards = b.of('va_hazard');
      expect(hazards.length).toBeGreaterThan(0);
      // vCPU 0 wrote the vmalloc area during setup: its TLB still translates the freed range.
      expect(hazards[0]).toMatchObject({ kind: 'freed_unflushed', stale_vcpus: [0] });
      expect(b.k.vmap.lazyNr).toBe(0);
    }
  });

  it('the PTEs are gone after __vm_unmap_aliases(0), although nothing was flushed', () => {
    const b = boot();
    b.run([irqsOff({ op: '__vm_unmap_aliases', allow_flush: false }), irqsOff({ op: '__vm_unmap_aliases', allow_flush: false })], {}, lazyOnly);
    const l1 = b.k.mem.mfn(b.k.tables.vmL1[0]!);
    for (let slot = 0; slot < 9; slot++) expect(b.hv.read(l1, slot)).toBe(0n);
    expect(b.of('purge').every((p) => !p.flushed)).toBe(true);
  });

  it('routing kernel flushes to MMUEXT_TLB_FLUSH_ALL removes the deadlock under every policy', () => {
    for (const flush of ['default', 'force', 'if_needed', 'never']) {
      for (let seed = 1; seed <= 4; seed++) {
        const b = boot({ set: ['kernelFlushVia=hypercall_flush_all', `pinAliasFlush=${flush}`] });
        const r = b.run([irqsOff({ op: 'kill_aliases' }), irqsOff({ op: 'kill_aliases' })], { seed }, lazyAndDirty);
        expect(r.outcome, `${flush} seed ${seed}`).toBe('completed');
        expect(b.of('ipi_send')).toEqual([]);
      }
    }
  });
});

describe('one vCPU', () => {
  it('vm_unmap_aliases() with interrupts off WARNs, does not deadlock, and on_each_cpu re-enables interrupts', () => {
    const b = boot({ vcpus: 1 });
    const r = b.run([[{ op: 'local_irq_disable' }, { op: 'vm_unmap_aliases' }]], {}, lazyOnly);
    expect(r.outcome).toBe('completed');
    expect(b.of('warn')).toEqual([
      expect.objectContaining({ where: 'smp_call_function_mask', message: expect.stringContaining('irqs_disabled') }),
    ]);
    expect(b.of('irq').some((e) => e.enabled && /on_each_cpu re-enabled/.test(e.why))).toBe(true);
    expect(b.k.cpus[0]!.irqsEnabled).toBe(true); // the caller's irqs-off section is broken
  });

  it('with onEachCpuIrq=save_restore the caller keeps interrupts off', () => {
    const b = boot({ vcpus: 1, set: ['onEachCpuIrq=save_restore'] });
    b.run([[{ op: 'local_irq_disable' }, { op: 'vm_unmap_aliases' }]], {}, lazyOnly);
    expect(b.k.cpus[0]!.irqsEnabled).toBe(false);
  });

  it('WARN_ON_ONCE (2.6.32+) warns once for two irqs-off IPIs; WARN_ON (2.6.28) twice', () => {
    const twice: Op[] = [{ op: 'local_irq_disable' }, { op: 'kill_aliases' }, { op: 'local_irq_disable' }, { op: 'kill_aliases' }];
    const once = boot({ vcpus: 1, set: ['smpCallWarn=warn_on_once', 'pinAliasFlush=force'] });
    once.run([twice], {}, lazyOnly);
    expect(once.of('warn')).toHaveLength(1);
    const every = boot({ vcpus: 1, set: ['pinAliasFlush=force'] });
    every.run([twice], {}, lazyOnly);
    expect(every.of('warn')).toHaveLength(2);
  });
});

describe('IPIs reach only vCPUs with interrupts enabled', () => {
  it('an IPI to a vCPU with interrupts off waits until it enables them', () => {
    const b = boot();
    // vCPU 1 keeps interrupts off across a barrier; vCPU 0 flushes meanwhile.
    const r = b.run(
      [
        [{ op: 'barrier', name: 'v1-off', count: 2 }, { op: 'vm_unmap_aliases' }],
        [{ op: 'local_irq_disable' }, { op: 'barrier', name: 'v1-off', count: 2 }, { op: 'local_irq_enable' }],
      ],
      { seed: 3 },
      lazyOnly,
    );
    expect(r.outcome).toBe('completed');
    const events = b.events.map((e) => e.event);
    const ack = events.indexOf('ipi_ack');
    const enable = b.events.findIndex((e) => e.event === 'irq' && e.vcpu === 1 && e.enabled);
    expect(ack).toBeGreaterThan(-1);
    expect(enable).toBeGreaterThan(-1);
    expect(ack).toBeGreaterThan(enable);
  });
});

describe('determinism', () => {
  const programs: Op[][] = [irqsOff({ op: 'kill_aliases' }), irqsOff({ op: 'kill_aliases' })];
  const json = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v));

  it('the same scenario, policy and seed give identical events and hypercalls', () => {
    const run = () => {
      const b = boot({ preset: 'rfc-2008-12' });
      const r = b.run(programs, { seed: 42 }, lazyAndDirty);
      return json({ r, events: b.events, records: b.records });
    };
    expect(run()).toBe(run());
  });

  it('different seeds explore different interleavings', () => {
    const schedules = new Set<string>();
    for (let seed = 1; seed <= 6; seed++) {
      const b = boot({ preset: 'rfc-2008-12' });
      schedules.add(b.run(programs, { seed }, lazyAndDirty).schedule.join(','));
    }
    expect(schedules.size).toBeGreaterThan(1);
  });

  it('a recorded schedule reproduces its run exactly', () => {
    const a = boot();
    const first = a.run(programs, { seed: 9 }, lazyAndDirty);
    const b = boot();
    const again = b.run(programs, { seed: 12345, schedule: first.schedule }, lazyAndDirty);
    expect(again.outcome).toBe(first.outcome);
    expect(again.schedule).toEqual(first.schedule);
    expect(json(b.events)).toBe(json(a.events));
  });
});
