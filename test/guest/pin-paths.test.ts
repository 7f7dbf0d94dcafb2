// The guest's pin paths, rule by rule, where mutation testing (`npm run mutate:guest`) found no
// test that pins them down: suspend's xen_mm_pin_all / xen_mm_unpin_all, __xen_pgd_unpin,
// leave_mm, the alias kill's knobs and arguments, the dirty runs vm_unmap_aliases unmaps, and
// __purge_vmap_area_lazy's range, counts, mutex WARN and BUG_ON. All against the real simulated Xen.
import { describe, expect, it } from 'vitest';
import type { Op } from '../../guest/ops.ts';
import { freeUnmapVmapAreaNoflush, lazyMaxPages, PURGE_FLUSH, purgeVmapAreaLazyRange } from '../../guest/vmalloc/purge.ts';
import { vaOf, VM_LAZY_FREE } from '../../guest/vmalloc/vmap-area.ts';
import { MMUEXT, UVMF, type Hypercall } from '../../hypervisor/index.ts';
import { boot, type Booted } from './helpers.ts';

/** Every hypercall the guest made, multicall entries flattened, in order. */
function calls(b: Booted): Hypercall[] {
  const out: Hypercall[] = [];
  const add = (c: Hypercall): void => {
    if (c.op === 'multicall') c.calls.forEach(add);
    else out.push(c);
  };
  for (const r of b.records) if (r.op === 'hypercall') add(r.call);
  return out;
}

/** The mmuext ops of command `cmd` the guest issued, by mfn. */
function mmuext(b: Booted, cmd: number): number[] {
  return calls(b).flatMap((c) => (c.op === 'mmuext_op' ? c.ops.filter((o) => o.cmd === cmd).map((o) => Number(o.mfn ?? -1)) : []));
}

const drain = (co: Generator): void => {
  for (let s = co.next(); !s.done; s = co.next());
};

describe('suspend: xen_mm_pin_all pins every unpinned pgd, xen_mm_unpin_all unpins just those', () => {
  it('a process pinned before stays pinned; one pinned for the suspend is unpinned again, twice over', () => {
    const b = boot({ vcpus: 1 });
    const r = b.run([[{ op: 'suspend' }, { op: 'suspend' }]], {}, [{ op: 'spawn', name: 'a' }, { op: 'pgd_alloc', name: 'b' }]);
    expect(r.outcome).toBe('completed');
    const a = b.k.objects.mms.get('a')!;
    const bb = b.k.objects.mms.get('b')!;
    const mfn = (pfn: number) => b.k.mem.mfn(pfn);
    // b: pinned and unpinned by each suspend; a: pinned once (spawn), never unpinned
    expect(mmuext(b, MMUEXT.pin_l4_table).filter((m) => m === mfn(bb.pgd))).toHaveLength(2);
    expect(mmuext(b, MMUEXT.unpin_table).filter((m) => m === mfn(bb.pgd))).toHaveLength(2);
    expect(mmuext(b, MMUEXT.unpin_table).filter((m) => m === mfn(a.pgd))).toHaveLength(0);
    // Xen and the guest agree: a pinned, b not; neither left marked SavePinned
    expect(b.hv.frame(mfn(a.pgd)).pinned).toBe(true);
    expect(b.hv.frame(mfn(bb.pgd)).pinned).toBe(false);
    expect(b.k.mem.pinned(a.pgd)).toBe(true);
    for (const [pfn] of [[bb.pgd], [bb.userPgd], ...bb.walkPages()] as [number][]) {
      expect(b.k.mem.pinned(pfn), `pfn ${pfn}`).toBe(false);
      expect(b.hv.frame(mfn(pfn)).type, `pfn ${pfn}`).not.toMatch(/^l[1-4]$/);
    }
    expect(b.k.pgdList.filter((m) => b.k.mem.flags[m.pgd]! & ~0xff).map((m) => m.name)).toEqual([]);
  });

  it('__xen_pgd_unpin: the pgd goes back to RW with a TLB flush, the lower levels without, each PTE page unpinned under its lock', () => {
    const b = boot({ vcpus: 1 });
    b.run([[{ op: 'suspend' }]], {}, [{ op: 'pgd_alloc', name: 'b' }]);
    const bb = b.k.objects.mms.get('b')!;
    const rw = calls(b).filter((c) => c.op === 'update_va_mapping');
    const last = (pfn: number) => rw.filter((c) => c.op === 'update_va_mapping' && c.va === b.k.mem.va(pfn)).at(-1)!;
    expect(last(bb.pgd)).toMatchObject({ flags: UVMF.TLB_FLUSH });
    expect(last(bb.userPgd)).toMatchObject({ flags: UVMF.TLB_FLUSH });
    for (const [pfn, level] of bb.walkPages()) {
      expect(last(pfn), `${level} pfn ${pfn}`).toMatchObject({ flags: UVMF.NONE });
      if (level === 'pte') expect(bb.ptl(pfn).owner, `ptl of pfn ${pfn}`).toBeNull();
    }
    expect(mmuext(b, MMUEXT.unpin_table)).toEqual(
      expect.arrayContaining(bb.walkPages().filter(([, l]) => l === 'pte').map(([p]) => b.k.mem.mfn(p))),
    );
  });
});

