// mmu_update's foreign domains (foreign.ts): get_pg_owner's refusals (mm.c:3084–3110) and the XSM
// check on the table's owner (xsm_mmu_update, XSM_TARGET, asked per request at mm.c:4076). A domU
// naming another domain as the table owner (the PFD, foreigndom >> 16, minus one) is -EPERM even
// when the data owner is itself. Mutation testing found these pinned by no unit test.
import { describe, expect, it } from 'vitest';
import { DOMID_SELF, EPERM, ESRCH } from '../../hypervisor/index.ts';
import { DOM1, DOM2, PAGE_RO, World, ma, pte } from './helpers.ts';

describe('mmu_update: whose table, whose frame', () => {
  it('a domU cannot write a table of another domain, its own frame or not (XSM_TARGET)', () => {
    const w = new World({ domains: [DOM1, DOM2] });
    const own = w.alloc(1);
    const r = w.mmu(1, [{ ptr: ma(DOM2.base, 0), val: pte(own, PAGE_RO) }], ((2 + 1) << 16) | DOMID_SELF);
    expect(r.rc).toBe(EPERM);
    expect(r.refusals[0]!.reason).toBe('d1 may not act on d2 (XSM_TARGET)');
    expect(w.read(DOM2.base, 0)).toBe(0n);
  });

  it("a domU naming another domain as the data owner is -EPERM, and the refusal names that domain", () => {
    const w = new World({ domains: [DOM1, DOM2] });
    const table = w.alloc(1);
    const r = w.mmu(1, [{ ptr: ma(table, 0), val: pte(DOM2.base, PAGE_RO) }], 2);
    expect(r.rc).toBe(EPERM);
    expect(r.refusals[0]!.reason).toBe('d1 may not act on d2 (XSM_TARGET)');
  });

  it('an unknown table owner (PFD) is -ESRCH before any request; a PFD on MMU_MACHPHYS_UPDATE is -EPERM', () => {
    const w = new World({ domains: [DOM1, DOM2] });
    const own = w.alloc(1);
    expect(w.mmu(1, [{ ptr: ma(own, 0), val: 0n }], ((9 + 1) << 16) | DOMID_SELF)).toMatchObject({ rc: ESRCH, done: 0 });
    // mm.c:4188: the M2P is the caller's own business, never another table owner's
    const r = w.mmu(1, [{ ptr: ma(own, 0) | 1n, val: 0x55n }], ((2 + 1) << 16) | DOMID_SELF);
    expect(r).toMatchObject({ rc: EPERM, done: 0 });
    expect(w.mmu(1, [{ ptr: ma(own, 0) | 1n, val: 0x55n }]).rc).toBe(0);
    // and another domain's frame in the M2P is XSM's -EPERM, naming the data owner
    const foreign = w.mmu(1, [{ ptr: ma(DOM2.base, 0) | 1n, val: 0x55n }], 2);
    expect(foreign.rc).toBe(EPERM);
    expect(foreign.refusals[0]!.reason).toBe('d1 may not act on d2 (XSM_TARGET)');
  });

  it('naming itself or an unknown domain as the data owner is -ESRCH, with Xen\'s message', () => {
    const w = new World({ domains: [DOM1, DOM2] });
    const self = w.mmu(1, [{ ptr: ma(w.alloc(1), 0), val: 0n }], 1);
    expect(self.rc).toBe(ESRCH);
    expect(self.refusals[0]!.xen).toEqual(['Cannot specify itself as foreign domain']);
    const unknown = w.mmu(1, [{ ptr: ma(w.alloc(1), 0), val: 0n }], 9);
    expect(unknown.rc).toBe(ESRCH);
    expect(unknown.refusals[0]!.xen).toEqual(['Unknown domain d9']);
  });
});
