// §6 must-haves 3–6: get_page_type, recursive all-or-nothing validation, put_page_type, and the
// reference holders of §1.3.
import { describe, expect, test } from 'vitest';
import { EBUSY, EINVAL, EPERM, MMUEXT } from '../../hypervisor/index.ts';
import {
  MMIO_MFN,
  PAGE_RO,
  PAGE_RW,
  PSE,
  TABLE,
  World,
  buildTree,
  expectIdle,
  pte,
} from './helpers.ts';

describe('§6 get_page_type: type change only at count 0; mismatch -EINVAL + "Bad type" except the silent probes (§1.4)', () => {
  test('§1.4.3: a pinned L1 cannot be pinned as L2 (-EINVAL), and nothing changes', () => {
    const w = new World();
    const x = w.alloc();
    expect(w.pin(1, x)).toBe(0);
    const r = w.pinR(2, x);
    expect(r.rc).toBe(EINVAL);
    expect(w.frame(x)).toMatchObject({ type: 'l1', type_count: 1, validated: true, pinned: true, count: 2 });
  });

  test('§1.4.3/§3.6: the mismatch logs "Bad type (saw <taf> != exp <type>) for mfn <hex>"', () => {
    const w = new World();
    const x = w.alloc();
    expect(w.pin(1, x)).toBe(0);
    const r = w.pinR(2, x);
    expect(r.rc).toBe(EINVAL);
    const xen = r.refusals.flatMap((f) => f.xen).join('\n');
    expect(xen).toContain(`Bad type (saw 2c00000000000001 != exp 4000000000000000) for mfn ${x.toString(16)}`);
  });

  test('§1.4.2: at count 0 the type may change: an unpinned L1 can be pinned as L2', () => {
    const w = new World();
    const x = w.alloc();
    expect(w.pin(1, x)).toBe(0);
    expect(w.unpin(x)).toBe(0);
    expect(w.pin(2, x)).toBe(0);
    expect(w.frame(x)).toMatchObject({ type: 'l2', type_count: 1, validated: true, pinned: true });
    expect(w.frame(x).taf).toBe('4c00000000000001');
  });

  test('§1.4.3: a frame mapped writable (writable count > 0) cannot become an L1 (-EINVAL)', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 16, pte(e!, PAGE_RW));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.pin(1, e!)).toBe(EINVAL);
    expect(w.frame(e!)).toMatchObject({ type: 'writable', type_count: 1, count: 2 });
    // once the writable mapping is gone (count 0), the type may change
    expect(w.update(1, l1!, 16, 0n)).toBe(0);
    expect(w.pin(1, e!)).toBe(0);
    expect(w.frame(e!)).toMatchObject({ type: 'l1', type_count: 1, validated: true });
  });

  test('§1.4.3: the (have L2, want L1) probe of the linear path is silent; the write-perms refusal is logged', () => {
    const w = new World();
    const [a, b] = w.allocN(2);
    expect(w.pin(2, b!)).toBe(0);
    w.put(a!, 0, pte(b!, TABLE)); // L2 → L2 with RW: not allowed as linear (§2.4)
    const r = w.pinR(2, a!);
    expect(r.rc).toBe(EINVAL);
    const xen = r.refusals.flatMap((f) => f.xen).join('\n');
    expect(xen).not.toContain('Bad type');
    expect(xen).toContain('Attempt to create linear p.t. with write perms');
    expect(w.frame(b!)).toMatchObject({ type: 'l2', type_count: 1, count: 2 });
  });

  test.each([3, 4] as const)('§1.4.3: the (have L%i, want one lower) probe of a linear RW entry is silent too', (level) => {
    const w = new World();
    const [a, b] = w.allocN(2);
    expect(w.pin(level, b!)).toBe(0);
    w.put(a!, 7, pte(b!, TABLE));
    const r = w.pinR(level, a!);
    expect(r.rc).toBe(EINVAL);
    const xen = r.refusals.flatMap((f) => f.xen).join('\n');
    expect(xen).not.toContain('Bad type');
    expect(xen).toContain('Attempt to create linear p.t. with write perms');
  });

  test('§1.4.3: an L4 RW self-map probes (have L4, want L3) silently', () => {
    const w = new World();
    const l4 = w.alloc();
    w.put(l4, 400, pte(l4, PAGE_RW));
    const r = w.pinR(4, l4);
    expect(r.rc).toBe(EINVAL);
    expect(r.refusals.flatMap((f) => f.xen).join('\n')).not.toContain('Bad type');
  });

  test('§1.4.3: (have L3, want L1) is not one of the silent probes: "Bad type" is logged', () => {
    const w = new World();
    const [a, l3] = w.allocN(2);
    expect(w.pin(3, l3!)).toBe(0);
    w.put(a!, 0, pte(l3!, PAGE_RO));
    const r = w.pinR(2, a!);
    expect(r.rc).toBe(EINVAL);
    const xen = r.refusals.flatMap((f) => f.xen).join('\n');
    expect(xen).toContain(`Bad type (saw 6c00000000000001 != exp 2000000000000000) for mfn ${l3!.toString(16)}`);
  });
});

