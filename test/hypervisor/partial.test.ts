// A failed L2–L4 validation leaves what Xen 4.17 leaves (xen/arch/x86/mm.c): an L1, or an L2–L4
// failing at its slot 0, ends as type none (validate_page's type_info = 0, mm.c:2654); an L2–L4
// failing further on goes PGT_partial as old_guest_table (mm.c:1493, 1597, 1788) and the call's
// continuation cleans it up (put_old_guest_table, mm.c:3164): its level's type, count 0, stamped.
// And the release build's leak when a nested failure overwrites old_guest_table
// (ASSERT_UNREACHABLE() in promote_l4_table, mm.c:1813), which a debug build stops at.
import { describe, expect, test } from 'vitest';
import { EBUSY, EINVAL } from '../../hypervisor/index.ts';
import { DOM1, P, PAGE_RO, PAGE_RW, TABLE, World, ma, pte } from './helpers.ts';

/** A validated-to-be L1 with one good entry, and one whose only entry maps `victim` writable. */
function goodAndBadL1(w: World, victim: number): { good: number; bad: number } {
  const [good, data, bad] = w.allocN(3);
  w.put(good!, 0, pte(data!, PAGE_RW));
  w.put(bad!, 0, pte(victim, PAGE_RW)); // a live table mapped writable: -EBUSY (§2.2.4)
  return { good: good!, bad: bad! };
}

/** An L2 whose slot `badSlot` links an L1 that fails validation (slot 0 links a good L1 when badSlot > 0). */
function failingL2(w: World, badSlot: number): { l2: number; good: number; bad: number } {
  const l2 = w.alloc();
  const { good, bad } = goodAndBadL1(w, l2);
  if (badSlot > 0) w.put(l2, 0, pte(good, TABLE));
  w.put(l2, badSlot, pte(bad, TABLE));
  return { l2, good, bad };
}

