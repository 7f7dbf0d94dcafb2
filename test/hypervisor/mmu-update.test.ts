// §6 must-have: mmu_update (§3.2): cmd = ptr & 7, in order, stop at the first error with done,
// dispatch on the target's current type, flushes only for L2–L4, PRESERVE_AD; and the
// foreigndom checks (§3.1, §6 "DOMID_SELF vs own numeric domid").
import { describe, expect, test } from 'vitest';
import { DOMID_SELF, EBUSY, EINVAL, ENOSYS, EPERM, ESRCH } from '../../hypervisor/index.ts';
import {
  A,
  D,
  DOM0,
  DOM1,
  DOM2,
  FREE_MFN,
  P,
  PAGE_RO,
  PAGE_RW,
  RW,
  TABLE,
  US,
  World,
  buildTree,
  ma,
  pte,
  pteMfn,
} from './helpers.ts';

describe('§6 mmu_update: cmd = ptr & 7; in order; stop at first error; done; dispatch on current type; flushes; PRESERVE_AD (§3.2)', () => {
  test('§3.2: cmd 1 (MMU_MACHPHYS_UPDATE) on an owned frame succeeds; on a foreign or free frame → -EINVAL', () => {
    const w = new World();
    const e = w.alloc();
    expect(w.mmu(1, [{ ptr: ma(e, 0) | 1n, val: 0x42n }])).toMatchObject({ rc: 0, done: 1 });
    // the data frame's contents are not touched by an M2P update
    expect(w.read(e, 0)).toBe(0n);
    expect(w.mmu(1, [{ ptr: ma(DOM2.base, 0) | 1n, val: 0x42n }])).toMatchObject({ rc: EINVAL, done: 0 });
    expect(w.mmu(1, [{ ptr: ma(FREE_MFN, 0) | 1n, val: 0x42n }])).toMatchObject({ rc: EINVAL, done: 0 });
  });

  test.each([4n, 5n, 6n, 7n])('§3.2: cmd %s → -ENOSYS', (cmd) => {
    const w = new World();
    const e = w.alloc();
    expect(w.mmu(1, [{ ptr: ma(e, 1) | cmd, val: 0x1234n }])).toMatchObject({ rc: ENOSYS, done: 0 });
    expect(w.read(e, 1)).toBe(0n);
  });

  test('§3.2: cmd 3 (NO_TRANSLATE) is a checked update like cmd 0', () => {
    const w = new World();
    const [l1, e, l2] = w.allocN(3);
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.pin(2, l2!)).toBe(0);
    expect(w.mmu(1, [{ ptr: ma(l1!, 4) | 3n, val: pte(e!, PAGE_RW) }]).rc).toBe(0);
    expect(w.frame(e!)).toMatchObject({ type: 'writable', type_count: 1 });
    expect(w.mmu(1, [{ ptr: ma(l1!, 5) | 3n, val: pte(l2!, PAGE_RW) }]).rc).toBe(EBUSY);
  });

  test('§3.2: requests run in order and the batch stops at the first error: done = applied, later entries untouched', () => {
    const w = new World();
    const [l1, e1, e2, e3, l2] = w.allocN(5);
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.pin(2, l2!)).toBe(0);
    const r = w.mmu(1, [
      { ptr: ma(l1!, 0), val: pte(e1!, PAGE_RW) },
      { ptr: ma(l1!, 1), val: pte(e2!, PAGE_RO) },
      { ptr: ma(l1!, 2), val: pte(l2!, PAGE_RW) }, // a page table RW: -EBUSY
      { ptr: ma(l1!, 3), val: pte(e3!, PAGE_RW) },
    ]);
    expect(r.rc).toBe(EBUSY);
    expect(r.done).toBe(2);
    expect(pteMfn(w.read(l1!, 0))).toBe(e1!);
    expect(pteMfn(w.read(l1!, 1))).toBe(e2!);
    expect(w.read(l1!, 2)).toBe(0n);
    expect(w.read(l1!, 3)).toBe(0n);
    expect(w.frame(e3!)).toMatchObject({ count: 1, type_count: 0 });
    expect(w.frame(e1!)).toMatchObject({ count: 2, type_count: 1 });
  });

  test('§3.2: in order: a later request sees an earlier one (map then unmap in one batch)', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    expect(w.pin(1, l1!)).toBe(0);
    const r = w.mmu(1, [
      { ptr: ma(l1!, 0), val: pte(e!, PAGE_RW) },
      { ptr: ma(l1!, 0), val: 0n },
    ]);
    expect(r).toMatchObject({ rc: 0, done: 2 });
    expect(w.pin(1, e!)).toBe(0);
  });

  test('§3.2 step 3: a "PT update" of a plain data frame is an ordinary memory write', () => {
    const w = new World();
    const e = w.alloc();
    const junk = 0xdead_beef_0000_0067n; // would be an invalid PTE, but this is no page table
    expect(w.mmu(1, [{ ptr: ma(e, 7), val: junk }])).toMatchObject({ rc: 0, done: 1 });
    expect(w.read(e, 7)).toBe(junk);
    expect(w.frame(e)).toMatchObject({ count: 1, type: 'writable', type_count: 0 });
  });

  test('§3.2 step 2: an update of a writable page in use (mapped RW) is a plain write', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 0, pte(e!, PAGE_RW));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.mmu(1, [{ ptr: ma(e!, 3), val: 0x77n }]).rc).toBe(0);
    expect(w.read(e!, 3)).toBe(0x77n);
    expect(w.frame(e!)).toMatchObject({ count: 2, type: 'writable', type_count: 1 });
  });

  test('§3.2 step 3: a dead L1 (count 0) takes a plain write, and its type becomes writable', () => {
    const w = new World();
    const [l1, l2] = w.allocN(2);
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.unpin(l1!)).toBe(0);
    expect(w.frame(l1!)).toMatchObject({ type: 'l1', type_count: 0 });
    // an entry that would be refused in a live L1 (a page table RW) is stored as plain memory
    expect(w.pin(2, l2!)).toBe(0);
    expect(w.update(1, l1!, 0, pte(l2!, PAGE_RW))).toBe(0);
    expect(w.read(l1!, 0)).toBe(pte(l2!, PAGE_RW));
    expect(w.frame(l1!)).toMatchObject({ type: 'writable', type_count: 0, count: 1 });
    expect(w.frame(l2!)).toMatchObject({ count: 2, type_count: 1 });
  });

  test('§3.2 step 1: a target frame not owned by the PT owner → -EINVAL', () => {
    const w = new World();
    expect(w.mmu(1, [{ ptr: ma(DOM2.base, 0), val: 1n }])).toMatchObject({ rc: EINVAL, done: 0 });
    expect(w.read(DOM2.base, 0)).toBe(0n);
    expect(w.mmu(1, [{ ptr: ma(FREE_MFN, 0), val: 1n }])).toMatchObject({ rc: EINVAL, done: 0 });
  });

  test('§3.2: a checked L1 update with a bad entry → the §2.2 errno, entry unchanged', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 0, pte(e!, PAGE_RO));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.update(1, l1!, 0, pte(DOM2.base, PAGE_RO))).toBe(EBUSY);
    expect(w.update(1, l1!, 0, pte(0x42, PAGE_RO))).toBe(EPERM);
    expect(w.update(1, l1!, 0, pte(e!, PAGE_RO | 0x10n))).toBe(EINVAL);
    expect(pteMfn(w.read(l1!, 0))).toBe(e!);
    expect(w.frame(e!)).toMatchObject({ count: 2 });
  });

  test('§3.2/§1.8: L1 updates never flush', () => {
    const w = new World();
    const t = buildTree(w, { maps: [] });
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.newBase(t.l4)).toBe(0);
    const e = w.alloc();
    const mark = w.flushes.length;
    const c = w.clock;
    expect(w.update(1, t.l1, 3, pte(e, PAGE_RO))).toBe(0);
    expect(w.update(1, t.l1, 3, 0n)).toBe(0);
    expect(w.flushesSince(mark)).toEqual([]);
    expect(w.clock).toBe(c);
  });

  test('§3.2/§1.8 (XSA-286): a successful L2–L4 update flushes the PT owner\'s vCPUs once, at the end', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.newBase(t.l4)).toBe(0);
    const [l1b, l2b, l3b] = w.allocN(3);
    for (const [table, slot, target] of [
      [t.l2, 7, l1b],
      [t.l3, 7, l2b],
      [t.l4, 7, l3b],
    ] as Array<[number, number, number]>) {
      const mark = w.flushes.length;
      expect(w.update(1, table, slot, pte(target, TABLE))).toBe(0);
      const ev = w.flushesSince(mark).filter((f) => f.cause === 'l2plus_update');
      expect(ev).toHaveLength(1);
      expect(ev[0]).toMatchObject({ dom: 1 });
      expect(ev[0]!.vcpus).toEqual(expect.arrayContaining([0, 1]));
    }
    // a batch of two L2 updates flushes once
    const mark = w.flushes.length;
    expect(w.mmu(1, [{ ptr: ma(t.l2, 8), val: pte(l1b!, TABLE) }, { ptr: ma(t.l2, 9), val: pte(l1b!, TABLE) }]).rc).toBe(0);
    expect(w.flushesSince(mark).filter((f) => f.cause === 'l2plus_update')).toHaveLength(1);
  });

  test('§3.2/§1.8: a failed L2 update does not flush', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.pin(4, t.l4)).toBe(0);
    const l3 = w.alloc();
    expect(w.pin(3, l3)).toBe(0);
    const mark = w.flushes.length;
    expect(w.update(1, t.l2, 4, pte(l3, TABLE))).toBe(EINVAL);
    expect(w.flushesSince(mark).filter((f) => f.cause === 'l2plus_update')).toEqual([]);
  });

  test('§3.2 step 2: an L2–L4 update with FD ≠ PT owner → -EINVAL', () => {
    const w = new World({ domains: [DOM1, DOM2, DOM0] });
    const [l2, l1] = [w.alloc(0), w.alloc(0)];
    expect(w.pin(2, l2, 0)).toBe(0);
    expect(w.mmu(0, [{ ptr: ma(l2, 0), val: pte(l1, TABLE) }], DOM1.domid)).toMatchObject({ rc: EINVAL, done: 0 });
    expect(w.read(l2, 0)).toBe(0n);
    expect(w.mmu(0, [{ ptr: ma(l2, 0), val: pte(l1, TABLE) }])).toMatchObject({ rc: 0, done: 1 });
  });

  test('§3.2: MMU_PT_UPDATE_PRESERVE_AD (cmd 2) keeps the old A/D bits; cmd 0 does not', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 0, pte(e!, P | RW | US | A | D));
    w.put(l1!, 1, pte(e!, P | RW | US | A | D));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.mmu(1, [{ ptr: ma(l1!, 0) | 2n, val: pte(e!, P | RW | US) }]).rc).toBe(0);
    expect(w.read(l1!, 0) & (A | D)).toBe(A | D);
    expect(w.mmu(1, [{ ptr: ma(l1!, 1), val: pte(e!, P | RW | US) }]).rc).toBe(0);
    expect(w.read(l1!, 1) & (A | D)).toBe(0n);
    expect(w.frame(e!)).toMatchObject({ count: 3, type_count: 2 });
  });
});