describe('load_cr3 and leave_mm', () => {
  it('exec loads the mm\'s user pgd; its exit leaves for init_mm with no user pgd', () => {
    const b = boot({ vcpus: 1 });
    const r = b.run([[{ op: 'exec', name: 'a' }, { op: 'exit', mm: 'a' }]]);
    expect(r.outcome).toBe('completed');
    const users = mmuext(b, MMUEXT.new_user_baseptr);
    const bases = mmuext(b, MMUEXT.new_baseptr);
    // exec pinned the pgd, then the user pgd (the last pin), and loaded both
    const pins = mmuext(b, MMUEXT.pin_l4_table);
    expect(users.at(-2)).toBe(pins.at(-1));
    expect(bases.at(-2)).toBe(pins.at(-2));
    expect(users.at(-1)).toBe(0);
    expect(bases.at(-1)).toBe(b.k.mem.mfn(b.k.tables.initL4));
    expect(b.k.percpu(b.k.cpus[0]!)).toMatchObject({ activeMm: null, cr3: b.k.tables.initL4 });
  });

  it('exit of an mm lazily left (cr3 still its pgd, no active mm) goes back to init_mm', () => {
    const b = boot({ vcpus: 1 });
    const r = b.run([[{ op: 'exec', name: 'a' }, { op: 'lazy_leave_mm', mm: 'a' }, { op: 'exit', mm: 'a' }]]);
    expect(r.outcome).toBe('completed');
    expect(b.k.percpu(b.k.cpus[0]!)).toMatchObject({ activeMm: null, cr3: b.k.tables.initL4 });
    expect(mmuext(b, MMUEXT.new_baseptr).at(-1)).toBe(b.k.mem.mfn(b.k.tables.initL4));
  });
});

describe('where a vCPU waits inside the purge: the callers on its chain', () => {
  const off = (...ops: Op[]): Op[] => [{ op: 'local_irq_disable' }, { op: 'barrier', name: 'off', count: 2 }, ...ops];

  it('a vfree crossing lazy_max_pages waits in try_purge_vmap_area_lazy for a vCPU with interrupts off', () => {
    for (let seed = 1; seed <= 4; seed++) {
      const b = boot({ set: ['lazyMaxPagesConstant=10'] });
      const r = b.run([off({ op: 'vfree', name: 'a' }), off({ op: 'vm_unmap_aliases' })], { seed }, [{ op: 'vmalloc', name: 'a', pages: 12 }]);
      expect(r.outcome, `seed ${seed}`).toBe('deadlock');
      const v0 = r.deadlock!.waits.find((e) => e.vcpu === 0)!;
      const at = v0.chain.indexOf('try_purge_vmap_area_lazy');
      expect(v0.chain.slice(at - 1, at + 2)).toEqual(['free_unmap_vmap_area_noflush', 'try_purge_vmap_area_lazy', '__purge_vmap_area_lazy']);
    }
  });

  it('an exhausted vmalloc space waits in purge_vmap_area_lazy for a vCPU with interrupts off', () => {
    const b = boot({ vmallocPages: 1024 });
    const r = b.run([off({ op: 'vmalloc', name: 'b', pages: 600 }), off()], { seed: 1 }, [{ op: 'vmalloc', name: 'a', pages: 600 }, { op: 'vfree', name: 'a' }]);
    expect(r.outcome).toBe('deadlock');
    const v0 = r.deadlock!.waits.find((e) => e.vcpu === 0)!;
    expect(v0.chain).toContain('purge_vmap_area_lazy');
    expect(v0.chain.indexOf('purge_vmap_area_lazy')).toBe(v0.chain.indexOf('__purge_vmap_area_lazy') - 1);
  });
});

