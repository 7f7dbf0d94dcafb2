// The seed patch's before/after table (linux-guest.md §1.6), one test per row, on the guest's
// real vmalloc code and the simulated Xen.
import { describe, expect, it } from 'vitest';
import type { Op } from '../../guest/ops.ts';
import { PURGE_FLUSH, purgeVmapAreaLazyRange, type PurgeFlush } from '../../guest/vmalloc/purge.ts';
import { boot } from './helpers.ts';

const lazy: Op[] = [
  { op: 'vmalloc', name: 'a', pages: 8 },
  { op: 'vfree', name: 'a' },
];
const dirty: Op[] = [
  { op: 'vm_map_ram', name: 'x', pages: 4 },
  { op: 'vm_unmap_ram', name: 'x' },
];

describe('row "trylock iff !sync && flush != FORCE"', () => {
  const cases: [boolean, PurgeFlush, 'trylock' | 'spin'][] = [
    [false, PURGE_FLUSH.NEVER, 'trylock'],
    [false, PURGE_FLUSH.IF_NEEDED, 'trylock'],
    [false, PURGE_FLUSH.FORCE, 'spin'],
    [true, PURGE_FLUSH.NEVER, 'spin'],
    [true, PURGE_FLUSH.IF_NEEDED, 'spin'],
    [true, PURGE_FLUSH.FORCE, 'spin'],
  ];
  for (const [sync, flush, want] of cases) {
    it(`sync=${sync} flush=${['NEVER', 'IF_NEEDED', 'FORCE'][flush]}: ${want === 'trylock' ? 'gives up at once' : 'spins'} while another vCPU purges`, () => {
      const b = boot();
      const c0 = b.k.cpus[0]!;
      b.k.vmap.purgeLock.owner = 1; // vCPU 1 is purging
      const co = purgeVmapAreaLazyRange(b.k, c0, { start: Infinity, end: 0 }, sync, flush);
      let step = co.next();
      while (!step.done && step.value.kind === 'preempt') step = co.next();
      if (want === 'trylock') {
        expect(step.done).toBe(true);
        expect(b.of('purge').at(-1)).toMatchObject({ skipped: true, sync: false });
      } else {
        expect(step.done).toBe(false);
        expect(step.value).toMatchObject({ kind: 'spin' });
        expect(b.of('purge')).toEqual([]);
      }
    });
  }
});

describe('row "flush iff (nr && flush == IF_NEEDED) || flush == FORCE"', () => {
  for (const nr of [0, 9]) {
    for (const [name, flush] of Object.entries(PURGE_FLUSH)) {
      const want = (nr > 0 && flush === PURGE_FLUSH.IF_NEEDED) || flush === PURGE_FLUSH.FORCE;
      it(`${nr ? 'lazy areas' : 'nothing lazy'}, ${name}: ${want ? 'flushes' : 'no flush'}`, () => {
        const b = boot({ vcpus: 1 });
        b.run([[]], {}, nr ? lazy : []);
        const c0 = b.k.cpus[0]!;
        const co = purgeVmapAreaLazyRange(b.k, c0, { start: Infinity, end: 0 }, true, flush as PurgeFlush);
        for (let s = co.next(); !s.done; s = co.next());
        const p = b.of('purge').at(-1)!;
        expect(p.purged_pages).toBe(nr);
        expect(p.flushed).toBe(want);
        expect(b.of('tlb_flush_kernel').length).toBe(want ? 1 : 0);
        // Unmapped and freed in every case: NEVER only skips the flush.
        expect(b.k.vmap.areas.filter((a) => a.use === 'vmalloc')).toEqual([]);
        expect(b.k.vmap.lazyNr).toBe(0);
      });
    }
  }
});

describe('row "try_purge: (0, IF_NEEDED)"', () => {
  it('crossing lazy_max_pages purges with a trylock and IF_NEEDED', () => {
    const b = boot({ vcpus: 1, set: ['lazyMaxPagesConstant=10'] });
    b.run([[{ op: 'vmalloc', name: 'a', pages: 12 }, { op: 'vfree', name: 'a' }]]);
    expect(b.of('purge')).toEqual([expect.objectContaining({ sync: false, flush: 'if_needed', purged_pages: 13, flushed: true })]);
  });
});

describe('row "purge (alloc fail): (1, IF_NEEDED)"', () => {
  it('an exhausted vmalloc area purges synchronously with IF_NEEDED, then the allocation succeeds', () => {
    const b = boot({ vcpus: 1, vmallocPages: 1024 });
    const r = b.run([[
      { op: 'vmalloc', name: 'a', pages: 600 },
      { op: 'vfree', name: 'a' },
      { op: 'vmalloc', name: 'b', pages: 600 },
    ]]);
    expect(r.outcome).toBe('completed');
    expect(b.of('purge')).toEqual([expect.objectContaining({ sync: true, flush: 'if_needed', purged_pages: 601, flushed: true })]);
  });
});

describe('row "vm_unmap_aliases: (1, allow ? (dirty ? FORCE : IF_NEEDED) : NEVER)"', () => {
  const rows: [string, Op, Op[], string][] = [
    ['vm_unmap_aliases(), clean blocks', { op: 'vm_unmap_aliases' }, lazy, 'if_needed'],
    ['vm_unmap_aliases(), a dirty block', { op: 'vm_unmap_aliases' }, [...lazy, ...dirty], 'force'],
    ['__vm_unmap_aliases(0), clean blocks', { op: '__vm_unmap_aliases', allow_flush: false }, lazy, 'never'],
    ['__vm_unmap_aliases(0), a dirty block', { op: '__vm_unmap_aliases', allow_flush: false }, [...lazy, ...dirty], 'never'],
  ];
  for (const [name, call, setup, flush] of rows) {
    it(`${name} → sync purge with ${flush.toUpperCase()}`, () => {
      const b = boot({ vcpus: 1 });
      b.run([[call]], {}, setup);
      expect(b.of('vm_unmap_aliases').at(-1)).toMatchObject({ flush });
      expect(b.of('purge').at(-1)).toMatchObject({ sync: true, flush, flushed: flush !== 'never' });
    });
  }

  it('allow_flush=1 behaves exactly as 2.6.28 did: IF_NEEDED ≡ force_flush 0, FORCE ≡ force_flush 1', () => {
    // Nothing lazy, nothing dirty: 2.6.28 (nr || force_flush) does not flush; with a dirty block it does.
    const clean = boot({ vcpus: 1 });
    clean.run([[{ op: 'vm_unmap_aliases' }]]);
    expect(clean.of('purge').at(-1)).toMatchObject({ purged_pages: 0, flushed: false });
    const withDirty = boot({ vcpus: 1 });
    withDirty.run([[{ op: 'vm_unmap_aliases' }]], {}, dirty);
    expect(withDirty.of('purge').at(-1)).toMatchObject({ purged_pages: 0, flushed: true });
  });

  it('2008: dirty_map is never cleared, so every later vm_unmap_aliases flushes again (2023: once)', () => {
    const three: Op[] = [{ op: 'vm_unmap_aliases' }, { op: 'vm_unmap_aliases' }, { op: 'vm_unmap_aliases' }];
    const y2008 = boot({ vcpus: 1 });
    y2008.run([three], {}, dirty);
    expect(y2008.of('purge').map((p) => p.flushed)).toEqual([true, true, true]);
    const y2023 = boot({ vcpus: 1, set: ['vbDirtyClearAfterFlush=true'] });
    y2023.run([three], {}, dirty);
    expect(y2023.of('purge').map((p) => p.flushed)).toEqual([true, false, false]);
  });
});
