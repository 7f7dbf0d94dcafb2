// linux-guest.md §2: the Xen paravirt MMU of 2.6.28 — multicall batching, lazy MMU mode, the pin
// walk's order, xen_alloc_ptpage / xen_release_ptpage, xen_mc_flush's BUG report.
import { describe, expect, it } from 'vitest';
import { MMUEXT, type Hypercall } from '../../hypervisor/index.ts';
import { xenMcBatch, xenMcEntry, xenMcIssue } from '../../guest/xen-mmu/multicall.ts';
import type { Op } from '../../guest/ops.ts';
import { boot, type Booted } from './helpers.ts';

/** Every hypercall the guest made, multicall entries included. */
function allCalls(b: Booted): Hypercall[] {
  const flat = (c: Hypercall): Hypercall[] => (c.op === 'multicall' ? c.calls.flatMap(flat) : [c]);
  return b.records.flatMap((r) => (r.op === 'hypercall' ? flat(r.call) : []));
}

function multicalls(b: Booted): Hypercall[][] {
  return b.records.flatMap((r) => (r.op === 'hypercall' && r.call.op === 'multicall' ? [r.call.calls] : []));
}

describe('multicall batching (arch/x86/xen/multicalls.c)', () => {
  it('a batch keeps interrupts off until it is issued, and issue restores them', () => {
    const b = boot({ vcpus: 1 });
    const c = b.k.cpus[0]!;
    xenMcBatch(c, b.k.mc(c));
    expect(c.irqsEnabled).toBe(false);
    xenMcEntry(b.k, c, { op: 'mmuext_op', ops: [{ cmd: MMUEXT.tlb_flush_local }] });
    xenMcIssue(b.k, c, 0);
    expect(c.irqsEnabled).toBe(true);
    expect(multicalls(b).at(-1)).toHaveLength(1);
  });

  it('the 33rd entry flushes the first 32 as one multicall (MC_BATCH = 32)', () => {
    const b = boot({ vcpus: 1 });
    const c = b.k.cpus[0]!;
    const before = multicalls(b).length;
    xenMcBatch(c, b.k.mc(c));
    for (let i = 0; i < 40; i++) xenMcEntry(b.k, c, { op: 'mmuext_op', ops: [{ cmd: MMUEXT.tlb_flush_local }] });
    xenMcIssue(b.k, c, 0);
    expect(multicalls(b).slice(before).map((m) => m.length)).toEqual([32, 8]);
  });

  it('a failed entry is printed like xen_mc_flush does and is a BUG carrying Xen\'s refusal', () => {
    const b = boot({ vcpus: 1, set: ['xenCallsVmUnmapAliases=none'] });
    const r = b.run([[{ op: 'vmalloc', name: 'v', pages: 16 }, { op: 'vfree', name: 'v' }, { op: 'fork', parent: 'init', child: 'c' }]], {}, [{ op: 'spawn', name: 'init' }]);
    expect(r.outcome).toBe('bug');
    const bug = b.of('bug')[0]!;
    expect(bug.detail![0]).toMatch(/^\d+ of \d+ multicall\(s\) failed: cpu 0$/);
    expect(bug.detail![1]).toMatch(/^ {2}call +\d+\/\d+: op=26 result=-22 \(EINVAL\)$/);
    expect(bug.refusal?.what).toMatch(/^pin_l1_table/);
  });
});

describe('lazy MMU mode', () => {
  it('fork write-protects the parent\'s PTEs in lazy mode: one multicall at arch_leave_lazy_mmu_mode', () => {
    const b = boot();
    b.run([[{ op: 'fork', parent: 'init', child: 'c' }], []], {}, [{ op: 'spawn', name: 'init', pages: 6 }]);
    const batched = multicalls(b).filter((m) => m.length === 6 && m.every((x) => x.op === 'mmu_update'));
    expect(batched).toHaveLength(1);
    // And dup_mmap's flush_tlb_mm(oldmm) follows.
    expect(allCalls(b).some((c) => c.op === 'mmuext_op' && c.ops[0]!.cmd === MMUEXT.tlb_flush_local)).toBe(true);
  });
});

describe('__xen_pgd_pin walk order', () => {
  it('PUD, PMD, then each PTE page (RO + PIN_L1 under its split lock), the pgd last with UVMF_TLB_FLUSH, then PIN_L4 of pgd and user pgd', () => {
    const b = boot({ vcpus: 1 });
    b.run([[{ op: 'spawn', name: 'p' }]]);
    const pin = multicalls(b).at(-1)!;
    const kinds = pin.map((c) => (c.op === 'mmuext_op' ? Object.entries(MMUEXT).find(([, n]) => n === c.ops[0]!.cmd)![0] : c.op === 'update_va_mapping' ? `ro${c.flags ? '+flush' : ''}` : c.op));
    expect(kinds).toEqual(['ro', 'ro', 'ro', 'pin_l1_table', 'ro+flush', 'pin_l4_table', 'ro+flush', 'pin_l4_table']);
  });

  it('without split PTE locks no PIN_L1 is issued (the L4 pin validates the PTE pages)', () => {
    const b = boot({ vcpus: 1, set: ['splitPtlocks=false'] });
    b.run([[{ op: 'spawn', name: 'p' }]]);
    const pin = multicalls(b).at(-1)!;
    expect(pin.filter((c) => c.op === 'mmuext_op' && c.ops[0]!.cmd === MMUEXT.pin_l1_table)).toEqual([]);
    expect(b.hv.audit()).toEqual([]);
  });
});

describe('xen_alloc_ptpage / xen_release_ptpage', () => {
  const prog: Op[] = [{ op: 'fault', mm: 'p' }, { op: 'free_pte', mm: 'p' }];

  it('a fault in a pinned mm makes the new PTE page RO and pins it; freeing it unpins and makes it RW again', () => {
    const b = boot({ vcpus: 1 });
    b.run([prog], {}, [{ op: 'spawn', name: 'p' }]);
    const calls = allCalls(b);
    const pins = calls.filter((c) => c.op === 'mmuext_op' && c.ops[0]!.cmd === MMUEXT.pin_l1_table);
    const unpins = calls.filter((c) => c.op === 'mmuext_op' && c.ops[0]!.cmd === MMUEXT.unpin_table);
    expect(pins.length).toBeGreaterThanOrEqual(2); // spawn's PTE page + the fault's
    expect(unpins).toHaveLength(1);
    const unpin = unpins[0]!;
    const mfn = unpin.op === 'mmuext_op' ? unpin.ops[0]!.mfn! : -1;
    expect(b.hv.frame(mfn)).toMatchObject({ type: 'writable', pinned: false });
    expect(b.hv.audit()).toEqual([]);
  });

  it('the alias kill runs before every new PTE page of a pinned mm (site alloc_ptpage)', () => {
    const b = boot({ vcpus: 1 });
    b.run([[{ op: 'fault', mm: 'p', count: 3 }]], {}, [{ op: 'spawn', name: 'p' }]);
    expect(b.of('vm_unmap_aliases').filter((e) => e.site === 'alloc_ptpage')).toHaveLength(3);
  });
});
