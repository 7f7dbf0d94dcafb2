// §6 must-haves: L1 rules, L2/L3/L4 rules, linear pagetables, Xen-reserved L4 slots (§2), plus the
// §2.6 flag adjustments and the §2.7 fast path.
import { describe, expect, test } from 'vitest';
import { EBUSY, EINVAL, UVMF } from '../../hypervisor/index.ts';
import {
  A,
  D,
  DOM0,
  DOM1,
  G,
  GUEST_KERNEL,
  NX,
  P,
  PAGE_RO,
  PAGE_RW,
  PAT,
  PCD,
  PSE,
  PWT,
  RW,
  AVAIL,
  TABLE,
  US,
  World,
  buildTree,
  expectIdle,
  ma,
  pte,
  pteMfn,
  va,
} from './helpers.ts';

const L1_CACHE_FLAGS: Array<[string, bigint]> = [
  ['PWT', PWT],
  ['PCD', PCD],
  ['PAT', PAT],
];
const L234_BAD_FLAGS: Array<[string, bigint]> = [
  ['PSE', PSE],
  ['GLOBAL', G],
  ['PCD', PCD],
  ['PWT', PWT],
];

describe('§6 L1 rules: RW to a PT → -EBUSY; foreign/free → -EBUSY; MMIO → -EPERM; bad flags → -EINVAL; RO map of a PT ok (§2.1, §2.2)', () => {
  test.each(L1_CACHE_FLAGS)('§2.1: %s in an L1e → -EINVAL for a domU', (_name, flag) => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 0, pte(e!, PAGE_RW | flag));
    expect(w.pin(1, l1!)).toBe(EINVAL);
    expectIdle(w, l1!);
  });

  test.each(L1_CACHE_FLAGS)('§2.1: %s in an L1e is fine for a privileged domain', (_name, flag) => {
    const w = new World({ domains: [DOM1, DOM0] });
    const l1 = w.alloc(0);
    const e = w.alloc(0);
    w.put(l1, 0, pte(e, PAGE_RW | flag), 0);
    expect(w.pin(1, l1, 0)).toBe(0);
    expect(w.frame(e)).toMatchObject({ type: 'writable', type_count: 1 });
  });

  test('§2.1: GLOBAL, NX and the AVAIL bits are fine in an L1e', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 0, pte(e!, PAGE_RW | G));
    w.put(l1!, 1, pte(e!, PAGE_RO | NX));
    w.put(l1!, 2, pte(e!, PAGE_RO | AVAIL | (0x7fn << 52n)));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.frame(e!)).toMatchObject({ count: 4, type_count: 1 });
  });

  test('§2.1: non-present entries may hold any bits', () => {
    const w = new World();
    const l1 = w.alloc();
    w.put(l1, 0, (0x7fn << 52n) | 0xe7en); // P clear, junk flag bits (address 0: no L1TF question, §7)
    expect(w.pin(1, l1)).toBe(0);
  });

  test('§2.2.2: an L1e with the all-ones INVALID mfn pattern → -EINVAL (not -EPERM)', () => {
    const w = new World();
    const l1 = w.alloc();
    w.put(l1, 0, pte(2 ** 40 - 1, PAGE_RO));
    expect(w.pin(1, l1)).toBe(EINVAL);
  });

  test('§2.2.4: an L1 mapping itself RW → -EBUSY', () => {
    const w = new World();
    const l1 = w.alloc();
    w.put(l1, 4, pte(l1, PAGE_RW));
    expect(w.pin(1, l1)).toBe(EBUSY);
    expectIdle(w, l1);
  });

  test('§2.2.5: an L1 mapping itself RO is fine (and takes a general ref on itself)', () => {
    const w = new World();
    const l1 = w.alloc();
    w.put(l1, 4, pte(l1, PAGE_RO));
    expect(w.pin(1, l1)).toBe(0);
    expect(w.frame(l1)).toMatchObject({ count: 3, type_count: 1 });
  });

  test('§2.2.4: an L1 mapping an L2 RW → -EBUSY; RO is fine', () => {
    const w = new World();
    const [l1, l2] = w.allocN(2);
    expect(w.pin(2, l2!)).toBe(0);
    w.put(l1!, 0, pte(l2!, PAGE_RW));
    expect(w.pin(1, l1!)).toBe(EBUSY);
    expect(w.frame(l2!)).toMatchObject({ type: 'l2', count: 2, type_count: 1 });
    w.put(l1!, 0, pte(l2!, PAGE_RO));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.frame(l2!)).toMatchObject({ type: 'l2', count: 3, type_count: 1 });
  });

  test('§2.2.4: mmu_update mapping a pinned L4 RW → -EBUSY, the entry is unchanged', () => {
    const w = new World();
    const [l1, l4] = w.allocN(2);
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.pin(4, l4!)).toBe(0);
    expect(w.update(1, l1!, 7, pte(l4!, PAGE_RW))).toBe(EBUSY);
    expect(w.read(l1!, 7)).toBe(0n);
    expect(w.update(1, l1!, 7, pte(l4!, PAGE_RO))).toBe(0);
    expect(pteMfn(w.read(l1!, 7))).toBe(l4!);
  });
});

