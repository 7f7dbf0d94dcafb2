// §6 must-have: update_va_mapping (§3.4): the walk through the vCPU's current base, mod_l1_entry,
// and only on success the UVMF flush (NONE / TLB_FLUSH / INVLPG × LOCAL / ALL / MULTI).
import { describe, expect, test } from 'vitest';
import { EBUSY, EFAULT, EINVAL, UVMF } from '../../hypervisor/index.ts';
import { P, PAGE_RO, PAGE_RW, PSE, TABLE, US, World, buildTree, pte, pteMfn, va } from './helpers.ts';
import type { Tree } from './helpers.ts';

const V0 = { dom: 1, vcpu: 0 };
const V1 = { dom: 1, vcpu: 1 };

/** A pinned tree loaded on both vCPUs; slot 1 maps E1 and slot 2 maps E3; both vCPUs cached both VAs. */
function warm(): { w: World; t: Tree; e1: number; e2: number } {
  const w = new World();
  const t = buildTree(w, { maps: [{ slot: 1 }, { slot: 2 }] });
  expect(w.pin(4, t.l4)).toBe(0);
  expect(w.newBase(t.l4, V0)).toBe(0);
  expect(w.newBase(t.l4, V1)).toBe(0);
  for (const v of [V0, V1]) {
    expect(w.access(v, t.va(1), true)).toMatchObject({ rc: 0, mfn: t.data[0] });
    expect(w.access(v, t.va(2), true)).toMatchObject({ rc: 0, mfn: t.data[1] });
    expect(w.access(v, t.va(1), true).tlb_hit).toBe(true);
  }
  return { w, t, e1: t.data[0]!, e2: w.alloc() };
}

type Seen = 'stale' | 'fresh';
interface FlushCase {
  name: string;
  flags: number;
  vcpumask?: number[];
  /** What each vCPU sees at the changed VA afterwards. */
  at: [Seen, Seen];
  /** Whether each vCPU still has the other VA cached (INVLPG drops one VA, TLB_FLUSH all). */
  other: [boolean, boolean];
}

const CASES: FlushCase[] = [
  { name: 'NONE|LOCAL', flags: UVMF.NONE | UVMF.LOCAL, at: ['stale', 'stale'], other: [true, true] },
  { name: 'NONE|ALL', flags: UVMF.NONE | UVMF.ALL, at: ['stale', 'stale'], other: [true, true] },
  { name: 'TLB_FLUSH|LOCAL', flags: UVMF.TLB_FLUSH | UVMF.LOCAL, at: ['fresh', 'stale'], other: [false, true] },
  { name: 'INVLPG|LOCAL', flags: UVMF.INVLPG | UVMF.LOCAL, at: ['fresh', 'stale'], other: [true, true] },
  { name: 'TLB_FLUSH|ALL', flags: UVMF.TLB_FLUSH | UVMF.ALL, at: ['fresh', 'fresh'], other: [false, false] },
  { name: 'INVLPG|ALL', flags: UVMF.INVLPG | UVMF.ALL, at: ['fresh', 'fresh'], other: [true, true] },
  { name: 'TLB_FLUSH|MULTI [1]', flags: UVMF.TLB_FLUSH | UVMF.MULTI, vcpumask: [1], at: ['stale', 'fresh'], other: [true, false] },
  { name: 'INVLPG|MULTI [1]', flags: UVMF.INVLPG | UVMF.MULTI, vcpumask: [1], at: ['stale', 'fresh'], other: [true, true] },
  { name: 'INVLPG|MULTI [0,1]', flags: UVMF.INVLPG | UVMF.MULTI, vcpumask: [0, 1], at: ['fresh', 'fresh'], other: [true, true] },
];

