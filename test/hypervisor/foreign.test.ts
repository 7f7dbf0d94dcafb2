// Foreign domains as Xen 4.17 treats them: get_pg_owner (common/page_alloc.c:2665) names DOMID_IO
// and DOMID_XEN without a privilege check; the dummy XSM policy (include/xsm/dummy.h) decides per
// request; get_page_from_l1e (arch/x86/mm.c:859) decides who may map what, by l1e_owner and
// pg_owner; a free RAM frame is "could not pin" (-EBUSY) whatever domains exist.
import { describe, expect, test } from 'vitest';
import { DOMID_IO, DOMID_SELF, DOMID_XEN, EBUSY, EINVAL, EPERM, ESRCH, MMUEXT } from '../../hypervisor/index.ts';
import {
  A,
  D,
  DOM0,
  DOM1,
  DOM2,
  FREE_MFN,
  GUEST_KERNEL,
  MMIO_MFN,
  P,
  PAGE_RW,
  PCD,
  PWT,
  RW,
  US,
  World,
  ma,
  pte,
} from './helpers.ts';

/** foreigndom for mmu_update: PFD (page-table owner) in bits 31:16 as domid + 1, FD in 15:0. */
function fd(pfd: number | undefined, data: number): number {
  return ((pfd === undefined ? 0 : pfd + 1) << 16) | data;
}

function dom0World(): World {
  return new World({ domains: [DOM0, DOM1, DOM2] });
}

/** A pinned (live) L1 of `dom`. */
function liveL1(w: World, dom: number): number {
  const l1 = w.alloc(dom);
  expect(w.pin(1, l1, dom)).toBe(0);
  return l1;
}

describe('DOMID_IO / DOMID_XEN as foreigndom: get_pg_owner, then XSM per request', () => {
  test("a domU's non-present write with FD = DOMID_IO succeeds (xsm_mmu_update skips dom_io, dummy.h:726)", () => {
    const w = new World();
    const l1 = liveL1(w, 1);
    const r = w.mmu(1, [{ ptr: ma(l1, 4), val: 0x1234000n }], DOMID_IO);
    expect(r).toMatchObject({ rc: 0, done: 1 });
    expect(w.read(l1, 4)).toBe(0x1234000n);
  });

  test("a domU's present write with FD = DOMID_IO: its own RAM is not dom_io's (-EBUSY, mm.c:985), MMIO needs rights (-EPERM, mm.c:897)", () => {
    const w = new World();
    const l1 = liveL1(w, 1);
    const data = w.alloc(1);
    expect(w.mmu(1, [{ ptr: ma(l1, 4), val: pte(data, P | US) }], DOMID_IO).rc).toBe(EBUSY);
    expect(w.mmu(1, [{ ptr: ma(l1, 4), val: pte(MMIO_MFN, P | US) }], DOMID_IO).rc).toBe(EPERM);
    expect(w.read(l1, 4)).toBe(0n);
  });

  test("dom0's ioremap-style MMIO mapping through DOMID_IO succeeds (DOMID_IO reverts to the caller, mm.c:893)", () => {
    const w = dom0World();
    const l1 = liveL1(w, 0);
    const r = w.mmu(0, [{ ptr: ma(l1, 7), val: pte(MMIO_MFN, P | RW | PCD | PWT) }], DOMID_IO);
    expect(r).toMatchObject({ rc: 0, done: 1 });
    expect(w.read(l1, 7)).toBe(pte(MMIO_MFN, P | RW | PCD | PWT | US | GUEST_KERNEL));
    // I/O memory holds no reference: removing the mapping puts nothing (put_page_from_l1e, mm.c:1198)
    const before = w.frame(MMIO_MFN);
    expect(w.update(0, l1, 7, 0n)).toBe(0);
    expect(w.frame(MMIO_MFN)).toEqual(before);
  });

  test('a domU naming DOMID_XEN is refused by XSM when a request is checked (dummy.h:727), not before: an empty batch is 0', () => {
    const w = new World();
    const l1 = liveL1(w, 1);
    expect(w.mmu(1, [], DOMID_XEN)).toMatchObject({ rc: 0, done: 0 });
    expect(w.mmu(1, [{ ptr: ma(l1, 0), val: 0n }], DOMID_XEN)).toMatchObject({ rc: EPERM, done: 0 });
    expect(w.mmu(1, [{ ptr: ma(l1, 0), val: 0n }], DOM2.domid)).toMatchObject({ rc: EPERM, done: 0 });
  });

  test('mmuext_op checks xsm_mmuext_op up front (mm.c:3478), and dom_io is no exception there', () => {
    const w = dom0World();
    expect(w.ext(1, [{ cmd: MMUEXT.tlb_flush_local }], DOMID_IO).rc).toBe(EPERM);
    expect(w.ext(1, [], DOMID_XEN).rc).toBe(EPERM);
    expect(w.ext(0, [], DOMID_IO).rc).toBe(0);
    expect(w.ext(0, [], DOMID_XEN).rc).toBe(0);
    // the caller's own numeric id is still "Cannot specify itself as foreign domain" (page_alloc.c:2669)
    expect(w.ext(1, [], 1).rc).toBe(ESRCH);
    expect(w.mmu(1, [], 1).rc).toBe(ESRCH);
  });

  test("a PFD needs no privilege up front (mm.c:4014); a domU's request into another's table is XSM's -EPERM", () => {
    const w = new World();
    const l1 = liveL1(w, 2);
    expect(w.mmu(1, [], fd(2, DOMID_SELF)).rc).toBe(0);
    expect(w.mmu(1, [{ ptr: ma(l1, 0), val: 0n }], fd(2, DOMID_SELF))).toMatchObject({ rc: EPERM, done: 0 });
  });
});