describe('§6 L2/L3/L4 rules: target must be (or become) the next lower level; wrong type or not owned → -EINVAL; PSE/GLOBAL/PCD/PWT → -EINVAL (§2.1, §2.3)', () => {
  for (const level of [2, 3, 4] as const) {
    test.each(L234_BAD_FLAGS)(`§2.1: %s in an L${level}e → -EINVAL`, (_name, flag) => {
      const w = new World();
      const [top, below] = w.allocN(2);
      w.put(top!, 0, pte(below!, TABLE | flag));
      expect(w.pin(level, top!)).toBe(EINVAL);
      expectIdle(w, top!);
      expectIdle(w, below!);
    });
  }

  test('§2.1: NX is fine in L2–L4 entries', () => {
    const w = new World();
    const t = buildTree(w);
    w.put(t.l4, 0, pte(t.l3, TABLE | NX));
    w.put(t.l3, 0, pte(t.l2, TABLE | NX));
    w.put(t.l2, 0, pte(t.l1, TABLE | NX));
    expect(w.pin(4, t.l4)).toBe(0);
  });

  test('§2.3.2: an L2e to a frame in use as writable → -EINVAL', () => {
    const w = new World();
    const [l1, e, l2] = w.allocN(3);
    w.put(l1!, 0, pte(e!, PAGE_RW));
    expect(w.pin(1, l1!)).toBe(0);
    w.put(l2!, 0, pte(e!, TABLE));
    expect(w.pin(2, l2!)).toBe(EINVAL);
    expect(w.frame(e!)).toMatchObject({ type: 'writable', type_count: 1, count: 2 });
  });

  test('§2.3.2: an L2e to a pinned L3, an L3e to a pinned L1, an L4e to a pinned L2 → -EINVAL', () => {
    const w = new World();
    const [l1, l2, l3] = w.allocN(3);
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.pin(2, l2!)).toBe(0);
    expect(w.pin(3, l3!)).toBe(0);
    const [a, b, c] = w.allocN(3);
    w.put(a!, 0, pte(l3!, PAGE_RO));
    w.put(b!, 0, pte(l1!, PAGE_RO));
    w.put(c!, 0, pte(l2!, PAGE_RO));
    expect(w.pin(2, a!)).toBe(EINVAL);
    expect(w.pin(3, b!)).toBe(EINVAL);
    expect(w.pin(4, c!)).toBe(EINVAL);
    for (const x of [l1!, l2!, l3!]) expect(w.frame(x)).toMatchObject({ count: 2, type_count: 1 });
  });

  test('§2.3.2: a blank frame linked from an L4e becomes an L3 on demand', () => {
    const w = new World();
    const [l4, x] = w.allocN(2);
    w.put(l4!, 3, pte(x!, PAGE_RO));
    expect(w.pin(4, l4!)).toBe(0);
    expect(w.frame(x!)).toMatchObject({ type: 'l3', type_count: 1, validated: true, count: 2 });
  });

  test('§2.3: mmu_update of an L3e to a wrong-type frame → -EINVAL, the old entry stays', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.pin(4, t.l4)).toBe(0);
    const l1 = w.alloc();
    expect(w.pin(1, l1)).toBe(0);
    expect(w.update(1, t.l3, t.l3slot, pte(l1, TABLE))).toBe(EINVAL);
    expect(pteMfn(w.read(t.l3, t.l3slot))).toBe(t.l2);
    expect(w.frame(t.l2)).toMatchObject({ type_count: 1, validated: true });
  });
});

