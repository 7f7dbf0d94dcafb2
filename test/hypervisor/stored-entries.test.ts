// Entries read back as Xen 4.17 stores them, in every path that writes one: validation
// (promote_lN_table), mod_lN_entry's full and fast paths (mmu_update), update_va_mapping and
// PRESERVE_AD; Xen's own L4 slots; the cache attributes of an I/O mapping. Each test names the
// line of Xen 4.17 it follows (xen/arch/x86/pv/mm.h, xen/arch/x86/mm.c, x86_64/mm.c).
import { describe, expect, test } from 'vitest';
import { MMU, UVMF } from '../../hypervisor/index.ts';
import { XEN_L3_RO_MPT_MFN } from '../../hypervisor/page-type.ts';
import {
  A,
  D,
  DOM0,
  DOM1,
  DOM2,
  G,
  GUEST_KERNEL,
  MMIO_MFN,
  NX,
  P,
  PAT,
  PCD,
  PWT,
  RW,
  TABLE,
  US,
  World,
  buildTree,
  ma,
  pte,
} from './helpers.ts';

describe('adjust_guest_l1e (pv/mm.h:89): GLOBAL only where GUEST_KERNEL is clear, in every path', () => {
  // pv/mm.h:101: !USER → += GUEST_KERNEL|USER; pv/mm.h:104: then !GUEST_KERNEL → += GLOBAL|USER.
  const cases: [string, bigint, bigint][] = [
    ['kernel (no USER)', P | RW | A | D, P | RW | A | D | US | GUEST_KERNEL],
    ['user (USER)', P | RW | US | A | D, P | RW | US | A | D | G],
    ['USER|GUEST_KERNEL as the guest wrote it', P | RW | US | A | D | GUEST_KERNEL, P | RW | US | A | D | GUEST_KERNEL],
    ['USER|GLOBAL as the guest wrote it', P | RW | US | A | D | G, P | RW | US | A | D | G],
    ['USER|GLOBAL|GUEST_KERNEL as the guest wrote it', P | US | G | GUEST_KERNEL, P | US | G | GUEST_KERNEL],
  ];

  for (const [what, written, stored] of cases) {
    test(`promote_l1_table (mm.c:1359) stores a ${what} entry with exactly Xen's added bits`, () => {
      const w = new World();
      const t = buildTree(w, { maps: [{ slot: 3, flags: written }] });
      expect(w.pin(1, t.l1)).toBe(0);
      expect(w.read(t.l1, 3)).toBe(pte(t.data[0]!, stored));
    });

    test(`mod_l1_entry (mm.c:2199) stores a ${what} entry the same, by mmu_update and update_va_mapping`, () => {
      const w = new World();
      const t = buildTree(w, { maps: [] });
      expect(w.pin(4, t.l4)).toBe(0);
      expect(w.newBase(t.l4)).toBe(0);
      const data = w.alloc();
      expect(w.update(1, t.l1, 5, pte(data, written))).toBe(0);
      expect(w.read(t.l1, 5)).toBe(pte(data, stored));
      // the same value again takes the fast path (mm.c:2202–2204) and is stored adjusted as well
      expect(w.update(1, t.l1, 5, pte(data, written))).toBe(0);
      expect(w.read(t.l1, 5)).toBe(pte(data, stored));
      expect(w.uvm(1, t.va(6), pte(data, written), UVMF.INVLPG).rc).toBe(0);
      expect(w.read(t.l1, 6)).toBe(pte(data, stored));
    });
  }
});

describe('PRESERVE_AD (update_intpte, pv/mm.h:64): the old A/D bits OR into the new value, present or not', () => {
  test('an L1 slot rewritten non-present with MMU_PT_UPDATE_PRESERVE_AD keeps the old A|D (mod_l1_entry, mm.c:2237)', () => {
    const w = new World();
    const t = buildTree(w, { maps: [{ slot: 2, flags: P | RW | US | A | D }] });
    expect(w.pin(1, t.l1)).toBe(0);
    const swap = 0x5000n; // a non-present value (a swap entry, say)
    const r = w.mmu(1, [{ ptr: ma(t.l1, 2) | BigInt(MMU.PT_UPDATE_PRESERVE_AD), val: swap }]);
    expect(r.rc).toBe(0);
    expect(w.read(t.l1, 2)).toBe(swap | A | D);
  });

  test('a present L1 value keeps the old A|D too; MMU_NORMAL_PT_UPDATE does not', () => {
    const w = new World();
    const t = buildTree(w, { maps: [{ slot: 2, flags: P | US | A | D }] });
    expect(w.pin(1, t.l1)).toBe(0);
    const data = t.data[0]!;
    expect(w.mmu(1, [{ ptr: ma(t.l1, 2) | BigInt(MMU.PT_UPDATE_PRESERVE_AD), val: pte(data, P | US) }]).rc).toBe(0);
    expect(w.read(t.l1, 2)).toBe(pte(data, P | US | A | D | G));
    expect(w.mmu(1, [{ ptr: ma(t.l1, 2), val: pte(data, P | US) }]).rc).toBe(0);
    expect(w.read(t.l1, 2)).toBe(pte(data, P | US | G));
  });

  test('an L2 slot cleared with PRESERVE_AD keeps the old A|D (mod_l2_entry, mm.c:2301)', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.pin(2, t.l2)).toBe(0);
    expect(w.mmu(1, [{ ptr: ma(t.l2, 0) | BigInt(MMU.PT_UPDATE_PRESERVE_AD), val: 0n }]).rc).toBe(0);
    expect(w.read(t.l2, 0)).toBe(A | D);
    expect(w.frame(t.l1)).toMatchObject({ type_count: 0 });
  });
});