describe("get_page_from_l1e's l1e_owner / pg_owner rules (mm.c:976–997)", () => {
  test("dom0 writing into a domU's L1 (PFD) may map any domain's frame: xsm_priv_mapping passes for a control domain", () => {
    const w = dom0World();
    const l1 = liveL1(w, 1);
    const other = w.alloc(2);
    const r = w.mmu(0, [{ ptr: ma(l1, 3), val: pte(other, PAGE_RW) }], fd(1, DOMID_SELF));
    expect(r).toMatchObject({ rc: 0, done: 1 });
    // the reference is the real owner's frame's: a general and a writable type reference
    expect(w.frame(other)).toMatchObject({ owner: 2, count: 2, type: 'writable', type_count: 1 });
  });

  test('dom0 mapping a domU frame into its own L1 without naming the domU is refused: pg_owner == l1e_owner (mm.c:985)', () => {
    const w = dom0World();
    const l1 = liveL1(w, 0);
    const foreign = w.alloc(1);
    expect(w.mmu(0, [{ ptr: ma(l1, 3), val: pte(foreign, P | US | A | D) }]).rc).toBe(EBUSY);
    // naming it as FD is the ordinary foreign mapping
    expect(w.mmu(0, [{ ptr: ma(l1, 3), val: pte(foreign, P | US | A | D) }], DOM1.domid).rc).toBe(0);
  });

  test("dom0 with FD = d1 mapping d2's frame into its own L1: d1 has no privilege over d2 (xsm_priv_mapping) → -EBUSY", () => {
    const w = dom0World();
    const l1 = liveL1(w, 0);
    const d2frame = w.alloc(2);
    expect(w.mmu(0, [{ ptr: ma(l1, 3), val: pte(d2frame, P | US) }], DOM1.domid).rc).toBe(EBUSY);
    expect(w.frame(d2frame)).toMatchObject({ count: 1 });
  });

  test("MMIO into a domU's L1 by dom0: the l1e_owner needs I/O rights too (mm.c:909) → -EPERM", () => {
    const w = dom0World();
    const l1 = liveL1(w, 1);
    expect(w.mmu(0, [{ ptr: ma(l1, 3), val: pte(MMIO_MFN, P | US) }], fd(1, DOMID_SELF)).rc).toBe(EPERM);
    expect(w.read(l1, 3)).toBe(0n);
  });
});

