// §6 must-haves: domain destruction (§4.5) and decrease_reservation without unpinning (§4.4);
// several domains side by side, and the reallocation flush (§1.7 (b)).
import { describe, expect, test } from 'vitest';
import { EBUSY, EFAULT, MMUEXT, UVMF } from '../../hypervisor/index.ts';
import { DOM0, DOM1, DOM2, PAGE_RO, PAGE_RW, TABLE, World, buildTree, dom0MapsDom1Frame, ma, pte } from './helpers.ts';

const V0 = { dom: 1, vcpu: 0 };
const V1 = { dom: 1, vcpu: 1 };

/** Every frame of `dom` is free: no owner, count 0, no type count, not pinned. */
function expectAllFree(w: World, frames: number[]): void {
  const bad = frames
    .map((m) => ({ m, f: w.frame(m) }))
    .filter(({ f }) => f.owner !== null || f.count !== 0 || f.type_count !== 0 || f.pinned || f.allocated)
    .map(({ m, f }) => `${m.toString(16)}: owner ${f.owner} caf ${f.caf} taf ${f.taf}`);
  expect(bad).toEqual([]);
}

/** A domain-1 history with pins, links, CR3s on both vCPUs, a user base, and linear entries. */
function richHistory(w: World): void {
  const a = buildTree(w, { maps: [{ slot: 1 }, { slot: 2, flags: PAGE_RO }] });
  const b = buildTree(w, { l4slot: 272, maps: [{ slot: 1 }] });
  // b's L4 also reaches a's L3 (a shared subtree), and a's L1 is mapped RO from b's L1
  w.put(b.l4, 1, pte(a.l3, TABLE));
  w.put(b.l1, 5, pte(a.l1, PAGE_RO));
  // self-maps in both L4s
  w.put(a.l4, 510, pte(a.l4, PAGE_RO));
  w.put(b.l4, 510, pte(b.l4, PAGE_RO));
  expect(w.pin(4, a.l4)).toBe(0);
  expect(w.pin(4, b.l4)).toBe(0);
  expect(w.pin(1, a.l1)).toBe(0);
  // the two L4s map each other linearly (only one direction can exist at a time, XSA-240)
  expect(w.update(1, a.l4, 300, pte(b.l4, PAGE_RO))).toBe(0);
  expect(w.update(1, b.l4, 300, pte(a.l4, PAGE_RO))).not.toBe(0);
  // an L2 linearly mapping another L2
  expect(w.update(1, b.l2, 9, pte(a.l2, PAGE_RO))).toBe(0);
  expect(w.newBase(a.l4, V0)).toBe(0);
  expect(w.newBase(b.l4, V1)).toBe(0);
  expect(w.newUserBase(b.l4, V0)).toBe(0);
  const e = w.alloc();
  expect(w.uvm(V0, a.va(7), pte(e, PAGE_RW), UVMF.INVLPG).rc).toBe(0);
  expect(w.access(V0, a.va(7), true).rc).toBe(0);
  // a free-standing pinned L2 and a dead L1
  const l2 = w.alloc();
  expect(w.pin(2, l2)).toBe(0);
  const dead = w.alloc();
  expect(w.pin(1, dead)).toBe(0);
  expect(w.unpin(dead)).toBe(0);
}