describe('the alias kill: which callers kill aliases, and with what argument', () => {
  it('xenCallsVmUnmapAliases=highmem_only: a pin on x86-64 (no highmem) kills no alias; always: it does', () => {
    const only = boot({ vcpus: 1, set: ['xenCallsVmUnmapAliases=highmem_only'] });
    only.run([[{ op: 'spawn', name: 'a' }]]);
    expect(only.of('vm_unmap_aliases')).toEqual([]);
    const always = boot({ vcpus: 1 });
    always.run([[{ op: 'spawn', name: 'a' }]]);
    expect(always.of('vm_unmap_aliases')).toHaveLength(1);
  });

  for (const [knob, flush] of [['force', 'force'], ['if_needed', 'if_needed']] as const) {
    it(`pinAliasFlush=${knob}: __vm_unmap_aliases(1) with the flush fixed to ${flush.toUpperCase()}`, () => {
      const b = boot({ vcpus: 1, set: [`pinAliasFlush=${knob}`] });
      b.run([[{ op: 'spawn', name: 'a' }]]);
      expect(b.of('vm_unmap_aliases')).toEqual([expect.objectContaining({ allow_flush: true, flush, site: 'pgd_pin' })]);
    });
  }

  it('a fixed flush is __vm_unmap_aliases on the call chain; the plain call is vm_unmap_aliases', () => {
    const lazyAndDirty: Op[] = [
      { op: 'vmalloc', name: 'a', pages: 8 },
      { op: 'vfree', name: 'a' },
      { op: 'vm_map_ram', name: 'x', pages: 4 },
      { op: 'vm_unmap_ram', name: 'x' },
    ];
    const off = (call: Op): Op[] => [{ op: 'local_irq_disable' }, { op: 'barrier', name: 'off', count: 2 }, call];
    for (const [knob, name] of [['force', '__vm_unmap_aliases'], ['default', 'vm_unmap_aliases']] as const) {
      const b = boot({ set: [`pinAliasFlush=${knob}`] });
      const r = b.run([off({ op: 'spawn', name: 'p' }), off({ op: 'vm_unmap_aliases' })], { seed: 1 }, lazyAndDirty);
      expect(r.outcome).toBe('deadlock');
      const pinner = r.deadlock!.waits.find((e) => e.vcpu === 0)!;
      expect(pinner.chain.slice(0, 4)).toEqual(['xen_dup_mmap', 'xen_pgd_pin', '__xen_pgd_pin', name]);
    }
  });

  it('vmalloc used before vmalloc_init without the guard: the BUG says what was touched', () => {
    const b = boot({ vcpus: 1, vmallocInitialized: false, set: ['vmapInitGuard=false'] });
    const r = b.run([[{ op: 'vm_unmap_aliases' }]]);
    expect(r.bug).toMatchObject({
      where: 'vm_unmap_aliases',
      message: 'BUG: unable to handle kernel paging request: vmap_block_queue used before vmalloc_init()',
    });
  });
});

