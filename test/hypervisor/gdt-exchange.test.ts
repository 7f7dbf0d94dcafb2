// set_gdt's bounds, messages and flush (gdt.ts: pv/descriptor-tables.c do_set_gdt / pv_set_gdt),
// and XENMEM_exchange's steal_page check (lifecycle.ts memoryExchange: common/memory.c
// memory_exchange → steal_page, mm.c). Mutation testing found these pinned by no unit test.
import { describe, expect, it } from 'vitest';
import { EFAULT, EINVAL } from '../../hypervisor/index.ts';
import { DOM1, DOM2, PAGE_RO, World, buildTree, pte } from './helpers.ts';

const V0 = { dom: 1, vcpu: 0 };

function live(): World {
  const w = new World();
  const t = buildTree(w);
  expect(w.pin(4, t.l4)).toBe(0);
  expect(w.newBase(t.l4, V0)).toBe(0);
  return w;
}

describe('set_gdt', () => {
  it('takes up to FIRST_RESERVED_GDT_ENTRY (14 × 512) entries, and only the frames they need', () => {
    const w = live();
    const frames = w.allocN(15);
    expect(w.hv.setGdt(V0, frames, 14 * 512).rc).toBe(0);
    expect(w.frame(frames[13]!)).toMatchObject({ type: 'seg_desc', type_count: 1 });
    expect(w.frame(frames[14]!)).toMatchObject({ type_count: 0, count: 1 }); // the 15th: not needed
    const r = w.hv.setGdt(V0, frames, 14 * 512 + 1);
    expect(r.rc).toBe(EINVAL);
    expect(r.refusals[0]!.reason).toBe('set_gdt: 7169 entries, more than FIRST_RESERVED_GDT_ENTRY (7168)');
  });

  it('a short frame list is -EFAULT, with the count it needed', () => {
    const w = live();
    const r = w.hv.setGdt(V0, w.allocN(1), 1024);
    expect(r.rc).toBe(EFAULT);
    expect(r.refusals[0]!.reason).toBe('set_gdt: 1024 entries need 2 frames, the list has 1');
  });

  it("a frame that cannot be a descriptor page: Xen's message, and nothing taken from another domain's frame", () => {
    const w = live();
    const [g, rw] = w.allocN(2);
    expect(w.uvm(V0, 0x10000n, pte(rw!, 0x63n)).rc).toBe(0); // mapped writable: no seg_desc type
    const r = w.hv.setGdt(V0, [g!, rw!], 1024);
    expect(r.rc).toBe(EINVAL);
    expect(r.refusals[0]!.xen).toContain(`set_gdt: mfn ${rw!.toString(16)} cannot be a descriptor page`);
    expect(r.refusals[0]!.reason).toBe(`Bad type (saw writable != exp seg_desc) for mfn 0x${rw!.toString(16)}`);
    // d2's frame: get_page refuses it, and nothing is put on it either (the World audits)
    const foreign = w.hv.setGdt(V0, [DOM2.base], 10);
    expect(foreign.rc).toBe(EINVAL);
    expect(foreign.refusals[0]!.reason).toBe(`mfn 0x${DOM2.base.toString(16)} cannot be d1's descriptor page`);
    expect(w.frame(DOM2.base)).toMatchObject({ owner: 2, count: 1 });
  });

  it('a new GDT flushes the calling vCPU, and only it (descriptor-tables.c:145)', () => {
    const w = live();
    const mark = w.flushes.length;
    expect(w.hv.setGdt(V0, w.allocN(1), 512).rc).toBe(0);
    expect(w.flushesSince(mark)).toMatchObject([{ cause: 'guest', dom: 1, vcpus: [0] }]);
  });
});

describe('XENMEM_exchange: steal_page takes only a frame held by nothing but its allocation', () => {
  it('fresh frames of the caller are exchanged', () => {
    const w = new World();
    expect(w.hv.memoryExchange(V0, w.allocN(3)).rc).toBe(0);
  });

  it('a mapped frame, a foreign frame or a frame past RAM is -EINVAL, naming its index', () => {
    const w = new World({ domains: [DOM1, DOM2] });
    const [a, mapped] = w.allocN(2);
    const t = buildTree(w, { maps: [{ slot: 0, mfn: mapped!, flags: PAGE_RO }] });
    expect(w.pin(4, t.l4)).toBe(0);
    const r = w.hv.memoryExchange(V0, [a!, mapped!]);
    expect(r.rc).toBe(EINVAL);
    expect(r.refusals[0]).toMatchObject({ at: 'mfns[1]', reason: `mfn 0x${mapped!.toString(16)} is still referenced (count 2): it cannot be exchanged` });
    expect(r.refusals[0]!.xen).toEqual([`steal_page: mfn ${mapped!.toString(16)} caf=8000000000000002`]);
    expect(w.hv.memoryExchange(V0, [DOM2.base]).refusals[0]!.at).toBe('mfns[0]');
    const past = w.hv.memoryExchange(V0, [2 ** 27]).refusals[0]!;
    expect(past.reason).toBe(`mfn 0x${(2 ** 27).toString(16)} is still referenced (count 0): it cannot be exchanged`);
    expect(past.xen).toEqual([`steal_page: mfn ${(2 ** 27).toString(16)} caf=-`]);
  });

  it('a frame whose allocation reference was dropped (decrease_reservation) is refused', () => {
    const w = new World();
    const [e] = w.allocN(1);
    const t = buildTree(w, { maps: [{ slot: 0, mfn: e!, flags: PAGE_RO }] });
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.decrease(1, [e!])).toBe(1); // still mapped: count 1, not allocated
    expect(w.frame(e!)).toMatchObject({ count: 1, allocated: false });
    expect(w.hv.memoryExchange(V0, [e!]).rc).toBe(EINVAL);
  });
});