describe('§6 linear pagetables: same level, RO only, self-map free; another table must be validated, +1/+1, no chains (§2.4)', () => {
  test('§2.4: an L4 self-map RO is accepted with no refs', () => {
    const w = new World();
    const t = buildTree(w);
    w.put(t.l4, 510, pte(t.l4, PAGE_RO));
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.frame(t.l4)).toMatchObject({ count: 2, type_count: 1 });
    expect(w.unpin(t.l4)).toBe(0);
    expectIdle(w, t.l4);
  });

  test('§2.4: an L4 self-map RW → -EINVAL', () => {
    const w = new World();
    const l4 = w.alloc();
    w.put(l4, 510, pte(l4, PAGE_RW));
    const r = w.pinR(4, l4);
    expect(r.rc).toBe(EINVAL);
    expectIdle(w, l4);
  });

  test('§2.4/§2.7 (XSA-182): toggling RW on a recursive L4 entry via mmu_update fails', () => {
    const w = new World();
    const l4 = w.alloc();
    w.put(l4, 510, pte(l4, PAGE_RO));
    expect(w.pin(4, l4)).toBe(0);
    expect(w.update(1, l4, 510, pte(l4, PAGE_RW))).toBe(EINVAL);
    expect(w.read(l4, 510) & RW).toBe(0n);
    // adding a fresh self-map RO through mmu_update works
    expect(w.update(1, l4, 509, pte(l4, PAGE_RO))).toBe(0);
    expect(w.frame(l4)).toMatchObject({ count: 2, type_count: 1 });
  });

  test('§2.4: L2 → another validated L2, RO, is accepted with +1 general +1 type', () => {
    const w = new World();
    const [a, b] = w.allocN(2);
    expect(w.pin(2, b!)).toBe(0);
    w.put(a!, 0, pte(b!, PAGE_RO));
    expect(w.pin(2, a!)).toBe(0);
    expect(w.frame(b!)).toMatchObject({ type: 'l2', count: 3, type_count: 2 });
    expect(w.unpin(a!)).toBe(0);
    expect(w.frame(b!)).toMatchObject({ type: 'l2', count: 2, type_count: 1 });
  });

  test('§2.4: L4 → another validated L4, RO, via mmu_update: +1/+1; removing it gives them back', () => {
    const w = new World();
    const [a, b] = w.allocN(2);
    expect(w.pin(4, a!)).toBe(0);
    expect(w.pin(4, b!)).toBe(0);
    expect(w.update(1, a!, 300, pte(b!, PAGE_RO))).toBe(0);
    expect(w.frame(b!)).toMatchObject({ count: 3, type_count: 2 });
    expect(w.update(1, a!, 300, 0n)).toBe(0);
    expect(w.frame(b!)).toMatchObject({ count: 2, type_count: 1 });
  });

  test('§2.4: a linear entry to a table that is not validated at that level → -EINVAL', () => {
    const w = new World();
    const [a, b, x] = w.allocN(3);
    // b is no validated L2, and its content fails both as an L1 (PAT) and as an L2 (PSE)
    w.put(b!, 0, pte(x!, P | US | A | PSE));
    w.put(a!, 1, pte(b!, PAGE_RO));
    expect(w.pin(2, a!)).toBe(EINVAL);
    for (const m of [a!, b!, x!]) expectIdle(w, m);
  });

  test('§2.4 (XSA-240): a table with linear entries cannot be a linear target', () => {
    const w = new World();
    const [a, b, c] = w.allocN(3);
    expect(w.pin(2, b!)).toBe(0);
    w.put(a!, 0, pte(b!, PAGE_RO));
    expect(w.pin(2, a!)).toBe(0); // a has a linear entry now
    w.put(c!, 0, pte(a!, PAGE_RO));
    expect(w.pin(2, c!)).toBe(EINVAL);
    expectIdle(w, c!);
    expect(w.frame(a!)).toMatchObject({ count: 2, type_count: 1 });
  });

  test('§2.4 (XSA-240): a linear target cannot get linear entries of its own', () => {
    const w = new World();
    const [a, b, d] = w.allocN(3);
    expect(w.pin(2, b!)).toBe(0);
    expect(w.pin(2, d!)).toBe(0);
    w.put(a!, 0, pte(b!, PAGE_RO));
    expect(w.pin(2, a!)).toBe(0); // b is a linear target now
    expect(w.update(1, b!, 1, pte(d!, PAGE_RO))).toBe(EINVAL);
    expect(w.read(b!, 1)).toBe(0n);
    expect(w.frame(d!)).toMatchObject({ count: 2, type_count: 1 });
  });

  test('§2.4 (XSA-240): a table is a linear target at most 32,768 times (inc_linear_uses, mm.c:641: a 16-bit count)', () => {
    const w = new World({ domains: [{ ...DOM1, count: 128 }] });
    const target = w.alloc();
    expect(w.pin(2, target)).toBe(0);
    // 64 L2s of 512 linear entries: 32,768 uses (linear_pt_count -32768), each a type reference too
    const linkers = (n: number): number => {
      const l2 = w.alloc();
      for (let s = 0; s < n; s++) w.hv.store({ dom: 1, vcpu: 0 }, l2, s, pte(target, PAGE_RO));
      return l2;
    };
    for (let i = 0; i < 64; i++) expect(w.pin(2, linkers(512))).toBe(0);
    expect(w.frame(target)).toMatchObject({ type_count: 1 + 32768, count: 2 + 32768 });
    // the next use would wrap linear_pt_count: refused, and nothing is taken
    const last = linkers(1);
    expect(w.pin(2, last)).toBe(EINVAL);
    expect(w.frame(target)).toMatchObject({ type_count: 1 + 32768, count: 2 + 32768 });
    expectIdle(w, last);
  });

  test('§2.4 (XSA-240): removing a linear entry gives back both counts: the container may be a target, the target may link (dec_linear_*, mm.c:633, 657)', () => {
    const w = new World();
    const [a, b, c, d] = w.allocN(4);
    expect(w.pin(2, a!)).toBe(0);
    expect(w.pin(2, b!)).toBe(0);
    expect(w.pin(2, d!)).toBe(0);
    expect(w.update(1, a!, 0, pte(b!, PAGE_RO))).toBe(0); // a links, b is linked
    expect(w.update(1, a!, 0, 0n)).toBe(0);
    expect(w.update(1, b!, 1, pte(d!, PAGE_RO))).toBe(0); // b may link now
    w.put(c!, 0, pte(a!, PAGE_RO));
    expect(w.pin(2, c!)).toBe(0); // and a may be linked
    expect(w.frame(a!)).toMatchObject({ type_count: 2, count: 3 });
  });

  test('§2.4: with pv-linear-pt off, even a self-map is refused', () => {
    const w = new World({ linearPt: false });
    const l4 = w.alloc();
    w.put(l4, 510, pte(l4, PAGE_RO));
    expect(w.pin(4, l4)).toBe(EINVAL);
  });
});

