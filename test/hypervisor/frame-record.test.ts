// §6 must-haves 1–2: the per-MFN frame record (caf/taf like Xen) and get_page/put_page.
import { describe, expect, test } from 'vitest';
import { EBUSY, EINVAL, EPERM, UVMF } from '../../hypervisor/index.ts';
import {
  BEYOND_MFN,
  DOM2,
  FREE_MFN,
  MMIO_MFN,
  PAGE_RO,
  PAGE_RW,
  TABLE,
  World,
  buildTree,
  pte,
} from './helpers.ts';

describe('§6 frame record: owner, count_info with PGC_allocated, type_info bit layout (§1.1, §1.2)', () => {
  test('§1.1: a frame assigned to a domain is allocated|1, type none, count 0', () => {
    const w = new World();
    const f = w.frame(0x1000);
    expect(f).toMatchObject({
      owner: 1,
      allocated: true,
      count: 1,
      type: 'none',
      type_count: 0,
      validated: false,
      pinned: false,
    });
    // count_info = PGC_allocated (bit 63) | 1, printed %08lx; type_info = 0, printed %016lx (§1.1, §1.2, §3.6)
    expect(f.caf).toBe('8000000000000001');
    expect(f.taf).toBe('0000000000000000');
    // every frame of a domain starts the same way, and frames of other domains name their owner
    expect(w.frame(0x10ff)).toMatchObject({ owner: 1, count: 1, type: 'none' });
    expect(w.frame(DOM2.base)).toMatchObject({ owner: 2, count: 1, allocated: true });
  });

  test('§1.2: a pinned, validated L4 used once reads taf=8c00000000000001', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.pin(4, t.l4)).toBe(0);
    const f = w.frame(t.l4);
    expect(f.taf).toBe('8c00000000000001');
    expect(f).toMatchObject({ type: 'l4', type_count: 1, validated: true, pinned: true, count: 2 });
    // allocation ref + pin ref (§1.3)
    expect(f.caf).toBe('8000000000000002');
  });

  test('§1.2: a writable page mapped once reads taf=e400000000000001', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 3, pte(e!, PAGE_RW));
    expect(w.pin(1, l1!)).toBe(0);
    const f = w.frame(e!);
    expect(f.taf).toBe('e400000000000001');
    expect(f).toMatchObject({ type: 'writable', type_count: 1, validated: true, pinned: false, count: 2 });
    expect(f.caf).toBe('8000000000000002');
  });

  test('§1.2: a free-standing pinned L1 reads taf=2c00000000000001', () => {
    const w = new World();
    const l1 = w.alloc();
    expect(w.pin(1, l1)).toBe(0);
    expect(w.frame(l1).taf).toBe('2c00000000000001');
    expect(w.frame(l1)).toMatchObject({ type: 'l1', type_count: 1, validated: true, pinned: true, count: 2 });
  });

  test('§1.5: an unpinned L1 keeps its type at count 0, not validated (taf 2000000000000000)', () => {
    const w = new World();
    const l1 = w.alloc();
    expect(w.pin(1, l1)).toBe(0);
    expect(w.unpin(l1)).toBe(0);
    const f = w.frame(l1);
    expect(f).toMatchObject({ type: 'l1', type_count: 0, validated: false, pinned: false, count: 1 });
    expect(f.taf).toBe('2000000000000000');
    expect(f.caf).toBe('8000000000000001');
  });

  test('§1.5: a writable page at count 0 keeps type writable and validated (taf e400000000000000)', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 3, pte(e!, PAGE_RW));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.unpin(l1!)).toBe(0);
    const f = w.frame(e!);
    expect(f).toMatchObject({ type: 'writable', type_count: 0, validated: true, count: 1 });
    expect(f.taf).toBe('e400000000000000');
  });

  test('§1.1/§3.6: caf without PGC_allocated prints as %08lx (a pinned frame after decrease_reservation)', () => {
    const w = new World();
    const l1 = w.alloc();
    expect(w.pin(1, l1)).toBe(0);
    expect(w.decrease(1, [l1])).toBe(1);
    const f = w.frame(l1);
    expect(f).toMatchObject({ owner: 1, allocated: false, count: 1, pinned: true });
    expect(f.caf).toBe('00000001');
    expect(f.taf).toBe('2c00000000000001');
  });
});

