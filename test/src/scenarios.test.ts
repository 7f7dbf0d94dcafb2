// Every scenario of linux-guest.md §6 (src/lab/scenarios/*.json) under every policy its file names:
// the outcome and the counts it expects, for several seeds. Plus the details a count cannot show.
import { describe, expect, it } from 'vitest';
import { builtinScenarios, loadScenario } from '../../src/lab/scenarios/load.ts';
import { runScenario } from '../../src/lab/run.ts';
import type { Verdict } from '../../src/lab/verdict.ts';
import { Hypervisor } from '../../hypervisor/index.ts';
import { Kernel } from '../../guest/kernel.ts';
import type { GuestEvent } from '../../guest/events.ts';
import { resolvePolicy } from '../../src/lab/scenarios/policies.ts';
import { opsOf } from '../../src/lab/scenarios/schema.ts';
import { hypervisorPort } from '../../src/lab/guest-port.ts';

const SEEDS = [1, 2, 3];

function counts(v: Verdict): Record<string, number> {
  return { va_hazards: v.va_hazards, warnings: v.warnings, ipis: v.ipis, pins_refused: v.pins.refused };
}

describe('every built-in scenario meets its expected verdict under each policy', () => {
  const names = builtinScenarios();
  it('ships the 14 scenarios of linux-guest.md §6 (all but the 32-bit highmem one) and a 3-vCPU one for explore', () => {
    expect(names).toHaveLength(15);
    expect(names).toContain('three-vcpu-irqsoff-purge');
  });
  for (const name of names) {
    const s = loadScenario(name);
    describe(name, () => {
      for (const [policy, want] of Object.entries(s.expect)) {
        it(`${policy}: ${want.outcome ?? 'the outcome depends on the interleaving'}`, () => {
          for (const seed of SEEDS) {
            const v = runScenario(s, { policy, seed });
            if (want.outcome !== undefined) expect(v.outcome, `seed ${seed}`).toBe(want.outcome);
            for (const [k, n] of Object.entries(counts(v))) {
              const w = (want as unknown as Record<string, string | undefined>)[k];
              if (w === 'none') expect(n, `${k}, seed ${seed}`).toBe(0);
              if (w === 'some') expect(n, `${k}, seed ${seed}`).toBeGreaterThan(0);
            }
            if (v.outcome === 'deadlock') expect(v.deadlock!.length).toBeGreaterThan(0);
          }
        });
      }
    });
  }
});

/** Runs a scenario directly, keeping the kernel and the events. */
function runDirect(name: string, policy: string, seed = 1) {
  const s = loadScenario(name);
  const { policy: p } = resolvePolicy(policy, s.policy, s.set);
  const events: GuestEvent[] = [];
  const hv = new Hypervisor();
  const k = new Kernel(
    { vcpus: s.vcpus, memoryPages: s.memory_pages, vmallocPages: s.vmalloc_pages, policy: p, vmallocInitialized: s.vmalloc_initialized },
    hypervisorPort(hv),
    (e) => events.push(e),
  );
  const { setup, programs } = opsOf(s);
  const r = k.run(programs, { seed }, setup);
  return { r, k, hv, events, of: <T extends GuestEvent['event']>(t: T) => events.filter((e) => e.event === t) as Extract<GuestEvent, { event: T }>[] };
}

describe('the hypervisor\'s books after every scenario', () => {
  it('the audit is clean after each built-in scenario under each purge-flush policy, whatever the outcome', () => {
    for (const name of builtinScenarios()) {
      for (const policy of ['force', 'if_needed', 'never', 'default']) {
        const d = runDirect(name, policy);
        expect(d.hv.audit(), `${name} ${policy}`).toEqual([]);
      }
    }
  });
});

