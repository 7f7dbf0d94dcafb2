// §6 must-haves: the TLB-flush clock and filter (§1.7), and the stale-TLB model with Xen's
// type-change flush (§1.8). The stale-TLB test is the one §6 insists on.
import { describe, expect, test } from 'vitest';
import { EBUSY, EFAULT, MMUEXT, UVMF } from '../../hypervisor/index.ts';
import type { FlushEvent, FrameInfo } from '../../hypervisor/index.ts';
import { PAGE_RO, PAGE_RW, TABLE, World, buildTree, pte } from './helpers.ts';
import type { Tree } from './helpers.ts';

const V0 = { dom: 1, vcpu: 0 };
const V1 = { dom: 1, vcpu: 1 };

/** A pinned tree with an empty L1, loaded as CR3 on both vCPUs of domain 1. */
function live(): { w: World; t: Tree } {
  const w = new World();
  const t = buildTree(w, { maps: [] });
  expect(w.pin(4, t.l4)).toBe(0);
  expect(w.newBase(t.l4, V0)).toBe(0);
  expect(w.newBase(t.l4, V1)).toBe(0);
  return { w, t };
}

function typeChangeFlushes(events: FlushEvent[], mfn: number): FlushEvent[] {
  return events.filter((e) => e.cause === 'type_change' && e.mfn === mfn);
}