describe('§6 L4 slots 256–271: skipped by validation, overwritten after promotion; mmu_update there → -EINVAL; VAs in the hole rejected (§2.5)', () => {
  test('§1.6/§2.5: guest junk in slots 256–271 is ignored by validation and gone after the pin', () => {
    const w = new World();
    const t = buildTree(w);
    // junk that would fail validation everywhere else: a foreign frame with PSE|PCD
    const junk = (i: number) => pte(0x2000 + i, P | RW | PSE | PCD) | (BigInt(i) << 52n);
    for (let s = 256; s <= 271; s++) w.put(t.l4, s, junk(s));
    expect(w.pin(4, t.l4)).toBe(0);
    for (let s = 256; s <= 271; s++) expect(w.read(t.l4, s), `slot ${s}`).not.toBe(junk(s));
    // guest slots are kept
    expect(pteMfn(w.read(t.l4, 0))).toBe(t.l3);
  });

  test('§2.5: mmu_update on L4 slots 256 and 271 → -EINVAL; 255 and 272 are guest slots', () => {
    const w = new World();
    const l4 = w.alloc();
    expect(w.pin(4, l4)).toBe(0);
    const before = w.read(l4, 256);
    const l3 = w.alloc();
    expect(w.update(1, l4, 256, pte(l3, TABLE))).toBe(EINVAL);
    expect(w.update(1, l4, 271, pte(l3, TABLE))).toBe(EINVAL);
    expect(w.read(l4, 256)).toBe(before);
    expectIdle(w, l3);
    expect(w.update(1, l4, 272, pte(l3, TABLE))).toBe(0);
    expect(w.frame(l3)).toMatchObject({ type: 'l3', type_count: 1 });
  });

  test('§2.5/§3.4: update_va_mapping on a VA in the hole → -EINVAL; the direct-map slot 272 works', () => {
    const w = new World();
    const t = buildTree(w, { l4slot: 272, maps: [] });
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.newBase(t.l4)).toBe(0);
    const e = w.alloc();
    expect(va(272, 0, 0, 0)).toBe(0xffff880000000000n);
    expect(w.uvm(1, 0xffff800000000000n, pte(e, PAGE_RW), UVMF.INVLPG).rc).toBe(EINVAL);
    expect(w.uvm(1, 0xffff87fffffff000n, pte(e, PAGE_RW), UVMF.INVLPG).rc).toBe(EINVAL);
    expect(w.frame(e)).toMatchObject({ count: 1, type_count: 0 });
    expect(w.uvm(1, t.va(3), pte(e, PAGE_RW), UVMF.INVLPG).rc).toBe(0);
    expect(pteMfn(w.read(t.l1, 3))).toBe(e);
    expect(w.access(1, 0xffff880000003000n, true)).toMatchObject({ rc: 0, mfn: e });
  });
});