describe('§6 validation on 0→1: recursive, depth-first, all-or-nothing; innermost errno propagates (§1.4.6, §1.6)', () => {
  test('§1.6: pinning an L4 validates the whole tree, every L3/L2/L1 at type count 1', () => {
    const w = new World();
    const t = buildTree(w, { l4slot: 1, l3slot: 2, l2slot: 3, maps: [{ slot: 4 }, { slot: 5, flags: PAGE_RO }] });
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.frame(t.l3)).toMatchObject({ type: 'l3', type_count: 1, validated: true, pinned: false, count: 2 });
    expect(w.frame(t.l2)).toMatchObject({ type: 'l2', type_count: 1, validated: true, pinned: false, count: 2 });
    expect(w.frame(t.l1)).toMatchObject({ type: 'l1', type_count: 1, validated: true, pinned: false, count: 2 });
    expect(w.frame(t.data[0]!)).toMatchObject({ type: 'writable', type_count: 1, count: 2 });
    expect(w.frame(t.data[1]!)).toMatchObject({ type: 'none', type_count: 0, count: 2 });
  });

  test('§1.6: a failure deep down (-EBUSY: L1e maps the L2 RW) comes back from pin_l4 and leaves every frame idle', () => {
    const w = new World();
    const t = buildTree(w, { maps: [{ slot: 0 }, { slot: 1, flags: PAGE_RO }] });
    // the L1 maps its own L2 writable, after two good entries that must be released again
    w.put(t.l1, 7, pte(t.l2, PAGE_RW));
    expect(w.pin(4, t.l4)).toBe(EBUSY);
    for (const m of t.tables) expectIdle(w, m);
    // the data frames got their refs back: allocation ref only, no type count
    expect(w.frame(t.data[0]!)).toMatchObject({ count: 1, type_count: 0 });
    expect(w.frame(t.data[1]!)).toMatchObject({ count: 1, type_count: 0 });
    // and the tree is fine once the bad entry is gone
    w.put(t.l1, 7, 0n);
    expect(w.pin(4, t.l4)).toBe(0);
  });

  test('§1.6: depth-first: slot 0\'s deep -EPERM wins over slot 1\'s shallow -EINVAL', () => {
    const w = new World();
    // L4[0] → L3a → L2 → L1 whose entry maps MMIO (-EPERM, found at depth 4)
    const t = buildTree(w, { maps: [{ slot: 2, mfn: MMIO_MFN, flags: PAGE_RO }] });
    // L4[1] → L3b whose slot 0 has PSE (-EINVAL, found at depth 2)
    const [l3b, l2x] = w.allocN(2);
    w.put(t.l4, 1, pte(l3b!, TABLE));
    w.put(l3b!, 0, pte(l2x!, TABLE | PSE));
    expect(w.pin(4, t.l4)).toBe(EPERM);
    for (const m of [...t.tables, l3b!, l2x!]) expectIdle(w, m);
  });

  test('§1.4.6: validation failure of a lower level (not pinned, reached through a link) leaves it at count 0', () => {
    const w = new World();
    const [l2, l1] = w.allocN(2);
    w.put(l2!, 5, pte(l1!, TABLE));
    w.put(l1!, 0, pte(l1!, PAGE_RW)); // an L1 mapping itself RW
    expect(w.pin(2, l2!)).toBe(EBUSY);
    expectIdle(w, l2!);
    expectIdle(w, l1!);
  });

  test('§2.3.3/§1.6: a non-EINVAL error of the on-demand validation is returned as is; the linear rule is not tried', () => {
    const w = new World();
    const [a, b, l1] = w.allocN(3);
    expect(w.pin(1, l1!)).toBe(0);
    // b, validated as an L1 on demand, maps a pinned L1 writable: -EBUSY
    w.put(b!, 0, pte(l1!, PAGE_RW));
    w.put(a!, 0, pte(b!, PAGE_RO));
    expect(w.pin(2, a!)).toBe(EBUSY);
    expectIdle(w, a!);
    expectIdle(w, b!);
    expect(w.frame(l1!)).toMatchObject({ count: 2, type_count: 1 });
  });

  test('§2.3.2: lower levels need no pin: linking validates them on demand and the link holds the type ref', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.pin(2, t.l2)).toBe(0);
    expect(w.frame(t.l1)).toMatchObject({ type: 'l1', type_count: 1, validated: true, pinned: false });
  });
});