describe('§6 domain destruction: CR3s put, everything unpinned, allocation refs dropped, L4→L3→L2 force-demoted; every frame free (§4.5)', () => {
  test('§4.5: destroy_domain after a pinned, linked, CR3-loaded history frees every frame', () => {
    const w = new World();
    richHistory(w);
    w.destroy(1);
    expect(w.hv.hasDomain(1)).toBe(false);
    expectAllFree(w, w.framesOf(1));
    // the other domain is untouched
    for (const m of w.framesOf(2)) expect(w.frame(m)).toMatchObject({ owner: 2, count: 1, allocated: true });
  });

  test('§4.5: two L4s with linear entries, each pinned, are freed', () => {
    const w = new World();
    const [a, b, c] = w.allocN(3);
    expect(w.pin(4, a!)).toBe(0);
    expect(w.pin(4, b!)).toBe(0);
    expect(w.pin(4, c!)).toBe(0);
    expect(w.update(1, a!, 300, pte(b!, PAGE_RO))).toBe(0);
    expect(w.update(1, c!, 301, pte(b!, PAGE_RO))).toBe(0);
    expect(w.frame(b!)).toMatchObject({ count: 4, type_count: 3 });
    w.destroy(1);
    expectAllFree(w, w.framesOf(1));
  });

  test('§4.5: a linked-to L4 still typed when its pass comes is force-devalidated: its subtree is freed (domain.c relinquish_memory)', () => {
    // relinquish_memory (domain.c:2233) devalidates a top-level table whose type count is not 0
    // after its pin is dropped: here b, held by c's linear entry (c comes later in the pass).
    const w = new World();
    const [b, c] = w.allocN(2);
    const t = buildTree(w, { l4: b!, l4slot: 2 });
    expect(w.pin(4, b!)).toBe(0);
    expect(w.pin(4, c!)).toBe(0);
    expect(w.update(1, c!, 300, pte(b!, PAGE_RO))).toBe(0);
    expect(w.frame(t.l3)).toMatchObject({ type: 'l3', type_count: 1, validated: true });
    w.destroy(1);
    expectAllFree(w, w.framesOf(1));
  });

  test('§4.5: a domain whose tables are only held by links and a CR3 (nothing pinned) is freed', () => {
    const w = new World();
    const t = buildTree(w, { maps: [{ slot: 1 }, { slot: 2 }] });
    expect(w.newBase(t.l4, V0)).toBe(0);
    w.destroy(1);
    expectAllFree(w, w.framesOf(1));
  });

  test('§4.5: a domain with nothing done is freed', () => {
    const w = new World();
    w.destroy(2);
    expectAllFree(w, w.framesOf(2));
    expect(w.frame(DOM1.base)).toMatchObject({ owner: 1, count: 1 });
  });

  test('§2.2.3/§4.5: frames of a destroyed domain are free: mapping one → -EBUSY', () => {
    const w = new World();
    w.destroy(2);
    const l1 = w.alloc();
    w.put(l1, 0, pte(DOM2.base, PAGE_RO));
    expect(w.pin(1, l1)).toBe(EBUSY);
  });

  test('§1.7(b): frames handed out again are filtered-flushed on every CPU that may still cache them', () => {
    const w = new World();
    richHistory(w);
    w.destroy(1);
    // domain 2's vCPU has not flushed since domain 1's frames were freed
    const mark = w.flushes.length;
    w.createDomain({ ...DOM1, domid: 3 });
    const ev = w.flushesSince(mark).filter((f) => f.cause === 'realloc');
    expect(ev.some((f) => f.dom === 2 && f.vcpus.includes(0))).toBe(true);
    for (const m of w.framesOf(3)) expect(w.frame(m)).toMatchObject({ owner: 3, count: 1, type_count: 0, allocated: true });
  });

  test('§1.7(b): a CPU that flushed after the frames were freed is filtered out on reallocation', () => {
    const w = new World();
    richHistory(w);
    w.destroy(1);
    expect(w.ext(2, [{ cmd: MMUEXT.tlb_flush_local }]).rc).toBe(0);
    const mark = w.flushes.length;
    w.createDomain({ ...DOM1, domid: 3 });
    const ev = w.flushesSince(mark).filter((f) => f.cause === 'realloc' && f.dom === 2);
    expect(ev.flatMap((f) => f.vcpus)).toEqual([]);
  });
});

describe('§1.8.6: a stale TLB entry never reaches another domain\'s reuse of the frame', () => {
  test('§1.7(b)/§1.8.6: freed with a stale writable TLB entry, reallocated to a new domain: the entry is flushed first', () => {
    const w = new World();
    const t = buildTree(w, { maps: [] });
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.newBase(t.l4, V0)).toBe(0);
    const e = DOM1.base + DOM1.count - 1; // the last frame of domain 1, never used so far
    const v = t.va(3);
    expect(w.uvm(V0, v, pte(e, PAGE_RW), UVMF.INVLPG).rc).toBe(0);
    expect(w.access(V0, v, true)).toMatchObject({ rc: 0, mfn: e });
    expect(w.uvm(V0, v, 0n, UVMF.NONE).rc).toBe(0);
    expect(w.decrease(1, [e])).toBe(1);
    expect(w.frame(e)).toMatchObject({ owner: null, count: 0 });
    // the guest still reaches the freed frame through its stale entry (it only harms itself, §1.8)
    expect(w.access(V0, v, true)).toMatchObject({ rc: 0, mfn: e, stale: true });
    const mark = w.flushes.length;
    w.createDomain({ domid: 3, vcpus: 1, base: e, count: 1 });
    const ev = w.flushesSince(mark).filter((f) => f.cause === 'realloc' && f.dom === 1);
    expect(ev.flatMap((f) => f.vcpus)).toContain(0);
    expect(w.access(V0, v, true).rc).toBe(EFAULT);
    expect(w.frame(e)).toMatchObject({ owner: 3, count: 1 });
  });

  test('§4.5: a frame of a dead domain still mapped by a privileged domain is freed when that mapping goes', () => {
    const w = new World({ domains: [DOM1, DOM2, DOM0] });
    const { l1, x } = dom0MapsDom1Frame(w);
    w.destroy(1);
    expect(w.frame(x)).toMatchObject({ count: 1, allocated: false });
    // mapping it again is refused (its owner is gone): an outcome, not a crash
    expect(w.update(0, l1, 1, pte(x, PAGE_RO))).toBe(EBUSY);
    expect(w.update(0, l1, 0, 0n)).toBe(0);
    expect(w.frame(x)).toMatchObject({ owner: null, count: 0 });
    expectAllFree(w, w.framesOf(1));
  });
});