describe("Xen's L4 slots (init_xen_l4_slots, mm.c:1644; fill_ro_mpt, mm.c:1721)", () => {
  test('slot 258 is the table itself with __PAGE_HYPERVISOR_RW, NX included (mm.c:1665, asm/page.h:355)', () => {
    const w = new World();
    const t = buildTree(w);
    w.put(t.l4, 258, pte(t.l3, TABLE)); // guest content in Xen's slots is overwritten
    w.put(t.l4, 260, pte(t.l3, TABLE));
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.read(t.l4, 258)).toBe(pte(t.l4, P | RW | A | D | NX));
    expect(w.read(t.l4, 260)).toBe(0n);
  });

  test('slot 256 (RO M2P) is empty after promotion and filled when the L4 becomes a kernel base (mm.c:1654, 3351)', () => {
    const w = new World();
    const t = buildTree(w);
    w.put(t.l4, 256, pte(t.l3, TABLE));
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.read(t.l4, 256)).toBe(0n); // promote_l4_table passes ro_mpt = m2p_strict (mm.c:1830)
    // a user base does not fill it (only m2p_strict's zap_ro_mpt touches it there, mm.c:3699)
    const u = buildTree(w);
    expect(w.pin(4, u.l4)).toBe(0);
    expect(w.newUserBase(u.l4)).toBe(0);
    expect(w.read(u.l4, 256)).toBe(0n);
    expect(w.newBase(t.l4)).toBe(0);
    // idle_pg_table's entry: Xen's RO-M2P L3, __PAGE_HYPERVISOR_RO | _PAGE_USER (x86_64/mm.c:533)
    expect(w.read(t.l4, 256)).toBe(pte(XEN_L3_RO_MPT_MFN, P | A | US | NX));
  });
});

describe("I/O mappings get Xen's cache attributes (get_page_from_l1e, mm.c:962; l1e_flip_flags)", () => {
  // opt_mmio_relax is 0 (mm.c:189): WB (0), WT (PWT) and WP (PWT|PAT) mappings of MMIO become UC.
  const cases: [string, bigint, bigint][] = [
    ['WB', 0n, PWT | PCD],
    ['WT', PWT, PWT | PCD],
    ['WP', PWT | PAT, PWT | PCD],
    ['UC-', PCD, PCD],
    ['UC', PWT | PCD, PWT | PCD],
  ];
  for (const [what, attrs, stored] of cases) {
    test(`dom0's ${what} mapping of MMIO is stored with ${stored === attrs ? 'its own' : 'UC'} attributes, by validation and by mmu_update`, () => {
      const w = new World({ domains: [DOM0, DOM1, DOM2] });
      const l1 = w.alloc(0);
      w.put(l1, 1, pte(MMIO_MFN, P | RW | attrs), 0);
      expect(w.pin(1, l1, 0)).toBe(0);
      expect(w.read(l1, 1)).toBe(pte(MMIO_MFN, P | RW | stored | US | GUEST_KERNEL));
      expect(w.update(0, l1, 2, pte(MMIO_MFN + 1, P | attrs))).toBe(0);
      expect(w.read(l1, 2)).toBe(pte(MMIO_MFN + 1, P | stored | US | GUEST_KERNEL));
    });
  }

  test('a domU cannot map MMIO at all, so nothing is flipped for it (-EPERM)', () => {
    const w = new World({ domains: [DOM1] });
    const t = buildTree(w, { maps: [] });
    expect(w.pin(1, t.l1)).toBe(0);
    expect(w.update(1, t.l1, 0, pte(MMIO_MFN, P))).toBe(-1);
    expect(w.read(t.l1, 0)).toBe(0n);
  });
});