describe('§6 update_va_mapping: L1 through the current tables (-EINVAL if none), mod_l1_entry, UVMF flush only on success (§3.4)', () => {
  test.each(CASES)('§3.4: $name flushes exactly what it should', (c) => {
    const { w, t, e1, e2 } = warm();
    expect(w.uvm(V0, t.va(1), pte(e2, PAGE_RW), c.flags, c.vcpumask).rc).toBe(0);
    [V0, V1].forEach((v, i) => {
      const r = w.access(v, t.va(1), false);
      if (c.at[i] === 'stale') expect(r, `vcpu ${i}`).toMatchObject({ rc: 0, mfn: e1, tlb_hit: true, stale: true });
      else expect(r, `vcpu ${i}`).toMatchObject({ rc: 0, mfn: e2, tlb_hit: false, stale: false });
      expect(w.access(v, t.va(2), false).tlb_hit, `vcpu ${i} other VA`).toBe(c.other[i]);
    });
  });

  test('§3.4: the UVMF flush is reported as a guest flush of the right vCPUs', () => {
    const { w, t, e2 } = warm();
    let mark = w.flushes.length;
    expect(w.uvm(V0, t.va(1), pte(e2, PAGE_RW), UVMF.TLB_FLUSH | UVMF.ALL).rc).toBe(0);
    let ev = w.flushesSince(mark).filter((f) => f.cause === 'guest');
    expect(ev.flatMap((f) => f.vcpus).sort()).toEqual([0, 1]);
    expect(ev.every((f) => f.va === undefined)).toBe(true);
    mark = w.flushes.length;
    expect(w.uvm(V1, t.va(2), 0n, UVMF.INVLPG | UVMF.LOCAL).rc).toBe(0);
    ev = w.flushesSince(mark).filter((f) => f.cause === 'guest');
    expect(ev).toEqual([expect.objectContaining({ dom: 1, vcpus: [1], va: t.va(2) })]);
  });

  test('§3.4.3: MULTI with an unreadable vcpumask → -EFAULT, but the PTE was already changed', () => {
    const { w, t, e1, e2 } = warm();
    const r = w.uvm(V0, t.va(1), pte(e2, PAGE_RW), UVMF.INVLPG | UVMF.MULTI, null);
    expect(r.rc).toBe(EFAULT);
    expect(pteMfn(w.read(t.l1, 1))).toBe(e2);
    expect(w.frame(e2)).toMatchObject({ type: 'writable', type_count: 1, count: 2 });
    expect(w.frame(e1)).toMatchObject({ type_count: 0, count: 1 });
  });

  test('§3.4.3: a refused update flushes nothing', () => {
    const { w, t, e1 } = warm();
    const mark = w.flushes.length;
    expect(w.uvm(V0, t.va(1), pte(t.l2, PAGE_RW), UVMF.TLB_FLUSH | UVMF.ALL).rc).toBe(EBUSY);
    expect(w.flushesSince(mark)).toEqual([]);
    expect(pteMfn(w.read(t.l1, 1))).toBe(e1);
    expect(w.access(V0, t.va(2), false).tlb_hit).toBe(true);
    expect(w.access(V1, t.va(2), false).tlb_hit).toBe(true);
  });

  test('§3.4.1: a vCPU without a base pointer → -EINVAL', () => {
    const w = new World();
    const e = w.alloc();
    expect(w.uvm(V0, 0x1000n, pte(e, PAGE_RW), UVMF.INVLPG).rc).toBe(EINVAL);
    expect(w.frame(e)).toMatchObject({ count: 1, type_count: 0 });
  });

  test('§3.4.1: the walk uses the calling vCPU\'s base: another vCPU with no base gets -EINVAL', () => {
    const w = new World();
    const t = buildTree(w, { maps: [] });
    expect(w.newBase(t.l4, V0)).toBe(0);
    const e = w.alloc();
    expect(w.uvm(V1, t.va(4), pte(e, PAGE_RW)).rc).toBe(EINVAL);
    expect(w.uvm(V0, t.va(4), pte(e, PAGE_RW)).rc).toBe(0);
    expect(pteMfn(w.read(t.l1, 4))).toBe(e);
  });

  test('§3.4.1: a VA whose L4e, L3e or L2e is not present → -EINVAL', () => {
    const w = new World();
    const t = buildTree(w, { l4slot: 1, l3slot: 2, l2slot: 3, maps: [] });
    expect(w.newBase(t.l4)).toBe(0);
    const e = w.alloc();
    const val = pte(e, PAGE_RO);
    expect(w.uvm(1, t.va(0) + (1n << 21n), val).rc).toBe(EINVAL); // L2 slot 4: not present
    expect(w.uvm(1, t.va(0) + (1n << 30n), val).rc).toBe(EINVAL); // L3 slot 3: not present
    expect(w.uvm(1, t.va(0) + (1n << 39n), val).rc).toBe(EINVAL); // L4 slot 2: not present
    expect(w.uvm(1, t.va(0), val).rc).toBe(0);
  });

  test('§3.4.1: the VA found through the tables decides which L1 slot changes (upper half, slot 272)', () => {
    const w = new World();
    const t = buildTree(w, { l4slot: 272, l3slot: 5, l2slot: 6, maps: [] });
    expect(w.newBase(t.l4)).toBe(0);
    const e = w.alloc();
    expect(t.va(7)).toBe(0xffff880000000000n | (5n << 30n) | (6n << 21n) | (7n << 12n));
    expect(w.uvm(1, t.va(7) + 0x123n, pte(e, PAGE_RO), UVMF.INVLPG).rc).toBe(0);
    expect(pteMfn(w.read(t.l1, 7))).toBe(e);
    expect(w.access(1, t.va(7) + 0x800n, false)).toMatchObject({ rc: 0, mfn: e, writable: false });
    expect(w.access(1, t.va(7), true).rc).toBe(EFAULT);
  });

  test('§3.4.2: the new entry is checked like any L1e (§2.2): RW to a table → -EBUSY, bad flags → -EINVAL', () => {
    const w = new World();
    const t = buildTree(w, { maps: [] });
    expect(w.newBase(t.l4)).toBe(0);
    expect(w.uvm(1, t.va(1), pte(t.l4, PAGE_RW)).rc).toBe(EBUSY);
    expect(w.uvm(1, t.va(1), pte(t.l4, PAGE_RO)).rc).toBe(0);
    expect(w.uvm(1, t.va(2), pte(w.alloc(), PAGE_RW | 0x10n)).rc).toBe(EINVAL);
    expect(w.read(t.l1, 2)).toBe(0n);
  });

  test('§3.4.1: a VA whose "L1" is really a linear-mapped L2 or the L4 itself (self-map) → -EINVAL', () => {
    const w = new World();
    const t = buildTree(w, { maps: [] });
    const l2b = w.alloc();
    expect(w.pin(2, l2b)).toBe(0);
    w.put(t.l2, 5, pte(l2b, PAGE_RO)); // linear L2 → L2
    w.put(t.l4, 510, pte(t.l4, PAGE_RO)); // recursive slot
    expect(w.newBase(t.l4)).toBe(0);
    const e = w.alloc();
    expect(w.uvm(1, t.va(0) + (5n << 21n), pte(e, PAGE_RO)).rc).toBe(EINVAL);
    expect(w.read(l2b, 0)).toBe(0n);
    expect(w.uvm(1, va(510, 510, 510, 3), pte(e, PAGE_RO)).rc).toBe(EINVAL);
    expect(pteMfn(w.read(t.l4, 3))).not.toBe(e);
    expect(w.frame(e)).toMatchObject({ count: 1 });
    // through the recursive slot the guest reads its own tables (read-only)
    expect(w.access(1, va(510, 0, 0, 0), false)).toMatchObject({ rc: 0, mfn: t.l1, writable: false });
    expect(w.access(1, va(510, 0, 0, 0), true).rc).toBe(EFAULT);
  });

  test('§2.1/§3.4.1: an L2e with PSE cannot exist, so it cannot be walked either', () => {
    const w = new World();
    const t = buildTree(w, { maps: [] });
    expect(w.newBase(t.l4)).toBe(0);
    const l1b = w.alloc();
    expect(w.update(1, t.l2, 1, pte(l1b, P | US | PSE))).toBe(EINVAL);
    expect(w.uvm(1, t.va(0) + (1n << 21n), pte(w.alloc(), PAGE_RO)).rc).toBe(EINVAL);
    expect(w.update(1, t.l2, 1, pte(l1b, TABLE))).toBe(0);
    expect(w.uvm(1, t.va(0) + (1n << 21n), pte(w.alloc(), PAGE_RO)).rc).toBe(0);
  });
});