describe('§6 put_page_type: a PT at count 0 is demoted recursively and stamped; writable keeps type+validated (§1.5)', () => {
  test('§1.5: unpinning a pinned L4 returns every L3/L2/L1 to count 0 and drops the data frames\' refs', () => {
    const w = new World();
    const t = buildTree(w, { l4slot: 272, maps: [{ slot: 1 }, { slot: 2, flags: PAGE_RO }] });
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.unpin(t.l4)).toBe(0);
    for (const m of t.tables) expectIdle(w, m);
    // the type field keeps the old type
    expect(w.frame(t.l4).type).toBe('l4');
    expect(w.frame(t.l1).type).toBe('l1');
    expect(w.frame(t.data[0]!)).toMatchObject({ type: 'writable', type_count: 0, validated: true, count: 1 });
    expect(w.frame(t.data[0]!).taf).toBe('e400000000000000');
    expect(w.frame(t.data[1]!)).toMatchObject({ type_count: 0, count: 1 });
  });

  test('§1.5/§1.6: a tree of frames above 2^20 (mfns in the PTEs\' high word) validates, demotes and frees the same', () => {
    const high = { domid: 1, vcpus: 1, base: 0x100000, count: 16 };
    const w = new World({ domains: [high] });
    const t = buildTree(w, { l4slot: 272, maps: [{ slot: 1 }, { slot: 2, flags: PAGE_RO }] });
    w.put(t.l2, 9, pte(t.l2, PAGE_RO)); // a linear self-map
    expect(w.pin(4, t.l4)).toBe(0);
    for (const m of [t.l3, t.l2, t.l1]) expect(w.frame(m)).toMatchObject({ type_count: 1, validated: true, count: 2 });
    expect(w.frame(t.data[0]!)).toMatchObject({ type: 'writable', type_count: 1, count: 2 });
    expect(w.frame(t.data[1]!)).toMatchObject({ type_count: 0, count: 2 });
    expect(w.unpin(t.l4)).toBe(0);
    for (const m of t.tables) expectIdle(w, m);
    expect(w.frame(t.data[0]!)).toMatchObject({ type_count: 0, count: 1 });
    expect(w.frame(t.data[1]!)).toMatchObject({ count: 1 });
    expect(w.pin(4, t.l4)).toBe(0);
    w.destroy(1);
    for (const m of [...t.tables, ...t.data]) expect(w.frame(m)).toMatchObject({ owner: null, count: 0 });
  });

  test('§1.5: only an L4 skips slots 256–271 (Xen\'s): an L1\'s or L2\'s entries there are released on demotion', () => {
    const w = new World();
    const t = buildTree(w, { l2slot: 260, maps: [{ slot: 265 }] });
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.frame(t.data[0]!)).toMatchObject({ type_count: 1, count: 2 });
    expect(w.unpin(t.l4)).toBe(0);
    for (const m of t.tables) expectIdle(w, m);
    expect(w.frame(t.data[0]!)).toMatchObject({ type_count: 0, count: 1 });
  });

  test('§1.5: a lower table with its own pin survives the demotion of its parent', () => {
    const w = new World();
    const t = buildTree(w, { maps: [{ slot: 1 }] });
    expect(w.pin(1, t.l1)).toBe(0);
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.frame(t.l1)).toMatchObject({ type_count: 2, count: 3 });
    expect(w.unpin(t.l4)).toBe(0);
    for (const m of [t.l4, t.l3, t.l2]) expectIdle(w, m);
    expect(w.frame(t.l1)).toMatchObject({ type: 'l1', type_count: 1, validated: true, pinned: true, count: 2 });
    expect(w.frame(t.data[0]!)).toMatchObject({ type: 'writable', type_count: 1, count: 2 });
  });

  test('§1.5: a demoted table mapped writable is no table: its entries take nothing (validate_page promotes tables only, mm.c:2605)', () => {
    const w = new World();
    const [l1, e, m] = w.allocN(3);
    w.put(l1!, 3, pte(e!, PAGE_RW));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.unpin(l1!)).toBe(0);
    w.put(m!, 0, pte(l1!, PAGE_RW));
    expect(w.pin(1, m!)).toBe(0);
    expect(w.frame(l1!)).toMatchObject({ type: 'writable', type_count: 1, validated: true });
    expect(w.frame(e!)).toMatchObject({ type: 'writable', type_count: 0, count: 1 });
  });

  test('§1.5: a demoted table is re-validated from scratch on the next get (its contents were re-read)', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.unpin(l1!)).toBe(0);
    // at count 0 the frame is plain memory again: a store works, and the next pin validates it
    w.put(l1!, 3, pte(e!, PAGE_RW));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.frame(e!)).toMatchObject({ type: 'writable', type_count: 1, count: 2 });
  });
});