describe('§6 get_page fails on a free frame or the wrong owner; put_page at count 0 frees and stamps (§1.1, §2.2)', () => {
  function pinL1Mapping(w: World, target: number, flags = PAGE_RO): { rc: number; l1: number } {
    const l1 = w.alloc();
    w.put(l1, 9, pte(target, flags));
    return { rc: w.pin(1, l1), l1 };
  }

  test('§2.2.3: an L1e to a free frame (RAM no domain owns) → -EBUSY', () => {
    const w = new World();
    const { rc, l1 } = pinL1Mapping(w, FREE_MFN);
    expect(rc).toBe(EBUSY);
    expect(w.frame(l1)).toMatchObject({ type_count: 0, validated: false, count: 1 });
  });

  test('§2.2.3: an L1e to a frame freed by decrease_reservation → -EBUSY', () => {
    const w = new World();
    const gone = w.alloc();
    expect(w.decrease(1, [gone])).toBe(1);
    expect(w.frame(gone)).toMatchObject({ owner: null, count: 0 });
    expect(pinL1Mapping(w, gone).rc).toBe(EBUSY);
  });

  test("§2.2.3: an L1e to another domain's frame → -EBUSY, RO or RW, and the foreign frame is untouched", () => {
    const w = new World();
    const foreign = DOM2.base + 3;
    expect(pinL1Mapping(w, foreign, PAGE_RO).rc).toBe(EBUSY);
    expect(pinL1Mapping(w, foreign, PAGE_RW).rc).toBe(EBUSY);
    expect(w.frame(foreign)).toMatchObject({ owner: 2, count: 1, type_count: 0 });
  });

  test('§2.2.3: update_va_mapping to a foreign frame → -EBUSY (mod_l1_entry uses the same check)', () => {
    const w = new World();
    const t = buildTree(w, { maps: [] });
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.newBase(t.l4)).toBe(0);
    expect(w.uvm(1, t.va(4), pte(DOM2.base, PAGE_RW), UVMF.INVLPG).rc).toBe(EBUSY);
    expect(w.read(t.l1, 4)).toBe(0n);
  });

  test('§2.2.2: an L1e to unowned MFN < 0x100 is MMIO → -EPERM for a domU', () => {
    const w = new World();
    expect(pinL1Mapping(w, MMIO_MFN, PAGE_RO).rc).toBe(EPERM);
    expect(pinL1Mapping(w, MMIO_MFN, PAGE_RW).rc).toBe(EPERM);
  });

  test("§2.2.2: an L1e beyond the machine's RAM (not mfn_valid) → -EPERM", () => {
    const w = new World();
    expect(pinL1Mapping(w, BEYOND_MFN, PAGE_RO).rc).toBe(EPERM);
  });

  test('§2.3: an L2e to a foreign frame → -EINVAL ("Could not get page ref")', () => {
    const w = new World();
    const l2 = w.alloc();
    w.put(l2, 0, pte(DOM2.base + 1, TABLE));
    expect(w.pin(2, l2)).toBe(EINVAL);
    expect(w.frame(DOM2.base + 1)).toMatchObject({ owner: 2, count: 1, type: 'none', type_count: 0 });
  });

  test('§1.1/§1.7: put_page to count 0 frees the frame and stamps it with the clock', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 1, pte(e!, PAGE_RW));
    expect(w.pin(1, l1!)).toBe(0);
    // decrease_reservation drops only the allocation ref: the mapping keeps the frame alive (§4.4)
    expect(w.decrease(1, [e!])).toBe(1);
    expect(w.frame(e!)).toMatchObject({ owner: 1, allocated: false, count: 1, type: 'writable', type_count: 1 });
    // removing the last mapping drops the last general ref: the frame is freed
    expect(w.update(1, l1!, 1, 0n)).toBe(0);
    const f = w.frame(e!);
    expect(f).toMatchObject({ owner: null, count: 0, allocated: false });
    expect(f.tlbflush_timestamp).toBe(w.clock);
  });

  test('§1.5/§1.7: a type count reaching 0 stamps the frame with the current clock', () => {
    const w = new World();
    const l1 = w.alloc();
    expect(w.pin(1, l1)).toBe(0);
    expect(w.ext(1, [{ cmd: 6 }]).rc).toBe(0); // tlb_flush_local ticks the clock
    const now = w.clock;
    expect(w.unpin(l1)).toBe(0);
    expect(w.frame(l1).tlbflush_timestamp).toBe(now);
  });

  test('§1.5/§1.7: only the last writable type reference stamps the frame, not one of several (_put_final_page_type)', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 1, pte(e!, PAGE_RW));
    w.put(l1!, 2, pte(e!, PAGE_RW));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.frame(e!)).toMatchObject({ type: 'writable', type_count: 2 });
    const stamp = w.frame(e!).tlbflush_timestamp;
    expect(w.ext(1, [{ cmd: 6 }]).rc).toBe(0); // tlb_flush_local ticks the clock
    expect(w.clock).toBeGreaterThan(stamp);
    expect(w.update(1, l1!, 2, 0n)).toBe(0); // one of two writable mappings goes
    expect(w.frame(e!)).toMatchObject({ type_count: 1, tlbflush_timestamp: stamp });
    const now = w.clock;
    expect(w.update(1, l1!, 1, 0n)).toBe(0); // the last one: the type count reaches 0
    expect(w.frame(e!)).toMatchObject({ type_count: 0, tlbflush_timestamp: now });
  });
});