describe('what a failed validation leaves (validate_page, mm.c:2645–2662; put_old_guest_table, mm.c:3164)', () => {
  test('an L2 failing past slot 0 ends as l2 with count 0, stamped by the clean-up; its good L1 demoted', () => {
    const w = new World();
    const { l2, good, bad } = failingL2(w, 5);
    expect(w.pin(2, l2)).toBe(EBUSY);
    const f = w.frame(l2);
    expect(f).toMatchObject({ type: 'l2', type_count: 0, validated: false, count: 1 });
    expect(f.tlbflush_timestamp).toBe(w.hv.clock); // _put_final_page_type's set_tlbflush_timestamp
    expect(w.frame(good)).toMatchObject({ type: 'l1', type_count: 0, validated: false, count: 1 });
    expect(w.frame(bad)).toMatchObject({ type: 'none', type_count: 0, count: 1 });
  });

  test('an L1 failing past slot 0 puts what it took itself (promote_l1_table, mm.c:1369) and ends as type none', () => {
    const w = new World();
    const [l1, data] = w.allocN(2);
    w.put(l1!, 0, pte(data!, PAGE_RW));
    w.put(l1!, 3, pte(l1!, PAGE_RW)); // maps itself writable: -EBUSY at slot 3
    expect(w.pin(1, l1!)).toBe(EBUSY);
    expect(w.frame(l1!)).toMatchObject({ type: 'none', type_count: 0, count: 1 });
    expect(w.frame(data!)).toMatchObject({ type_count: 0, count: 1 });
  });

  test('an L2 failing at slot 0 ends as type none, its stamp the zeroed nr_validated_ptes word (mm.c:3113)', () => {
    const w = new World();
    const { l2 } = failingL2(w, 0);
    expect(w.pin(2, l2)).toBe(EBUSY);
    expect(w.frame(l2)).toMatchObject({ type: 'none', type_count: 0, validated: false, count: 1, tlbflush_timestamp: 0 });
  });

  test('so a later type change flushes as Xen does: after the partial clean-up, not after a slot-0 failure', () => {
    // mmu_update's plain write takes a writable type: l2/none → writable runs _get_page_type's
    // filtered flush (mm.c:3039) against the frame's stamp.
    const typeChangeFlushes = (w: World, l2: number): number => {
      const mark = w.flushes.length;
      expect(w.mmu(1, [{ ptr: ma(l2, 9), val: 0n }]).rc).toBe(0);
      return w.flushesSince(mark).filter((e) => e.cause === 'type_change').length;
    };
    const partial = new World();
    const a = failingL2(partial, 5);
    expect(partial.pin(2, a.l2)).toBe(EBUSY);
    expect(typeChangeFlushes(partial, a.l2)).toBe(1); // stamped at the clean-up: no vCPU flushed since

    // An L2 unpinned earlier (stamped then, no vCPU flushed since), re-pinned without a type change,
    // failing at slot 0: the stamp is 0 now, so the next type change needs no flush.
    const w = new World();
    const { l2, bad } = failingL2(w, 5);
    w.put(l2, 5, 0n);
    expect(w.pin(2, l2)).toBe(0);
    expect(w.unpin(l2)).toBe(0);
    w.put(l2, 0, pte(bad, TABLE));
    expect(w.pin(2, l2)).toBe(EBUSY);
    expect(typeChangeFlushes(w, l2)).toBe(0);
  });

  // A domain above 2^20 frames too: its entries' mfns reach into the PTE's high word.
  test.each([
    ['', DOM1],
    [' (frames above 2^20)', { ...DOM1, base: 0x100000, count: 64 }],
  ])('L4 → L3 → L2 failures past slot 0 hand the general reference down (PTF_partial_set, mm.c:1612, 1807): nothing leaks%s', (_name, dom) => {
    const w = new World({ domains: [dom] });
    const [l4, l3a, l3] = w.allocN(3);
    const { l2, good } = failingL2(w, 1);
    w.put(l3a!, 0, 0n);
    w.put(l4!, 0, pte(l3a!, TABLE));
    w.put(l3!, 0, pte(w.alloc(), TABLE)); // an empty L2: validates
    w.put(l3!, 2, pte(l2, TABLE));
    w.put(l4!, 3, pte(l3!, TABLE));
    expect(w.pin(4, l4!)).toBe(EBUSY);
    expect(w.frame(l4!)).toMatchObject({ type: 'l4', type_count: 0, count: 1 });
    expect(w.frame(l3!)).toMatchObject({ type: 'l3', type_count: 0, count: 1 });
    expect(w.frame(l2)).toMatchObject({ type: 'l2', type_count: 0, count: 1 });
    expect(w.frame(good)).toMatchObject({ type: 'l1', type_count: 0, count: 1 });
    expect(w.frame(l3a!)).toMatchObject({ type: 'l3', type_count: 0, count: 1 });
  });
  test('an L3 failing past slot 0 at an entry naming mfn 0 (I/O memory): old_guest_table 0 is none, no partial reference', () => {
    const w = new World();
    const [l3, ok] = w.allocN(2);
    w.put(l3!, 0, pte(ok!, TABLE));
    w.put(l3!, 3, (1n << 52n) | P); // mfn 0, with a bit above the address
    expect(w.pin(3, l3!)).toBe(EINVAL);
    expect(w.frame(l3!)).toMatchObject({ type: 'l3', type_count: 0, count: 1 });
    expect(w.frame(ok!)).toMatchObject({ type: 'l2', type_count: 0, count: 1 });
  });

  test('an L3 failing past slot 0 at an L2 that failed at its slot 0: no partial reference, no assertion; cleaned up', () => {
    const w = new World();
    const l3 = w.alloc();
    const ok = w.alloc(); // an empty L2 at slot 0: validates
    const { l2 } = failingL2(w, 0);
    w.put(l3, 0, pte(ok, TABLE));
    w.put(l3, 4, pte(l2, TABLE));
    const r = w.pinR(3, l3);
    expect(r.rc).toBe(EBUSY);
    expect(r.refusals[0]!.debug_stop).toBeUndefined();
    expect(r.refusals[0]!.xen.join('\n')).not.toContain('Assertion');
    expect(w.frame(l3)).toMatchObject({ type: 'l3', type_count: 0, count: 1 });
    expect(w.frame(ok)).toMatchObject({ type: 'l2', type_count: 0, count: 1 });
    expect(w.frame(l2)).toMatchObject({ type: 'none', type_count: 0, count: 1 });
  });
});

