// linux-guest.md §0–§2: a lazy vmalloc alias is a real writable L1 entry, so Xen refuses to pin
// the frame as a page table, naming the alias; the alias kill before the pin lets it through.
import { describe, expect, it } from 'vitest';
import { boot, refusals } from './helpers.ts';
import type { Op } from '../../guest/ops.ts';

const churnThenFork: Op[] = [
  { op: 'vmalloc', name: 'buf', pages: 64 },
  { op: 'vfree', name: 'buf' },
  { op: 'fork', parent: 'init', child: 'child' },
];
const setup: Op[] = [{ op: 'spawn', name: 'init' }];

describe('a lazy alias blocks a pin (lazy PTEs, no alias kill)', () => {
  it('Xen refuses the PTE page with -EINVAL and names the vmalloc L1 slot that maps it writable', () => {
    const b = boot({ set: ['xenCallsVmUnmapAliases=none'] });
    const r = b.run([churnThenFork, []], {}, setup);
    expect(r.outcome).toBe('bug');
    expect(r.bug?.where).toBe('xen_mc_flush');
    const bug = b.of('bug')[0]!;
    const refusal = bug.refusal!;
    expect(refusal.rc).toBe(-22);
    expect(refusal.what).toMatch(/^pin_l1_table mfn /);
    expect(refusal.reason).toMatch(/^Bad type \(saw writable != exp l1\)/);
    // The blocker is the vmalloc area's L1 table, at the slot of the freed page's old address.
    const vmL1 = b.k.tables.vmL1.map((p) => b.k.mem.mfn(p));
    expect(refusal.blockers.length).toBe(1);
    const blocker = refusal.blockers[0]!;
    expect(blocker.kind).toBe('l1e');
    expect(blocker.rw).toBe(true);
    expect(vmL1).toContain(blocker.mfn);
    expect(Number(blocker.val! >> 12n) & 0xfffffff).toBe(refusal.mfn);
    // And the hypervisor's books still balance.
    expect(b.hv.audit()).toEqual([]);
  });

  it('the frame Xen refused really is mapped writable at that vmalloc address', () => {
    const b = boot({ set: ['xenCallsVmUnmapAliases=none'] });
    b.run([churnThenFork, []], {}, setup);
    const refusal = b.of('bug')[0]!.refusal!;
    const blocker = refusal.blockers[0]!;
    expect(b.hv.read(blocker.mfn, blocker.slot!)).toBe(blocker.val);
    expect(b.hv.frame(refusal.mfn!)).toMatchObject({ type: 'writable', type_count: 1 });
  });
});

describe('the alias kill lets the pin through', () => {
  for (const preset of ['linux-2.6.28', 'rfc-2008-12']) {
    it(`${preset}: fork after vmalloc churn completes and every pin succeeds`, () => {
      const b = boot({ preset });
      const r = b.run([churnThenFork, []], {}, setup);
      expect(r.outcome).toBe('completed');
      expect(refusals(b)).toEqual([]);
      const kills = b.of('vm_unmap_aliases').filter((e) => e.site === 'pgd_pin');
      expect(kills.length).toBe(2); // init's spawn and the fork
      expect(b.of('purge').at(-1)).toMatchObject({ purged_pages: 65, flushed: true });
      expect(b.hv.audit()).toEqual([]);
    });
  }

  it('2.6.37 eager PTEs: no alias kill is needed and no flush happens', () => {
    const b = boot({ preset: 'linux-2.6.37' });
    const r = b.run([churnThenFork, []], {}, setup);
    expect(r.outcome).toBe('completed');
    expect(b.of('vm_unmap_aliases')).toEqual([]);
    expect(b.of('ipi_send')).toEqual([]);
    expect(refusals(b)).toEqual([]);
  });
});