describe('§7/§2.6 Xen\'s flag adjustments are stored and visible through read', () => {
  test('§2.6: L1 kernel entries get USER|GUEST_KERNEL, user entries GLOBAL|USER; L2/L3 +USER; L4 +USER+ACCESSED', () => {
    const w = new World();
    const t = buildTree(w, { maps: [{ slot: 0, flags: P | RW }, { slot: 1, flags: P | RW | US }] });
    w.put(t.l4, 0, pte(t.l3, P | RW));
    w.put(t.l3, 0, pte(t.l2, P | RW));
    w.put(t.l2, 0, pte(t.l1, P | RW));
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.read(t.l4, 0) & (US | A)).toBe(US | A);
    expect(w.read(t.l3, 0) & US).toBe(US);
    expect(w.read(t.l2, 0) & US).toBe(US);
    expect(w.read(t.l1, 0) & (US | GUEST_KERNEL)).toBe(US | GUEST_KERNEL);
    expect(w.read(t.l1, 1) & (US | G)).toBe(US | G);
    // the frames are unchanged
    expect(pteMfn(w.read(t.l1, 0))).toBe(t.data[0]);
    expect(pteMfn(w.read(t.l4, 0))).toBe(t.l3);
  });

  test('§2.6: mod_l1_entry (mmu_update) adjusts the stored entry too', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.update(1, l1!, 2, pte(e!, P | RW))).toBe(0);
    expect(w.read(l1!, 2) & (US | GUEST_KERNEL)).toBe(US | GUEST_KERNEL);
  });

  test('§2.6: entries of a frame that is not a page table are stored as written', () => {
    const w = new World();
    const e = w.alloc();
    expect(w.update(1, e, 2, pte(0x1234, P | RW))).toBe(0);
    expect(w.read(e, 2)).toBe(pte(0x1234, P | RW));
  });
});