describe("the release build's leak: a nested failure overwrites old_guest_table (promote_l4_table, mm.c:1813)", () => {
  /** L4 slot 1 → L3 failing at its slot 0 → L2 failing at its slot 1: old_guest_table is the L2, not the L3. */
  function leakTree(w: World): { l4: number; l3: number; l2: number; good: number } {
    const [l4, l3] = w.allocN(2);
    const { l2, good } = failingL2(w, 1);
    w.put(l3!, 0, pte(l2, TABLE));
    w.put(l4!, 1, pte(l3!, TABLE));
    return { l4: l4!, l3: l3!, l2, good };
  }

  test('release: the L2 keeps PGT_partial, its type reference and its validated entries, and a general reference for good', () => {
    const w = new World({ debugBuild: false }); // the audit after every call accepts exactly this leak
    const { l4, l3, l2, good } = leakTree(w);
    const r = w.pinR(4, l4);
    expect(r.rc).toBe(EBUSY);
    expect(r.refusals[0]!.debug_stop).toBeUndefined();
    // count: allocation + PGT_partial's get_page_light + old_guest_table's reference, never put
    const f = w.frame(l2);
    expect(f).toMatchObject({ type: 'l2', type_count: 1, validated: false, count: 3 });
    expect(BigInt(`0x${f.taf}`) & (1n << 56n)).toBe(1n << 56n); // PGT_partial
    expect(w.frame(good)).toMatchObject({ type: 'l1', type_count: 1, validated: true, count: 2 });
    expect(w.frame(l3)).toMatchObject({ type: 'none', type_count: 0, count: 1 });
    expect(w.frame(l4)).toMatchObject({ type: 'l4', type_count: 0, count: 1 });
    // Taking an l2 reference resumes its validation where it stopped (mm.c:2988); it fails again,
    // at slot 1 — old_guest_table this time — and is cleaned up, all but the leaked reference.
    expect(w.pin(2, l2)).toBe(EBUSY);
    expect(w.frame(l2)).toMatchObject({ type: 'l2', type_count: 0, validated: false, count: 2 });
    expect(w.frame(good)).toMatchObject({ type: 'l1', type_count: 0, count: 1 });
    // the domain's death cannot free it: the frame outlives it (Xen: a zombie domain)
    w.destroy(DOM1.domid);
    expect(w.frame(l2)).toMatchObject({ owner: 1, count: 1 });
    // A trace may still give it to a new domain (past what Xen can do): the simulator frees it then.
    w.createDomain(DOM1);
    expect(w.frame(l2)).toMatchObject({ owner: 1, count: 1, type: 'none', type_count: 0, allocated: true });
    expect(w.read(l2, 0)).toBe(0n);
  });

  test('release: once its bad entry is fixed, the leaked L2 validates from where it stopped and is pinned (mm.c:2988, 3129)', () => {
    const w = new World({ debugBuild: false });
    const [l4, l3] = w.allocN(2);
    const { l2, good, bad } = failingL2(w, 1);
    w.put(l3!, 0, pte(l2, TABLE));
    w.put(l4!, 1, pte(l3!, TABLE));
    expect(w.pin(4, l4!)).toBe(EBUSY);
    w.put(bad, 0, 0n); // the bad L1 is type none again: a plain store fixes it
    expect(w.pin(2, l2)).toBe(0);
    // validated and pinned on the type reference PGT_partial held; PGT_partial's general reference
    // put; the leaked one stays
    expect(w.frame(l2)).toMatchObject({ type: 'l2', type_count: 1, validated: true, pinned: true, count: 3 });
    expect(w.frame(bad)).toMatchObject({ type: 'l1', type_count: 1, validated: true, count: 2 });
    expect(w.frame(good)).toMatchObject({ type: 'l1', type_count: 1, validated: true, count: 2 });
  });

  test('release: the domain dying while the L2 is still PGT_partial devalidates it (relinquish_memory, domain.c:2233): all but the leaked reference freed', () => {
    const w = new World({ debugBuild: false });
    const { l4, l3, l2, good } = leakTree(w);
    expect(w.pin(4, l4)).toBe(EBUSY);
    w.destroy(DOM1.domid);
    expect(w.frame(good)).toMatchObject({ owner: null, count: 0, type_count: 0 });
    expect(w.frame(l3)).toMatchObject({ owner: null, count: 0 });
    expect(w.frame(l2)).toMatchObject({ owner: 1, count: 1, type_count: 0, validated: false });
  });

  test('release: a PGT_partial L2 is no linear target: it is not validated (get_l2_linear_pagetable, mm.c:736)', () => {
    const w = new World({ debugBuild: false });
    const { l4, l2 } = leakTree(w);
    expect(w.pin(4, l4)).toBe(EBUSY);
    const c = w.alloc();
    w.put(c, 0, pte(l2, PAGE_RO));
    expect(w.pin(2, c)).toBe(EINVAL);
    expect(w.frame(l2)).toMatchObject({ type: 'l2', type_count: 1, validated: false, count: 3 });
  });

  test('debug: the refusal says where a debug build stops, and the audit reports the leak', () => {
    const w = new World();
    const { l4, l2 } = leakTree(w);
    const r = w.hv.hypercall({ dom: 1, vcpu: 0 }, { op: 'mmuext_op', ops: [{ cmd: 3, mfn: l4 }] });
    expect(r.rc).toBe(EBUSY);
    expect(r.refusals[0]!.debug_stop).toBe('ASSERT_UNREACHABLE() in promote_l4_table (xen/arch/x86/mm.c:1813): a debug build stops here');
    expect(r.refusals[0]!.xen).toContain("Assertion 'unreachable' failed at arch/x86/mm.c:1813");
    const audit = w.hv.audit();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toContain(`mfn 0x${l2.toString(16)}`);
    expect(audit[0]).toContain('ASSERT_UNREACHABLE');
  });

  test('no leak when the L4 fails at its slot 0: old_guest_table stays the L2 and is cleaned up', () => {
    const w = new World();
    const [l4, l3] = w.allocN(2);
    const { l2 } = failingL2(w, 1);
    w.put(l3!, 0, pte(l2, TABLE));
    w.put(l4!, 0, pte(l3!, TABLE));
    const r = w.pinR(4, l4!);
    expect(r.rc).toBe(EBUSY);
    expect(r.refusals[0]!.debug_stop).toBeUndefined();
    expect(w.frame(l2)).toMatchObject({ type: 'l2', type_count: 0, count: 1 });
    expect(w.frame(l4!)).toMatchObject({ type: 'none', type_count: 0, count: 1 });
  });
});