describe('§6 reference holders exactly as §1.3', () => {
  test('§1.3: a present RO L1e holds +1 general only', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 0, pte(e!, PAGE_RO));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.frame(e!)).toMatchObject({ count: 2, type: 'none', type_count: 0 });
  });

  test('§1.3: a present RW L1e holds +1 general +1 writable', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 0, pte(e!, PAGE_RW));
    w.put(l1!, 1, pte(e!, PAGE_RW));
    w.put(l1!, 2, pte(e!, PAGE_RO));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.frame(e!)).toMatchObject({ count: 4, type: 'writable', type_count: 2 });
  });

  test('§1.3: entries of a table that is not validated hold nothing', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 0, pte(e!, PAGE_RW));
    expect(w.frame(e!)).toMatchObject({ count: 1, type_count: 0 });
  });

  test('§1.3: L2e/L3e/L4e hold +1 general +1 type of the next level', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.frame(t.l4)).toMatchObject({ type: 'l4', count: 2, type_count: 1 });
    expect(w.frame(t.l3)).toMatchObject({ type: 'l3', count: 2, type_count: 1 });
    expect(w.frame(t.l2)).toMatchObject({ type: 'l2', count: 2, type_count: 1 });
    expect(w.frame(t.l1)).toMatchObject({ type: 'l1', count: 2, type_count: 1 });
    // a second L2e to the same L1 holds another pair
    expect(w.update(1, t.l2, 9, pte(t.l1, TABLE))).toBe(0);
    expect(w.frame(t.l1)).toMatchObject({ count: 3, type_count: 2 });
  });

  test('§1.3: an L4 self-map holds nothing', () => {
    const w = new World();
    const l4 = w.alloc();
    w.put(l4, 300, pte(l4, PAGE_RO));
    expect(w.pin(4, l4)).toBe(0);
    expect(w.frame(l4)).toMatchObject({ count: 2, type_count: 1 });
  });

  test('§1.3: a pin holds +1 general +1 type', () => {
    const w = new World();
    for (const level of [1, 2, 3, 4] as const) {
      const m = w.alloc();
      expect(w.pin(level, m)).toBe(0);
      expect(w.frame(m)).toMatchObject({ type: `l${level}`, count: 2, type_count: 1, pinned: true });
    }
  });

  test('§1.3: NEW_BASEPTR and NEW_USER_BASEPTR each hold +1 general +1 L4 type', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.newBase(t.l4)).toBe(0);
    expect(w.frame(t.l4)).toMatchObject({ count: 3, type_count: 2 });
    expect(w.newUserBase(t.l4)).toBe(0);
    expect(w.frame(t.l4)).toMatchObject({ count: 4, type_count: 3 });
    // the other vCPU's CR3 is another holder
    expect(w.newBase(t.l4, { dom: 1, vcpu: 1 })).toBe(0);
    expect(w.frame(t.l4)).toMatchObject({ count: 5, type_count: 4 });
  });

  test('§1.3: the transient writable ref of a plain mmu_update is dropped at once', () => {
    const w = new World();
    const e = w.alloc();
    expect(w.mmu(1, [{ ptr: BigInt(e) * 4096n + 8n, val: 0x1234n }]).rc).toBe(0);
    expect(w.frame(e)).toMatchObject({ count: 1, type: 'writable', type_count: 0 });
    expect(w.read(e, 1)).toBe(0x1234n);
  });

  test('§1.3: a pin via raw command numbers (MMUEXT_PIN_L1_TABLE=0 … L4=3) holds the same refs', () => {
    const w = new World();
    const m = w.allocN(4);
    const r = w.ext(1, [
      { cmd: 0, mfn: m[0]! },
      { cmd: 1, mfn: m[1]! },
      { cmd: 2, mfn: m[2]! },
      { cmd: 3, mfn: m[3]! },
    ]);
    expect(r).toMatchObject({ rc: 0, done: 4 });
    expect(MMUEXT.pin_l4_table).toBe(3);
    expect(m.map((x) => w.frame(x).type)).toEqual(['l1', 'l2', 'l3', 'l4']);
  });
});