describe('§7/§2.7 fast path: whitelisted-bit changes take no refs; RW is never fast-pathed', () => {
  test('§2.7: toggling A/D/NX/AVAIL/GLOBAL/USER on an L1e takes no refs', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 0, pte(e!, P | US));
    w.put(l1!, 1, pte(e!, P | RW | US));
    expect(w.pin(1, l1!)).toBe(0);
    const before = w.frame(e!);
    expect(before).toMatchObject({ count: 3, type_count: 1 });
    for (const extra of [A, D, NX, AVAIL, G, A | D | NX | AVAIL | G]) {
      expect(w.update(1, l1!, 0, pte(e!, P | US | extra))).toBe(0);
      expect(w.update(1, l1!, 1, pte(e!, P | RW | US | extra))).toBe(0);
      expect(w.frame(e!)).toMatchObject({ count: 3, type_count: 1 });
    }
    expect(w.update(1, l1!, 0, pte(e!, P))).toBe(0); // USER off
    expect(w.frame(e!)).toMatchObject({ count: 3, type_count: 1 });
  });

  test('§2.7: RO→RW goes through the full path: +1 writable; RW→RO gives it back', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 0, pte(e!, PAGE_RO));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.update(1, l1!, 0, pte(e!, PAGE_RW))).toBe(0);
    expect(w.frame(e!)).toMatchObject({ count: 2, type: 'writable', type_count: 1 });
    expect(w.update(1, l1!, 0, pte(e!, PAGE_RO))).toBe(0);
    expect(w.frame(e!)).toMatchObject({ count: 2, type_count: 0 });
  });

  test('§2.7: RO→RW on an entry mapping a page table fails with -EBUSY; the RO entry stays', () => {
    const w = new World();
    const [l1, l2] = w.allocN(2);
    expect(w.pin(2, l2!)).toBe(0);
    w.put(l1!, 0, pte(l2!, PAGE_RO));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.update(1, l1!, 0, pte(l2!, PAGE_RW))).toBe(EBUSY);
    expect(w.read(l1!, 0) & RW).toBe(0n);
    expect(pteMfn(w.read(l1!, 0))).toBe(l2!);
    expect(w.frame(l2!)).toMatchObject({ count: 3, type_count: 1 });
    // A/D on the same entry is fine
    expect(w.update(1, l1!, 0, pte(l2!, PAGE_RO | A | D))).toBe(0);
  });

  test('§2.7: the full path takes the new refs before putting the old: RW→RO on the only L2e keeps the L1 alive', () => {
    const w = new World();
    const t = buildTree(w, { maps: [{ slot: 1 }] });
    expect(w.pin(2, t.l2)).toBe(0);
    const stamp = w.frame(t.l1).tlbflush_timestamp;
    expect(w.ext(1, [{ cmd: 6 }]).rc).toBe(0); // tick the clock so that a demotion would show
    expect(w.update(1, t.l2, 0, pte(t.l1, PAGE_RO))).toBe(0);
    expect(w.frame(t.l1)).toMatchObject({ type_count: 1, validated: true, count: 2 });
    expect(w.frame(t.l1).tlbflush_timestamp).toBe(stamp);
    expect(w.frame(t.data[0]!)).toMatchObject({ type_count: 1, count: 2 });
  });

  test('§2.7: toggling A on an L2e keeps the L1\'s refs', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.update(1, t.l2, 0, pte(t.l1, P | RW | US))).toBe(0);
    expect(w.frame(t.l1)).toMatchObject({ count: 2, type_count: 1, validated: true });
    expect(w.mmu(1, [{ ptr: ma(t.l2, 0), val: pte(t.l1, TABLE) }]).rc).toBe(0);
    expect(w.frame(t.l1)).toMatchObject({ count: 2, type_count: 1, validated: true });
  });
});