describe('§6 decrease_reservation does not unpin; a pinned frame survives until unpinned (§4.4)', () => {
  test('§4.4: a pinned L1 keeps its pin and type after decrease_reservation, and is freed by the unpin', () => {
    const w = new World();
    const [l1, e] = w.allocN(2);
    w.put(l1!, 0, pte(e!, PAGE_RW));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.decrease(1, [l1!])).toBe(1);
    expect(w.frame(l1!)).toMatchObject({ owner: 1, allocated: false, pinned: true, type: 'l1', type_count: 1, validated: true, count: 1 });
    // its entries still hold their refs
    expect(w.frame(e!)).toMatchObject({ count: 2, type_count: 1 });
    expect(w.unpin(l1!)).toBe(0);
    expect(w.frame(l1!)).toMatchObject({ owner: null, count: 0, type_count: 0, pinned: false });
    expect(w.frame(e!)).toMatchObject({ count: 1, type_count: 0 });
  });

  test('§4.4: a pinned L4 tree survives decrease_reservation of all its frames until the unpin frees it', () => {
    const w = new World();
    const t = buildTree(w, { maps: [{ slot: 1 }] });
    expect(w.pin(4, t.l4)).toBe(0);
    const frames = [...t.tables, ...t.data];
    expect(w.decrease(1, frames)).toBe(frames.length);
    for (const m of frames) expect(w.frame(m)).toMatchObject({ owner: 1, allocated: false });
    expect(w.frame(t.l1)).toMatchObject({ count: 1, type_count: 1, validated: true });
    expect(w.unpin(t.l4)).toBe(0);
    expectAllFree(w, frames);
  });

  test('§4.4: an unreferenced frame is freed at once and stamped', () => {
    const w = new World();
    const e = w.alloc();
    expect(w.decrease(1, [e])).toBe(1);
    expect(w.frame(e)).toMatchObject({ owner: null, count: 0, allocated: false });
    expect(w.frame(e).tlbflush_timestamp).toBe(w.clock);
  });

  test('§4.4: a frame in use as CR3 stays until the vCPU switches away', () => {
    const w = new World();
    const a = buildTree(w);
    const b = buildTree(w);
    expect(w.newBase(a.l4)).toBe(0);
    expect(w.decrease(1, [a.l4])).toBe(1);
    expect(w.frame(a.l4)).toMatchObject({ owner: 1, allocated: false, count: 1, type_count: 1 });
    expect(w.newBase(b.l4)).toBe(0);
    expect(w.frame(a.l4)).toMatchObject({ owner: null, count: 0 });
  });

  test('§4.4: decrease_reservation of a foreign frame does nothing (0 extents done)', () => {
    const w = new World();
    expect(w.decrease(1, [DOM2.base])).toBe(0);
    expect(w.frame(DOM2.base)).toMatchObject({ owner: 2, count: 1, allocated: true });
  });

  test('§4.4: decrease_reservation twice on a still-referenced frame: the second finds no allocation ref', () => {
    const w = new World();
    const l1 = w.alloc();
    expect(w.pin(1, l1)).toBe(0);
    expect(w.decrease(1, [l1])).toBe(1);
    w.decrease(1, [l1]);
    // whatever the rc, the pin's ref must still be there (no underflow)
    expect(w.frame(l1)).toMatchObject({ owner: 1, count: 1, pinned: true });
  });
});
