// Issue 13, item 4: the gap in free_unmap_vmap_area_noflush (2.6.28 mm/vmalloc.c): VM_LAZY_FREE
// is set, then vmap_lazy_nr is added to, with no lock across the two, while
// __purge_vmap_area_lazy walks vmap_area_list under rcu_read_lock only and then checks
// BUG_ON(nr > atomic_read(&vmap_lazy_nr)). With the scheduling point (lazyFreeGap=true) explore
// finds a purge on one vCPU counting the other's half-freed area: the BUG. Without it, none.
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/lab/explore.ts';
import { runScenario } from '../../src/lab/run.ts';
import { loadScenario } from '../../src/lab/scenarios/load.ts';

describe('the VM_LAZY_FREE / vmap_lazy_nr gap', () => {
  const s = loadScenario('auto-purge-trylock-race');

  it('with the gap, two vCPUs crossing the lazy threshold at once can BUG in __purge_vmap_area_lazy', () => {
    const r = explore(s, { policy: 'default', set: ['lazyFreeGap=true'] });
    expect(r.exhaustive).toBe(true);
    expect(r.outcomes.bug).toBeGreaterThan(0);
    const cx = r.counterexamples.bug!;
    expect(cx.verdict.bug!.where).toBe('__purge_vmap_area_lazy');
    expect(cx.verdict.bug!.message).toMatch(/^BUG_ON\(nr \d+ > vmap_lazy_nr \d+\)$/);
    const again = runScenario(s, { policy: 'default', set: ['lazyFreeGap=true'], schedule: cx.schedule });
    expect(again.outcome).toBe('bug');
    expect(again.bug).toEqual(cx.verdict.bug);
  }, 120_000);

  it('without it (the step taken as atomic), no schedule BUGs', () => {
    const r = explore(s, { policy: 'default' });
    expect(r.exhaustive).toBe(true);
    expect(r.outcomes.bug).toBe(0);
  }, 120_000);
});