describe('§6 DOMID_SELF vs own numeric domid (-ESRCH); unknown foreign domid (-ESRCH); foreign ops need privilege (§3.1, §3.2)', () => {
  test('§3.1: foreigndom = own numeric id → -ESRCH; DOMID_SELF works', () => {
    const w = new World();
    const e = w.alloc();
    expect(w.mmu(1, [{ ptr: ma(e, 0), val: 5n }], 1)).toMatchObject({ rc: ESRCH, done: 0 });
    expect(w.read(e, 0)).toBe(0n);
    expect(w.mmu(1, [{ ptr: ma(e, 0), val: 5n }], DOMID_SELF)).toMatchObject({ rc: 0, done: 1 });
  });

  test('§3.2: an unknown foreigndom → -ESRCH, for mmu_update and mmuext_op', () => {
    const w = new World();
    const e = w.alloc();
    expect(w.mmu(1, [{ ptr: ma(e, 0), val: 5n }], 77)).toMatchObject({ rc: ESRCH, done: 0 });
    expect(w.ext(1, [{ cmd: 0, mfn: e }], 77)).toMatchObject({ rc: ESRCH, done: 0 });
    expect(w.ext(1, [{ cmd: 0, mfn: e }], 1)).toMatchObject({ rc: ESRCH, done: 0 });
    expect(w.frame(e).pinned).toBe(false);
  });

  test('§3.2/§6: a domU naming another domain as foreigndom → -EPERM', () => {
    const w = new World();
    const [l1] = w.allocN(1);
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.mmu(1, [{ ptr: ma(l1!, 0), val: pte(DOM2.base, PAGE_RO) }], DOM2.domid)).toMatchObject({ rc: EPERM, done: 0 });
    expect(w.read(l1!, 0)).toBe(0n);
    expect(w.frame(DOM2.base)).toMatchObject({ count: 1 });
  });

  test('§2.2.3: a privileged domain maps another domain\'s frame through foreigndom', () => {
    const w = new World({ domains: [DOM1, DOM2, DOM0] });
    const l1 = w.alloc(0);
    expect(w.pin(1, l1, 0)).toBe(0);
    // pg_owner = l1e_owner: a foreign frame is refused even for dom0 (§2.2.3) …
    expect(w.update(0, l1, 0, pte(DOM1.base + 200, PAGE_RO))).toBe(EBUSY);
    // … and allowed with FD = the frame's owner
    expect(w.mmu(0, [{ ptr: ma(l1, 0), val: pte(DOM1.base + 200, PAGE_RO) }], DOM1.domid)).toMatchObject({ rc: 0, done: 1 });
    expect(w.frame(DOM1.base + 200)).toMatchObject({ owner: 1, count: 2 });
  });
});