describe('§6 stale TLB: the guest keeps a stale writable entry; Xen\'s type-change flush removes it before the frame becomes a page table (§1.8)', () => {
  test('§1.8: map E RW, fill the TLB, unmap with UVMF_NONE, still hit E; pin E as L1 flushes first; then the write faults', () => {
    const { w, t } = live();
    const e = w.alloc();
    const v = t.va(5);

    expect(w.uvm(V0, v, pte(e, PAGE_RW), UVMF.INVLPG | UVMF.LOCAL).rc).toBe(0);
    expect(w.access(V0, v, true)).toMatchObject({ rc: 0, mfn: e, writable: true, tlb_hit: false, stale: false });
    expect(w.access(V0, v, true)).toMatchObject({ rc: 0, mfn: e, writable: true, tlb_hit: true, stale: false });

    // remove the mapping without any flush: Xen does not flush for the guest (§1.8.2)
    const mark = w.flushes.length;
    expect(w.uvm(V0, v, 0n, UVMF.NONE).rc).toBe(0);
    expect(w.read(t.l1, 5)).toBe(0n);
    expect(w.flushesSince(mark)).toEqual([]);
    expect(w.frame(e)).toMatchObject({ type: 'writable', type_count: 0, count: 1 });

    // the stale writable translation still works, and only harms the guest itself
    expect(w.access(V0, v, true)).toMatchObject({ rc: 0, mfn: e, writable: true, tlb_hit: true, stale: true });

    // make E a page table: the filtered flush runs first, before E is a validated L1 (§1.4.6, §1.8.3)
    const seen: FrameInfo[] = [];
    w.onFlush = (ev) => {
      if (ev.cause === 'type_change' && ev.mfn === e) seen.push(w.hv.frame(e));
    };
    const mark2 = w.flushes.length;
    expect(w.pin(1, e)).toBe(0);
    w.onFlush = undefined;
    const flushes = typeChangeFlushes(w.flushesSince(mark2), e);
    expect(flushes.length).toBeGreaterThan(0);
    expect(flushes.flatMap((f) => f.vcpus)).toContain(0);
    expect(flushes.every((f) => f.dom === 1)).toBe(true);
    for (const f of seen) expect(f.type === 'l1' && f.validated).toBe(false);
    expect(w.frame(e)).toMatchObject({ type: 'l1', type_count: 1, validated: true, pinned: true });

    // the stale writable entry is gone: the access walks the tables and faults
    const after = w.access(V0, v, true);
    expect(after.rc).toBe(EFAULT);
    expect(after.tlb_hit).toBe(false);
  });

  test('§1.8.4: while E is an L1, no writable mapping of it can be made, and the reads see the audited contents', () => {
    const { w, t } = live();
    const e = w.alloc();
    const v = t.va(6);
    expect(w.uvm(V0, v, pte(e, PAGE_RW), UVMF.INVLPG).rc).toBe(0);
    expect(w.access(V0, v, true).rc).toBe(0);
    expect(w.uvm(V0, v, 0n, UVMF.NONE).rc).toBe(0);
    expect(w.pin(1, e)).toBe(0);
    expect(w.uvm(V0, v, pte(e, PAGE_RW), UVMF.INVLPG).rc).toBe(EBUSY);
    expect(w.uvm(V0, v, pte(e, PAGE_RO), UVMF.INVLPG).rc).toBe(0);
    expect(w.access(V0, v, false)).toMatchObject({ rc: 0, mfn: e, writable: false });
    expect(w.access(V0, v, true).rc).toBe(EFAULT);
  });

  test('§1.7: the filter: a vCPU that flushed after the stamp is not flushed again', () => {
    const { w, t } = live();
    const e = w.alloc();
    const v = t.va(7);
    expect(w.uvm(V0, v, pte(e, PAGE_RW), UVMF.INVLPG).rc).toBe(0);
    expect(w.access(V0, v, true).rc).toBe(0);
    expect(w.uvm(V0, v, 0n, UVMF.NONE).rc).toBe(0);
    const stamp = w.frame(e).tlbflush_timestamp;
    // vCPU 1 flushes after the stamp; vCPU 0 does not
    expect(w.ext(V1, [{ cmd: MMUEXT.tlb_flush_local }]).rc).toBe(0);
    expect(w.clock).toBeGreaterThan(stamp);
    const mark = w.flushes.length;
    expect(w.pin(1, e)).toBe(0);
    const vcpus = typeChangeFlushes(w.flushesSince(mark), e).flatMap((f) => f.vcpus);
    expect(vcpus).toContain(0);
    expect(vcpus).not.toContain(1);
    expect(w.access(V0, v, true).rc).toBe(EFAULT);
  });

  test('§1.7: without a later flush, every vCPU of the owner is flushed on the type change', () => {
    const { w, t } = live();
    const e = w.alloc();
    const v = t.va(7);
    expect(w.uvm(V0, v, pte(e, PAGE_RW), UVMF.INVLPG).rc).toBe(0);
    expect(w.access(V0, v, true).rc).toBe(0);
    expect(w.access(V1, v, true).rc).toBe(0);
    expect(w.uvm(V0, v, 0n, UVMF.NONE).rc).toBe(0);
    expect(w.access(V1, v, true)).toMatchObject({ rc: 0, tlb_hit: true, stale: true });
    const mark = w.flushes.length;
    expect(w.pin(1, e)).toBe(0);
    const vcpus = typeChangeFlushes(w.flushesSince(mark), e).flatMap((f) => f.vcpus);
    expect(vcpus).toEqual(expect.arrayContaining([0, 1]));
    expect(w.access(V1, v, true).rc).toBe(EFAULT);
    expect(w.access(V0, v, true).rc).toBe(EFAULT);
  });

  test('§1.7: a type change of a frame whose stamp predates every vCPU\'s last flush flushes nobody', () => {
    const { w, t } = live();
    const e = w.alloc();
    const v = t.va(8);
    expect(w.uvm(V0, v, pte(e, PAGE_RW), UVMF.INVLPG).rc).toBe(0);
    expect(w.uvm(V0, v, 0n, UVMF.NONE).rc).toBe(0);
    expect(w.ext(V0, [{ cmd: MMUEXT.tlb_flush_local }]).rc).toBe(0);
    expect(w.ext(V1, [{ cmd: MMUEXT.tlb_flush_local }]).rc).toBe(0);
    const mark = w.flushes.length;
    expect(w.pin(1, e)).toBe(0);
    const vcpus = typeChangeFlushes(w.flushesSince(mark), e).flatMap((f) => f.vcpus);
    expect(vcpus).toEqual([]);
  });

  test('§1.7: taking the same type again at count 0 is no type change: no flush (mm.c:3023)', () => {
    // Unpinning stamps the L1 after every vCPU's last flush, so a type change would flush them;
    // pinning it as an L1 again keeps its type: it is validated again, and nobody is flushed.
    const { w } = live();
    const e = w.alloc();
    expect(w.pin(1, e)).toBe(0);
    expect(w.unpin(e)).toBe(0);
    expect(w.frame(e)).toMatchObject({ type: 'l1', type_count: 0, validated: false });
    const mark = w.flushes.length;
    expect(w.pin(1, e)).toBe(0);
    expect(typeChangeFlushes(w.flushesSince(mark), e)).toEqual([]);
    expect(w.frame(e)).toMatchObject({ type: 'l1', type_count: 1, validated: true });
  });

  test('§1.7/§1.8: an INVLPG of another VA is no full flush: the type change still flushes that vCPU', () => {
    const { w, t } = live();
    const e = w.alloc();
    const v = t.va(10);
    expect(w.uvm(V0, v, pte(e, PAGE_RW), UVMF.INVLPG).rc).toBe(0);
    expect(w.access(V0, v, true).rc).toBe(0);
    expect(w.uvm(V0, v, 0n, UVMF.NONE).rc).toBe(0);
    // after the stamp, vCPU 0 only invalidates other VAs
    expect(w.ext(V0, [{ cmd: MMUEXT.invlpg_local, linear_addr: t.va(11) }]).rc).toBe(0);
    expect(w.uvm(V0, t.va(12), 0n, UVMF.INVLPG | UVMF.LOCAL).rc).toBe(0);
    expect(w.access(V0, v, true)).toMatchObject({ rc: 0, mfn: e, stale: true });
    const mark = w.flushes.length;
    expect(w.pin(1, e)).toBe(0);
    expect(typeChangeFlushes(w.flushesSince(mark), e).flatMap((f) => f.vcpus)).toContain(0);
    expect(w.access(V0, v, true).rc).toBe(EFAULT);
  });

  test('§1.8: a stale writable entry never outlives the frame becoming an L2 through a link', () => {
    const { w, t } = live();
    const e = w.alloc();
    const v = t.va(13);
    expect(w.uvm(V0, v, pte(e, PAGE_RW), UVMF.INVLPG).rc).toBe(0);
    expect(w.access(V0, v, true).rc).toBe(0);
    expect(w.access(V1, v, true).rc).toBe(0);
    expect(w.uvm(V0, v, 0n, UVMF.NONE).rc).toBe(0);
    // E becomes an L1 on demand, by an L2 entry (mmu_update), not a pin
    expect(w.update(V1, t.l2, 40, pte(e, TABLE))).toBe(0);
    expect(w.frame(e)).toMatchObject({ type: 'l1', validated: true, type_count: 1 });
    expect(w.access(V0, v, true).rc).toBe(EFAULT);
    expect(w.access(V1, v, true).rc).toBe(EFAULT);
  });

  test('§1.8.5: the reverse direction: a demoted page table made writable flushes CPUs that may cache it', () => {
    const { w, t } = live();
    const x = w.alloc();
    expect(w.pin(1, x)).toBe(0);
    expect(w.unpin(x)).toBe(0); // stamped at count 0 (§1.5)
    const mark = w.flushes.length;
    expect(w.uvm(V0, t.va(9), pte(x, PAGE_RW), UVMF.INVLPG).rc).toBe(0);
    const vcpus = typeChangeFlushes(w.flushesSince(mark), x).flatMap((f) => f.vcpus);
    expect(vcpus).toEqual(expect.arrayContaining([0, 1]));
  });
});