describe('scenario details', () => {
  it('fault-storm-with-dirty-block: 100 broadcast flushes by default, none under IF_NEEDED, one with the 2023 dirty-map reset', () => {
    const s = loadScenario('fault-storm-with-dirty-block');
    expect(runScenario(s, { policy: 'default' }).ipis).toBe(100);
    expect(runScenario(s, { policy: 'if_needed' }).ipis).toBe(0);
    expect(runScenario(s, { policy: 'default,vbDirtyClearAfterFlush=true' }).ipis).toBe(1);
  });

  it('threshold-crossing-auto-purge: exactly one automatic purge at 8194 > 8192 lazy pages, and unmap_kernel_range flushes', () => {
    const d = runDirect('threshold-crossing-auto-purge', 'default');
    expect(d.r.outcome).toBe('completed');
    const purges = d.of('purge');
    expect(purges).toEqual([expect.objectContaining({ sync: false, flush: 'if_needed', purged_pages: 8194, flushed: true })]);
    expect(d.of('tlb_flush_kernel')).toHaveLength(2); // the purge's and unmap_kernel_range's
    expect(d.k.vmap.lazyNr).toBe(0);
  });

  it('auto-purge-trylock-race: some schedule loses the trylock, and vm_unmap_aliases still purges what it left', () => {
    let skipped = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const d = runDirect('auto-purge-trylock-race', 'default', seed);
      expect(d.r.outcome).toBe('completed');
      if (d.of('purge').some((p) => p.skipped)) skipped++;
      expect(d.k.vmap.lazyNr).toBe(0);
      expect(d.k.vmap.areas.filter((a) => a.use === 'vmalloc')).toEqual([]);
    }
    expect(skipped).toBeGreaterThan(0);
  });

  it('exec-activate-pin: a failed execve\'s mm was never pinned and its exit makes no unpin', () => {
    const d = runDirect('exec-activate-pin', 'default');
    expect(d.r.outcome).toBe('completed');
    expect(d.hv.audit()).toEqual([]);
  });

  it('suspend-pin-all-irqs-off: 1 vCPU does not hang, but WARNs and on_each_cpu re-enables interrupts inside stop_machine', () => {
    const s = loadScenario('suspend-pin-all-irqs-off');
    const v = runScenario(s, { policy: 'default', vcpus: 1 });
    expect(v.outcome).toBe('completed');
    expect(v.warning_sites).toContain('smp_call_function_mask');
  });

  it('suspend-pin-all-irqs-off: with no unpinned pgd nothing happens under any policy', () => {
    const s = loadScenario('suspend-pin-all-irqs-off');
    const noDying = { ...s, setup: s.setup.filter((o) => o.op !== 'pgd_alloc') };
    for (const policy of ['force', 'if_needed', 'never', 'default']) {
      const v = runScenario(noDying, { policy });
      expect(v.outcome, policy).toBe('completed');
      expect(v.ipis, policy).toBe(0);
    }
  });

  it('a refused pin names its blocker in the verdict: Xen\'s L1 and slot, and the guest\'s VA and owner (issue 17)', () => {
    const v = runScenario(loadScenario('nfs-readdir-2.6.36'), {});
    expect(v.outcome).toBe('bug');
    expect(v.refusals[0]!.reason).toMatch(/Bad type \(saw writable != exp l1\)/);
    expect(v.refusals[0]!.blockers[0]).toMatch(
      /^L1 0x[0-9a-f]+ slot \d+ \(va 0xffffc2[0-9a-f]{10}: vCPU\d's vmap block \(vm_map_ram\) .*a freed page: dirty, its PTE still in place\]\) maps it writable$/,
    );
  });

  it('a lazily freed vmalloc alias is named as one, with the VA the slot maps', () => {
    const v = runScenario(loadScenario('vmalloc-churn-then-fork'), { set: ['xenCallsVmUnmapAliases=none'] });
    expect(v.outcome).toBe('bug');
    for (const r of v.refusals) {
      const m = /^L1 0x[0-9a-f]+ slot (\d+) \(va (0x[0-9a-f]+): vmalloc area \[0xffffc20000000000, \d+ pages, lazily freed: its PTEs wait for a purge\]\) maps it writable$/.exec(r.blockers[0]!);
      expect(m, r.blockers[0]).not.toBeNull();
      // The VA is the slot's: the vmalloc area starts at VMALLOC_START, one L1 covers 512 pages.
      expect(BigInt(m![2]!) % (512n * 4096n)).toBe(BigInt(m![1]!) * 4096n);
    }
  });
});