describe('vm_unmap_aliases: the dirty runs of the vmap blocks', () => {
  const dirty: Op[] = [
    { op: 'vm_map_ram', name: 'x', pages: 4 },
    { op: 'vm_map_ram', name: 'y', pages: 2 },
    { op: 'vm_unmap_ram', name: 'y' },
  ];

  it('unmaps exactly the dirty pages and flushes exactly their range', () => {
    const b = boot({ vcpus: 2 });
    b.run([[{ op: 'vm_unmap_aliases' }], []], {}, dirty);
    const ev = b.of('vm_unmap_aliases').at(-1)!;
    expect(ev).toMatchObject({ flush: 'force', dirty_pages: 2 });
    const blk = [...b.k.vmap.blocks.values()][0]!;
    // y was mapped after x's 4 pages: its 2 pages are the dirty run
    const flush = b.of('tlb_flush_kernel').at(-1)!;
    expect(flush).toMatchObject({ start: '0x' + vaOf(blk.va.start + 4).toString(16), end: '0x' + vaOf(blk.va.start + 6).toString(16) });
  });

  it('only the dirty run is unmapped, not the live mappings after it; under eager PTEs not again at all', () => {
    const layout: Op[] = [
      { op: 'vm_map_ram', name: 'w', pages: 2 },
      { op: 'vm_map_ram', name: 'y', pages: 2 },
      { op: 'vm_map_ram', name: 'x', pages: 4 },
      { op: 'vm_unmap_ram', name: 'y' },
    ];
    const clears = (b: Booted) => calls(b).filter((c) => c.op === 'mmu_update' && c.reqs.length > 0 && c.reqs.every((q) => q.val === 0n));
    const lazy = boot({ vcpus: 1 });
    lazy.run([[{ op: 'vm_unmap_aliases' }]], {}, layout);
    // 2.6.28's vb_free leaves y's PTEs; vm_unmap_aliases clears its dirty run: 2 pages, x untouched
    expect(clears(lazy).map((c) => (c.op === 'mmu_update' ? c.reqs.length : 0))).toEqual([2]);
    // eager (2.6.37): cleared at vm_unmap_ram, and not again
    const eager = boot({ vcpus: 1, preset: 'linux-2.6.37' });
    eager.run([[{ op: 'vm_unmap_aliases' }]], {}, layout);
    expect(clears(eager).map((c) => (c.op === 'mmu_update' ? c.reqs.length : 0))).toEqual([2]);
    expect(eager.of('vm_unmap_aliases').at(-1)).toMatchObject({ dirty_pages: 2 });
  });

  it('vbWalk=all_blocks also reaches a block off the free list, once per CPU\'s queue; free_list_only does not', () => {
    // A block filled whole (16 × 64 pages) leaves the free list; one unmapping makes 64 pages dirty.
    const full: Op[] = Array.from({ length: 16 }, (_, i): Op => ({ op: 'vm_map_ram', name: `f${i}`, pages: 64 }));
    full.push({ op: 'vm_unmap_ram', name: 'f0' });
    const all = boot({ vcpus: 2, set: ['vbWalk=all_blocks'] });
    all.run([[{ op: 'vm_unmap_aliases' }], []], {}, full);
    const seen = all.of('vm_unmap_aliases').at(-1)!;
    const list = boot({ vcpus: 2 });
    list.run([[{ op: 'vm_unmap_aliases' }], []], {}, full);
    const notSeen = list.of('vm_unmap_aliases').at(-1)!;
    expect(notSeen).toMatchObject({ dirty_pages: 0, flush: 'if_needed' });
    // each dirty page counted once, though two CPUs' queues are walked
    expect(seen).toMatchObject({ dirty_pages: 64, flush: 'force' });
  });
});