describe('§6 TLB clock: ticks on every flush or CR3 load; per-vCPU stamps; page stamps at count 0 and free (§1.7)', () => {
  test('§1.7/§4.3: NEW_BASEPTR is a CR3 write: the clock ticks once and a cr3 flush is reported', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.pin(4, t.l4)).toBe(0);
    const c0 = w.clock;
    expect(c0).toBeGreaterThanOrEqual(1);
    const mark = w.flushes.length;
    expect(w.newBase(t.l4, V0)).toBe(0);
    expect(w.clock).toBe(c0 + 1);
    const ev = w.flushesSince(mark).filter((f) => f.cause === 'cr3');
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ dom: 1, vcpus: [0], clock: c0 + 1 });
  });

  test('§1.7: MMUEXT_TLB_FLUSH_LOCAL ticks the clock once', () => {
    const w = new World();
    const c0 = w.clock;
    const mark = w.flushes.length;
    expect(w.ext(V1, [{ cmd: MMUEXT.tlb_flush_local }]).rc).toBe(0);
    expect(w.clock).toBe(c0 + 1);
    expect(w.flushesSince(mark)).toEqual([expect.objectContaining({ cause: 'guest', dom: 1, vcpus: [1], clock: c0 + 1 })]);
  });

  test('§1.7: the clock never goes back, and a TLB flush of a vCPU drops its cached translations', () => {
    const { w, t } = live();
    const e = w.alloc();
    expect(w.uvm(V0, t.va(2), pte(e, PAGE_RW), UVMF.NONE).rc).toBe(0);
    expect(w.access(V0, t.va(2), false).tlb_hit).toBe(false);
    expect(w.access(V0, t.va(2), false).tlb_hit).toBe(true);
    const c = w.clock;
    expect(w.ext(V0, [{ cmd: MMUEXT.tlb_flush_local }]).rc).toBe(0);
    expect(w.clock).toBeGreaterThan(c);
    expect(w.access(V0, t.va(2), false).tlb_hit).toBe(false);
  });

  test('§1.7/§4.3: a CR3 load flushes the vCPU\'s TLB (no stale entry survives NEW_BASEPTR)', () => {
    const { w, t } = live();
    const e = w.alloc();
    const v = t.va(3);
    expect(w.uvm(V0, v, pte(e, PAGE_RW), UVMF.NONE).rc).toBe(0);
    expect(w.access(V0, v, true).rc).toBe(0);
    expect(w.uvm(V0, v, 0n, UVMF.NONE).rc).toBe(0);
    expect(w.access(V0, v, true).stale).toBe(true);
    // a second L4 with the same L3, then switch
    const l4b = w.alloc();
    w.put(l4b, 0, pte(t.l3, PAGE_RW));
    expect(w.newBase(l4b, V0)).toBe(0);
    expect(w.access(V0, v, true)).toMatchObject({ rc: EFAULT, tlb_hit: false });
  });
});
