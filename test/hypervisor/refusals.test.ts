// Refusals as data (architecture.md "results as data … plus the reason for a refusal"; types.ts
// Refusal): who stands in the way of a refused pin, and the validation chain of a deep failure,
// with Xen's log texts (§3.6).
import { describe, expect, test } from 'vitest';
import { EBUSY, EINVAL, EPERM, MMUEXT } from '../../hypervisor/index.ts';
import { MMIO_MFN, PAGE_RO, PAGE_RW, World, buildTree, pte } from './helpers.ts';

describe('§6 refusals name the blocker (§1.8.1, §2.2, §3.6)', () => {
  test('§1.8.1/§1.4.3: pin_l1_table of a frame mapped writable: blockers are every writable L1 slot', () => {
    const w = new World();
    const [l1a, l1b, e] = w.allocN(3);
    w.put(l1a!, 3, pte(e!, PAGE_RW));
    w.put(l1b!, 7, pte(e!, PAGE_RW));
    w.put(l1b!, 8, pte(e!, PAGE_RO));
    expect(w.pin(1, l1a!)).toBe(0);
    expect(w.pin(1, l1b!)).toBe(0);
    const r = w.pinR(1, e!);
    expect(r.rc).toBe(EINVAL);
    expect(r.refusals).toHaveLength(1);
    const f = r.refusals[0]!;
    expect(f).toMatchObject({ at: 'ops[0]', rc: EINVAL, mfn: e });
    expect(f.what).toContain('pin_l1_table');
    expect(f.reason).toContain('Bad type');
    expect(f.blockers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'l1e', mfn: l1a, slot: 3, dom: 1, rw: true }),
        expect.objectContaining({ kind: 'l1e', mfn: l1b, slot: 7, dom: 1, rw: true }),
      ]),
    );
    // the RO mapping does not stand in the way
    expect(f.blockers.filter((b) => b.kind === 'l1e' && b.slot === 8)).toEqual([]);
    expect(f.xen.join('\n')).toContain(`Error ${EINVAL} while pinning mfn ${e!.toString(16)}`);
  });

  test('§1.6/§2.2.4: a pin_l4 failing deep down: chain lists L4 slot → L3 slot → L2 slot → L1 slot', () => {
    const w = new World();
    const t = buildTree(w, { l4slot: 5, l3slot: 6, l2slot: 7, maps: [{ slot: 0 }] });
    w.put(t.l1, 8, pte(t.l2, PAGE_RW));
    const r = w.pinR(4, t.l4);
    expect(r.rc).toBe(EBUSY);
    const f = r.refusals[0]!;
    expect(f.rc).toBe(EBUSY);
    expect(f.chain).toEqual([
      expect.objectContaining({ mfn: t.l4, level: 4, slot: 5 }),
      expect.objectContaining({ mfn: t.l3, level: 3, slot: 6 }),
      expect.objectContaining({ mfn: t.l2, level: 2, slot: 7 }),
      expect.objectContaining({ mfn: t.l1, level: 1, slot: 8, val: pte(t.l2, PAGE_RW) }),
    ]);
    expect(f.reason).toMatch(/Bad type|Error getting mfn/);
    const xen = f.xen.join('\n');
    expect(xen).toContain(`Bad type (saw 4000000000000001 != exp e000000000000000) for mfn ${t.l2.toString(16)}`);
    expect(xen).toContain('Could not get page type PGT_writable_page');
    expect(xen).toContain(`Error getting mfn ${t.l2.toString(16)}`);
    expect(xen).toContain('Failure -16 in promote_l1_table: slot 0x8');
    expect(xen).toContain(`Error -16 while pinning mfn ${t.l4.toString(16)}`);
  });

  test('§2.2.2: an MMIO entry names the frame and Xen\'s "non-privileged attempt to map MMIO space"', () => {
    const w = new World();
    const l1 = w.alloc();
    w.put(l1, 2, pte(MMIO_MFN, PAGE_RO));
    const r = w.pinR(1, l1);
    expect(r.rc).toBe(EPERM);
    const f = r.refusals[0]!;
    expect(f.chain).toEqual([expect.objectContaining({ mfn: l1, level: 1, slot: 2 })]);
    expect(f.xen.join('\n')).toContain('non-privileged attempt to map MMIO space');
  });

  test('§2.2.3: a foreign L1e logs "pg_owner d1 l1e_owner d1, but real_pg_owner d2"', () => {
    const w = new World();
    const l1 = w.alloc();
    w.put(l1, 4, pte(0x2000, PAGE_RO));
    const r = w.pinR(1, l1);
    expect(r.rc).toBe(EBUSY);
    expect(r.refusals[0]!.xen.join('\n')).toContain('pg_owner d1 l1e_owner d1, but real_pg_owner d2');
  });

  test('§3.6: a refused mmu_update names the request ("reqs[i]") and its target', () => {
    const w = new World();
    const [l1, l2] = w.allocN(2);
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.pin(2, l2!)).toBe(0);
    const r = w.mmu(1, [
      { ptr: BigInt(l1!) * 4096n, val: 0n },
      { ptr: BigInt(l1!) * 4096n + 8n, val: pte(l2!, PAGE_RW) },
    ]);
    expect(r).toMatchObject({ rc: EBUSY, done: 1 });
    expect(r.refusals[0]).toMatchObject({ at: 'reqs[1]', rc: EBUSY, mfn: l2 });
    expect(r.refusals[0]!.what).toContain('mmu_update');
  });

  test('§3.6: a refused NEW_BASEPTR of a pinned L1 names the pin as the blocker', () => {
    const w = new World();
    const l1 = w.alloc();
    expect(w.pin(1, l1)).toBe(0);
    const r = w.ext(1, [{ cmd: MMUEXT.new_baseptr, mfn: l1 }]);
    expect(r.rc).toBe(EINVAL);
    expect(r.refusals[0]!.blockers).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'pin', mfn: l1 })]));
  });

  test('successful calls carry no refusals', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.pinR(4, t.l4).refusals).toEqual([]);
  });
});