describe("get_page_from_l1e's I/O checks, word for word (mm.c:897–920)", () => {
  test('no I/O rights for the data owner: "dN non-privileged attempt to map MMIO space <mfn>" → -EPERM; the all-ones pattern → -EINVAL, silently', () => {
    const w = new World();
    const l1 = liveL1(w, 1);
    const r = w.mmu(1, [{ ptr: ma(l1, 4), val: pte(MMIO_MFN, P | US) }]);
    expect(r.rc).toBe(EPERM);
    expect(r.refusals[0]!.xen).toContain(`d1 non-privileged attempt to map MMIO space ${MMIO_MFN.toString(16)}`);
    expect(r.refusals[0]!.reason).toBe(`mfn 0x${MMIO_MFN.toString(16)} is I/O memory; d1 has no iomem rights`);
    const inv = w.mmu(1, [{ ptr: ma(l1, 4), val: pte(2 ** 40 - 1, P | US) }]);
    expect(inv.rc).toBe(EINVAL);
    expect(inv.refusals[0]!.xen.join('\n')).not.toContain('MMIO');
  });

  test('the data owner is the foreign domain named, not the caller: dom0 mapping MMIO as d1\'s → -EPERM (mm.c:897)', () => {
    const w = dom0World();
    const l1 = liveL1(w, 0);
    const r = w.mmu(0, [{ ptr: ma(l1, 3), val: pte(MMIO_MFN, P | US) }], DOM1.domid);
    expect(r.rc).toBe(EPERM);
    expect(r.refusals[0]!.xen).toContain(`d1 non-privileged attempt to map MMIO space ${MMIO_MFN.toString(16)}`);
  });

  test('none for the l1e_owner: "dC attempted to map MMIO space <mfn> in dP to dL" → -EPERM; the all-ones pattern → -EINVAL, silently', () => {
    const w = dom0World();
    const l1 = liveL1(w, 1);
    const r = w.mmu(0, [{ ptr: ma(l1, 3), val: pte(MMIO_MFN, P | US) }], fd(1, DOMID_SELF));
    expect(r.rc).toBe(EPERM);
    expect(r.refusals[0]!.xen).toContain(`d0 attempted to map MMIO space ${MMIO_MFN.toString(16)} in d0 to d1`);
    expect(r.refusals[0]!.reason).toBe(`mfn 0x${MMIO_MFN.toString(16)} is I/O memory; d1 has no iomem rights`);
    const inv = w.mmu(0, [{ ptr: ma(l1, 3), val: pte(2 ** 40 - 1, P | US) }], fd(1, DOMID_SELF));
    expect(inv.rc).toBe(EINVAL);
    expect(inv.refusals[0]!.xen.join('\n')).not.toContain('MMIO');
  });
});

describe('RAM starts at 0x100 (the trace contract): frame 0x100 is RAM, 0xff I/O memory', () => {
  test("a domain given frames from 0x100 maps its first frame as RAM, with a reference; 0xff is MMIO (-EPERM)", () => {
    const w = new World({ domains: [{ domid: 1, vcpus: 1, base: 0x100, count: 16 }] });
    const l1 = w.alloc();
    expect(l1).toBe(0x100);
    const e = w.alloc();
    w.put(e, 0, pte(0x100, P | US));
    expect(w.pin(1, e)).toBe(0);
    expect(w.frame(0x100)).toMatchObject({ owner: 1, count: 2 });
    const m = w.alloc();
    w.put(m, 0, pte(0xff, P | US));
    expect(w.pin(1, m)).toBe(EPERM);
  });
});

describe('a free RAM frame is "could not pin" (-EBUSY) whatever domains exist, never MMIO (mm.c:985)', () => {
  test('for a domU and for dom0, between domains and past the last one, before and after a domain is created past it', () => {
    const w = dom0World();
    const past = 0x8000; // past every domain's frames, but RAM: the machine is 2^26 frames
    for (const mfn of [FREE_MFN, past]) {
      expect(w.update(1, liveL1(w, 1), 0, pte(mfn, P | US))).toBe(EBUSY);
      expect(w.update(0, liveL1(w, 0), 0, pte(mfn, P | US))).toBe(EBUSY);
    }
    w.createDomain({ domid: 5, vcpus: 1, base: 0x9000, count: 16 });
    expect(w.update(0, liveL1(w, 0), 0, pte(past, P | US))).toBe(EBUSY);
  });
});
