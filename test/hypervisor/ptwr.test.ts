// Writable page tables (ptwr.ts): a kernel's store through a read-only mapping of one of its own L1
// tables is emulated by Xen when the domain has VM_ASSIST writable_pagetables or is the hardware
// domain (traps.c fixup_page_fault, lines 1537/1543), and is a page fault otherwise. The emulated
// store goes through get_page_from_l1e like any update (ptwr_emulated_update, ro-page-fault.c:156).
// Mutation testing found these rules pinned only by the CLI's trace tests.
import { describe, expect, it } from 'vitest';
import { EFAULT, type DomainSpec } from '../../hypervisor/index.ts';
import { DOM1, NX, PAGE_RO, PAGE_RW, World, buildTree, pte } from './helpers.ts';

/** Domain 1 with the options given, live in CR3, its L1 mapping read-only at slot 1 the L1 itself,
 * at slot 2 a data frame, at slot 3 the L2. */
function world(opts: Partial<DomainSpec>) {
  const w = new World({ domains: [{ ...DOM1, ...opts }] });
  const t = buildTree(w, { maps: [{ slot: 0 }] });
  w.put(t.l1, 1, pte(t.l1, PAGE_RO));
  const plain = w.alloc();
  w.put(t.l1, 2, pte(plain, PAGE_RO));
  w.put(t.l1, 3, pte(t.l2, PAGE_RO));
  expect(w.pin(4, t.l4)).toBe(0);
  expect(w.newBase(t.l4)).toBe(0);
  return { w, t, plain };
}

describe('a store through a read-only mapping of an L1 table (pv_ro_page_fault → ptwr)', () => {
  it('a plain domU takes the page fault', () => {
    const { w, t } = world({});
    expect(w.access(1, t.va(1), true).rc).toBe(EFAULT);
    expect(w.access(1, t.va(1), false).rc).toBe(0);
  });

  for (const [what, opts] of [
    ['with VM_ASSIST writable_pagetables', { writablePagetables: true }],
    ['as the hardware domain', { hardware: true }],
  ] as const) {
    it(`${what}, Xen emulates it: the entry is stored again, its references taken and put`, () => {
      const { w, t } = world(opts);
      const before = w.frame(t.data[0]!);
      // The access op's write stores what it read: L1 slot 0, the data frame's writable mapping.
      expect(w.access(1, t.va(1), true).rc).toBe(0);
      expect(w.frame(t.data[0]!)).toMatchObject({ count: before.count, type_count: before.type_count });
      // A store that is not naturally aligned is not emulated (ro-page-fault.c:97).
      expect(w.access(1, t.va(1) + 4n, true).rc).toBe(EFAULT);
    });

    it(`${what}, the store lands on its own entry, and an L1 no table uses is not emulated`, () => {
      const w = new World({ domains: [{ ...DOM1, ...opts }] });
      const [data, dead] = w.allocN(2);
      const t = buildTree(w, { maps: [{ slot: 0 }] });
      w.put(t.l1, 6, pte(t.l1, PAGE_RO)); // the L1 itself at slot 6
      w.put(t.l1, 5, pte(data!, PAGE_RW | NX)); // NX: a high word that is not 0
      expect(w.pin(1, dead!)).toBe(0);
      expect(w.unpin(dead!)).toBe(0); // type l1, no type reference, not validated
      w.put(t.l1, 7, pte(dead!, PAGE_RO));
      expect(w.pin(4, t.l4)).toBe(0);
      expect(w.newBase(t.l4)).toBe(0);
      const entries = () => Array.from({ length: 8 }, (_, i) => w.read(t.l1, i));
      const before = entries();
      expect(w.access(1, t.va(6) + 5n * 8n, true).rc).toBe(0); // L1 entry 5, written as read
      expect(entries()).toEqual(before);
      expect(w.frame(data!)).toMatchObject({ type: 'writable', type_count: 1, count: 2 });
      expect(w.hv.audit()).toEqual([]);
      expect(w.access(1, t.va(7) + 5n * 8n, true).rc).toBe(EFAULT);
    });

    it(`${what}, a data frame or an L2 is no L1: the fault stands (ro-page-fault.c:295)`, () => {
      const { w, t } = world(opts);
      expect(w.access(1, t.va(2), true).rc).toBe(EFAULT);
      expect(w.access(1, t.va(3) + 40n, true).rc).toBe(EFAULT); // an empty slot of the L2
    });
  }
});
