// Small random scenarios for the brute-force check of explore (issue 13): 2–3 vCPUs whose programs
// mix interrupt sections, vmalloc / vfree, vm_map_ram / vm_unmap_ram (dirty vmap blocks),
// vm_unmap_aliases and the alias kill (purges, flush IPIs), forks, barriers, and a lazy_max_pages
// small enough that vfree purges by itself. Small on purpose: brute force must finish them.

import fc from 'fast-check';
import type { Op } from '../../guest/ops.ts';
import type { Scenario } from '../../src/lab/scenarios/schema.ts';

type Piece = (vcpu: number, n: number) => Op[];

const PIECES: Record<string, Piece> = {
  irq_off: () => [{ op: 'local_irq_disable' }],
  irq_on: () => [{ op: 'local_irq_enable' }],
  vmalloc_vfree: (v, n) => [{ op: 'vmalloc', name: `a${v}_${n}`, pages: 1 }, { op: 'vfree', name: `a${v}_${n}` }],
  vmalloc_touch: (v, n) => [{ op: 'vmalloc', name: `t${v}_${n}`, pages: 1 }, { op: 'touch', name: `t${v}_${n}` }],
  map_ram: (v, n) => [{ op: 'vm_map_ram', name: `m${v}_${n}`, pages: 1 }, { op: 'vm_unmap_ram', name: `m${v}_${n}` }],
  unmap_aliases: () => [{ op: 'vm_unmap_aliases' }],
  unmap_aliases_noflush: () => [{ op: '__vm_unmap_aliases', allow_flush: false }],
  kill_aliases: () => [{ op: 'kill_aliases' }],
  fork: (v, n) => [{ op: 'fork', parent: 'init', child: `c${v}_${n}` }],
  barrier: () => [{ op: 'barrier', name: 'meet', count: 2 }],
  // The page setup mapped on vCPU0's block (one vCPU may unmap it: vCPU1).
  unmap_setup_ram: (v, n) => (v === 1 && n === 0 ? [{ op: 'vm_unmap_ram', name: 'd0' }] : [{ op: 'vm_unmap_aliases' }]),
};

const pieceArb = fc.constantFrom(...Object.keys(PIECES));
const policyArb = fc.constantFrom('default', 'force', 'if_needed', 'never', 'default,kernelFlushVia=hypercall_flush_all');

export const scenarioArb: fc.Arbitrary<{ scenario: Scenario; policy: string }> = fc
  .record({
    vcpus: fc.integer({ min: 2, max: 3 }),
    programs: fc.array(fc.array(pieceArb, { minLength: 1, maxLength: 2 }), { minLength: 3, maxLength: 3 }),
    lazy: fc.boolean(),
    dirty: fc.boolean(),
    mapped: fc.boolean(),
    autoPurge: fc.boolean(),
    gap: fc.boolean(),
    policy: policyArb,
  })
  .map(({ vcpus, programs, lazy, dirty, mapped, autoPurge, gap, policy }) => {
    const progs = programs.slice(0, vcpus).map((pieces, v) => pieces.flatMap((p, n) => PIECES[p]!(v, n)));
    // Three vCPUs: one piece each at most, or brute force would not finish.
    if (vcpus === 3) progs.forEach((p, i) => (progs[i] = p.slice(0, 2)));
    const setup: Op[] = [{ op: 'spawn', name: 'init', pages: 1 }];
    if (lazy) setup.push({ op: 'vmalloc', name: 'l', pages: 1 }, { op: 'vfree', name: 'l' });
    if (dirty) setup.push({ op: 'vm_map_ram', name: 'd', pages: 1 }, { op: 'vm_unmap_ram', name: 'd' });
    const unmaps = progs.some((p) => p.some((o) => o.op === 'vm_unmap_ram' && o.name === 'd0'));
    if (mapped || unmaps) setup.push({ op: 'vm_map_ram', name: 'd0', pages: 1 });
    const scenario = {
      name: 'generated',
      title: 'generated',
      description: 'generated',
      vcpus,
      memory_pages: 256,
      vmalloc_pages: 2048,
      policy: 'linux-2.6.28',
      set: [...(autoPurge ? ['lazyMaxPagesConstant=1'] : []), ...(gap ? ['lazyFreeGap=true'] : [])],
      vmalloc_initialized: true,
      setup,
      programs: progs,
      expect: {},
    } as unknown as Scenario;
    return { scenario, policy };
  });