describe('__purge_vmap_area_lazy', () => {
  const lazy = (pages: number): Op[] => [{ op: 'vmalloc', name: 'a', pages }, { op: 'vfree', name: 'a' }];

  it('lazy_max_pages: fls(CPUs) × 32 MiB of pages, scaled; 0 without lazy unmapping (2.6.36)', () => {
    expect(lazyMaxPages(boot({ vcpus: 1 }).k)).toBe(8192);
    expect(lazyMaxPages(boot({ vcpus: 3 }).k)).toBe(16384);
    expect(lazyMaxPages(boot({ vcpus: 2, set: ['lazyMaxPagesScale=0.25'] }).k)).toBe(4096);
    expect(lazyMaxPages(boot({ vcpus: 2, preset: 'linux-2.6.36' }).k)).toBe(0);
  });

  it('2.6.36 (vmap_lazy_unmap off): every vfree purges at once, nothing stays lazy', () => {
    const b = boot({ vcpus: 1, preset: 'linux-2.6.36' });
    b.run([[...lazy(4)]]);
    expect(b.of('purge')).toEqual([expect.objectContaining({ sync: false, purged_pages: 5, areas: 1, flushed: true })]);
    expect(b.k.vmap.lazyNr).toBe(0);
  });

  it('the flush covers the union of the purged areas, and the event counts them', () => {
    const b = boot({ vcpus: 1 });
    b.run([[]], {}, [{ op: 'vmalloc', name: 'a', pages: 3 }, { op: 'vmalloc', name: 'b', pages: 5 }, { op: 'vmalloc', name: 'c', pages: 2 }]);
    const [a, c] = [b.k.objects.vmalloc.get('a')!, b.k.objects.vmalloc.get('c')!];
    const c0 = b.k.cpus[0]!;
    // freed in the order c, a: the range must widen both ways
    drain(freeUnmapVmapAreaNoflush(b.k, c0, c));
    drain(freeUnmapVmapAreaNoflush(b.k, c0, a));
    drain(purgeVmapAreaLazyRange(b.k, c0, { start: Infinity, end: 0 }, true, PURGE_FLUSH.IF_NEEDED));
    expect(b.of('purge').at(-1)).toMatchObject({ purged_pages: a.pages + c.pages, areas: 2, flushed: true });
    const lo = Math.min(a.start, c.start);
    const hi = Math.max(a.end, c.end);
    expect(b.of('tlb_flush_kernel').at(-1)).toMatchObject({ start: '0x' + vaOf(lo).toString(16), end: '0x' + vaOf(hi).toString(16) });
  });

  it('a purge that loses the trylock reports it skipped, purging and flushing nothing', () => {
    const b = boot();
    b.run([[], []], {}, lazy(8));
    b.k.vmap.purgeLock.owner = 1;
    drain(purgeVmapAreaLazyRange(b.k, b.k.cpus[0]!, { start: Infinity, end: 0 }, false, PURGE_FLUSH.IF_NEEDED));
    expect(b.of('purge').at(-1)).toEqual({ event: 'purge', vcpu: 0, sync: false, flush: 'if_needed', purged_pages: 0, areas: 0, flushed: false, skipped: true });
  });

  it('purgeLock=mutex: taking it with interrupts off WARNs (sleeping function called from invalid context)', () => {
    const b = boot({ vcpus: 1, set: ['purgeLock=mutex'] });
    b.run([[{ op: 'local_irq_disable' }, { op: 'vm_unmap_aliases' }]], {}, lazy(4));
    expect(b.of('warn')[0]).toMatchObject({
      where: 'mutex_lock',
      message: 'BUG: sleeping function called from invalid context (vmap_purge_lock with interrupts off)',
    });
    const spin = boot({ vcpus: 1 });
    spin.run([[{ op: 'local_irq_disable' }, { op: 'vm_unmap_aliases' }]], {}, lazy(4));
    expect(spin.of('warn').filter((w) => w.where === 'mutex_lock')).toEqual([]);
  });

  it('2.6.37 (eager PTEs): the purge does not clear again what vfree already cleared', () => {
    const b = boot({ vcpus: 1, preset: 'linux-2.6.37' });
    b.run([[...lazy(4), { op: 'vm_unmap_aliases' }]]);
    expect(b.of('purge').at(-1)).toMatchObject({ purged_pages: 5 });
    // one clearing of the area's PTEs: at vfree
    const clears = calls(b).filter((c) => c.op === 'mmu_update' && c.reqs.length > 0 && c.reqs.every((q) => q.val === 0n));
    expect(clears).toHaveLength(1);
  });

  it('BUG_ON(nr > vmap_lazy_nr): a purge inside another vCPU\'s free gap (the flag set, the count not yet added)', () => {
    const b = boot();
    b.run([[], []], {}, [{ op: 'vmalloc', name: 'a', pages: 8 }]);
    const va = b.k.objects.vmalloc.get('a')!;
    const free = freeUnmapVmapAreaNoflush(b.k, b.k.cpus[0]!, va);
    free.next(); // up to the scheduling point in the gap
    expect(va.flags & VM_LAZY_FREE).toBe(VM_LAZY_FREE);
    expect(b.k.vmap.lazyNr).toBe(0);
    expect(() => drain(purgeVmapAreaLazyRange(b.k, b.k.cpus[1]!, { start: Infinity, end: 0 }, true, PURGE_FLUSH.NEVER))).toThrow(
      expect.objectContaining({ where: '__purge_vmap_area_lazy', message: 'BUG_ON(nr 9 > vmap_lazy_nr 0)' }),
    );
    // lazyFreeGap=false: the two steps are one; the purge finds the count
    const atomic = boot({ set: ['lazyFreeGap=false'] });
    atomic.run([[], []], {}, [{ op: 'vmalloc', name: 'a', pages: 8 }]);
    drain(freeUnmapVmapAreaNoflush(atomic.k, atomic.k.cpus[0]!, atomic.k.objects.vmalloc.get('a')!));
    expect(atomic.k.vmap.lazyNr).toBe(9);
  });
});
