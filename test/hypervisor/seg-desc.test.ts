// §1.3 (GDT frame: +1 general, +1 PGT_seg_desc_page), §2.2 step 4 (RW mapping of a seg_desc page
// → -EBUSY), §3.2 (mmu_update on a seg_desc target → -EINVAL), §1.5 (a seg_desc page at count 0
// keeps its type and PGT_validated): descriptor pages made with HYPERVISOR_set_gdt.
import { describe, expect, it } from 'vitest';
import { Hypervisor, MMUEXT } from '../../hypervisor/index.ts';

const c = { dom: 1, vcpu: 0 };
const pte = (mfn: number, flags: number) => (BigInt(mfn) << 12n) | BigInt(flags);

function world() {
  const hv = new Hypervisor();
  hv.createDomain({ domid: 1, vcpus: 1, base: 0x1000, count: 32 });
  // L4 0x1000 → L3 0x1001 → L2 0x1002 → L1 0x1003; the L1 maps 0x1010 at slot 16.
  hv.store(c, 0x1000, 0, pte(0x1001, 0x67));
  hv.store(c, 0x1001, 0, pte(0x1002, 0x67));
  hv.store(c, 0x1002, 0, pte(0x1003, 0x67));
  expect(hv.hypercall(c, { op: 'mmuext_op', ops: [{ cmd: MMUEXT.pin_l4_table, mfn: 0x1000 }, { cmd: MMUEXT.new_baseptr, mfn: 0x1000 }] }).rc).toBe(0);
  return hv;
}

describe('seg_desc pages (set_gdt)', () => {
  it('a GDT frame holds one general and one seg_desc type reference', () => {
    const hv = world();
    expect(hv.setGdt(c, [0x1010], 512).rc).toBe(0);
    expect(hv.frame(0x1010)).toMatchObject({ type: 'seg_desc', type_count: 1, validated: true, count: 2 });
    expect(hv.frame(0x1010).taf).toBe('a400000000000001');
    expect(hv.audit()).toEqual([]);
  });

  it('pinning a descriptor page as an L4 logs "Bad type": only (L2,L1), (L3,L2), (L4,L3) are silent (mm.c:2929)', () => {
    const hv = world();
    expect(hv.setGdt(c, [0x1010], 512).rc).toBe(0);
    const r = hv.hypercall(c, { op: 'mmuext_op', ops: [{ cmd: MMUEXT.pin_l4_table, mfn: 0x1010 }] });
    expect(r.rc).toBe(-22);
    expect(r.refusals[0]!.xen).toContain('Bad type (saw a400000000000001 != exp 8000000000000000) for mfn 1010 (pfn 10)');
  });

  it('a writable mapping of a descriptor page is refused with -EBUSY; a read-only one is fine', () => {
    const hv = world();
    hv.setGdt(c, [0x1010], 512);
    const rw = hv.hypercall(c, { op: 'update_va_mapping', va: 0x10000n, val: pte(0x1010, 0x63), flags: 0 });
    expect(rw.rc).toBe(-16);
    expect(rw.refusals[0]!.reason).toMatch(/Bad type \(saw seg_desc != exp writable\)/);
    expect(rw.refusals[0]!.blockers).toEqual([expect.objectContaining({ kind: 'gdt', mfn: 0x1010, vcpu: 0 })]);
    expect(hv.hypercall(c, { op: 'update_va_mapping', va: 0x10000n, val: pte(0x1010, 0x61), flags: 0 }).rc).toBe(0);
    expect(hv.audit()).toEqual([]);
  });

  it('mmu_update on a descriptor page is -EINVAL, and a plain store is refused', () => {
    const hv = world();
    hv.setGdt(c, [0x1010], 512);
    const r = hv.hypercall(c, { op: 'mmu_update', reqs: [{ ptr: 0x1010n * 4096n, val: 1n }] });
    expect(r).toMatchObject({ rc: -22, done: 0 });
    expect(hv.store(c, 0x1010, 0, 1n)).toBe(-1);
    expect(hv.read(0x1010, 0)).toBe(0n);
  });

  it('a page in use as a descriptor page cannot be pinned as a page table (-EINVAL)', () => {
    const hv = world();
    hv.setGdt(c, [0x1010], 512);
    expect(hv.hypercall(c, { op: 'mmuext_op', ops: [{ cmd: MMUEXT.pin_l1_table, mfn: 0x1010 }] }).rc).toBe(-22);
  });

  it('a new GDT gives the old frames back: count 0, type seg_desc and validated kept (§1.5)', () => {
    const hv = world();
    hv.setGdt(c, [0x1010], 512);
    expect(hv.setGdt(c, [0x1011, 0x1012], 600).rc).toBe(0);
    expect(hv.frame(0x1010)).toMatchObject({ type: 'seg_desc', type_count: 0, validated: true, count: 1 });
    expect(hv.frame(0x1012)).toMatchObject({ type: 'seg_desc', type_count: 1 });
    // Now it can become writable again.
    expect(hv.hypercall(c, { op: 'update_va_mapping', va: 0x10000n, val: pte(0x1010, 0x63), flags: 0 }).rc).toBe(0);
    expect(hv.audit()).toEqual([]);
  });

  it('bad arguments: too many entries, a short frame list, a frame mapped writable, a foreign frame', () => {
    const hv = world();
    expect(hv.setGdt(c, [0x1010], 14 * 512 + 1).rc).toBe(-22);
    expect(hv.setGdt(c, [0x1010], 1024).rc).toBe(-14);
    hv.hypercall(c, { op: 'update_va_mapping', va: 0x10000n, val: pte(0x1011, 0x63), flags: 0 });
    const busy = hv.setGdt(c, [0x1010, 0x1011], 1024);
    expect(busy.rc).toBe(-22);
    expect(hv.frame(0x1010)).toMatchObject({ type_count: 0 }); // all-or-nothing
    expect(hv.setGdt(c, [0x2000], 10).rc).toBe(-22);
    expect(hv.audit()).toEqual([]);
  });

  it('domain destruction puts the GDT and frees every frame', () => {
    const hv = world();
    hv.setGdt(c, [0x1010], 512);
    hv.destroyDomain(1);
    expect(hv.frame(0x1010)).toMatchObject({ owner: null, count: 0, type_count: 0 });
  });
});
