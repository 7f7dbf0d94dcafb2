// §6 must-have: multicall (§3.5): per-entry results, later entries still run after a failure,
// overall rc 0, a nested multicall gets -EINVAL in its entry.
import { describe, expect, test } from 'vitest';
import { EBUSY, EINVAL, ENOSYS, MMUEXT, UVMF } from '../../hypervisor/index.ts';
import type { Hypercall } from '../../hypervisor/index.ts';
import { PAGE_RO, PAGE_RW, TABLE, World, buildTree, ma, pte, pteMfn } from './helpers.ts';

function setup() {
  const w = new World();
  const t = buildTree(w, { maps: [] });
  expect(w.pin(4, t.l4)).toBe(0);
  expect(w.newBase(t.l4)).toBe(0);
  return { w, t };
}

describe('§6 multicall: per-entry result, later entries run after a failure, rc 0, nested → -EINVAL (§3.5)', () => {
  test('§3.5: each entry gets its own result and a failure does not stop the batch', () => {
    const { w, t } = setup();
    const [e1, e2, x] = w.allocN(3);
    const calls: Hypercall[] = [
      { op: 'update_va_mapping', va: t.va(1), val: pte(e1!, PAGE_RW), flags: UVMF.NONE },
      { op: 'update_va_mapping', va: t.va(2), val: pte(t.l3, PAGE_RW), flags: UVMF.INVLPG }, // -EBUSY
      { op: 'mmu_update', reqs: [{ ptr: ma(t.l1, 3), val: pte(e2!, PAGE_RO) }] },
      { op: 'mmuext_op', ops: [{ cmd: MMUEXT.pin_l1_table, mfn: e1! }] }, // e1 mapped RW: -EINVAL
      { op: 'mmuext_op', ops: [{ cmd: MMUEXT.pin_l1_table, mfn: x! }] },
    ];
    const r = w.multicall(1, calls);
    expect(r.rc).toBe(0);
    expect(r.results).toEqual([0, EBUSY, 0, EINVAL, 0]);
    expect(pteMfn(w.read(t.l1, 1))).toBe(e1!);
    expect(w.read(t.l1, 2)).toBe(0n);
    expect(pteMfn(w.read(t.l1, 3))).toBe(e2!);
    expect(w.frame(x!)).toMatchObject({ type: 'l1', pinned: true });
    // the refusals say which entry failed
    expect(r.refusals.map((f) => f.at)).toEqual(['calls[1]', 'calls[3].ops[0]']);
    expect(r.refusals.map((f) => f.rc)).toEqual([EBUSY, EINVAL]);
  });

  test('§3.5: a nested multicall entry gets -EINVAL and the entries after it still run', () => {
    const { w } = setup();
    const x = w.alloc();
    const r = w.multicall(1, [
      { op: 'multicall', calls: [{ op: 'mmuext_op', ops: [{ cmd: MMUEXT.pin_l1_table, mfn: x }] }] },
      { op: 'mmuext_op', ops: [{ cmd: MMUEXT.tlb_flush_local }] },
    ]);
    expect(r.rc).toBe(0);
    expect(r.results).toEqual([EINVAL, 0]);
    // the nested call did not run
    expect(w.frame(x)).toMatchObject({ pinned: false, type_count: 0 });
  });

  test('§3.5: an empty multicall returns 0 with no results', () => {
    const { w } = setup();
    expect(w.multicall(1, [])).toMatchObject({ rc: 0, results: [] });
  });

  test('§3.5: the entry result of mmu_update / mmuext_op is the sub-call rc (done is not reported per entry)', () => {
    const { w, t } = setup();
    const e = w.alloc();
    const r = w.multicall(1, [
      { op: 'mmu_update', reqs: [{ ptr: ma(t.l1, 5), val: pte(e, PAGE_RW) }, { ptr: ma(t.l1, 6) | 5n, val: 0n }] },
      { op: 'mmuext_op', ops: [{ cmd: 14 }] },
    ]);
    expect(r.results).toEqual([ENOSYS, ENOSYS]);
    // the first request of the failed mmu_update was applied (in order, stop at the first error)
    expect(pteMfn(w.read(t.l1, 5))).toBe(e);
  });

  test('§1.8/§5 (XSA-286): in one multicall, an L3 change is seen by a later update_va_mapping', () => {
    const { w, t } = setup();
    // a second L2 → L1 hierarchy, to be switched in under the same L3 slot
    const [l2b, l1b, e] = w.allocN(3);
    w.put(l2b!, t.l2slot, pte(l1b!, TABLE));
    const v = t.va(4);
    const r = w.multicall(1, [
      { op: 'mmu_update', reqs: [{ ptr: ma(t.l3, t.l3slot), val: pte(l2b!, TABLE) }] },
      { op: 'update_va_mapping', va: v, val: pte(e!, PAGE_RW), flags: UVMF.INVLPG },
    ]);
    expect(r).toMatchObject({ rc: 0, results: [0, 0] });
    expect(pteMfn(w.read(l1b!, 4))).toBe(e!);
    expect(w.read(t.l1, 4)).toBe(0n);
    expect(w.access(1, v, true)).toMatchObject({ rc: 0, mfn: e });
    // the old L2 and L1 lost their only user
    expect(w.frame(t.l2)).toMatchObject({ type_count: 0, validated: false });
    expect(w.frame(t.l1)).toMatchObject({ type_count: 0, validated: false });
  });
});
