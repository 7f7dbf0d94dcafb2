// §6 must-haves: mmuext_op (§3.3) with every command's number and errno; pin/unpin (§4.1, §4.2);
// NEW_BASEPTR / NEW_USER_BASEPTR (§4.3).
import { describe, expect, test } from 'vitest';
import { EACCES, EBUSY, EINVAL, ENOSYS, EOPNOTSUPP, MMUEXT } from '../../hypervisor/index.ts';
import { DOM0, DOM1, DOM2, PAGE_RO, PAGE_RW, TABLE, World, buildTree, expectIdle, pte, pteMfn } from './helpers.ts';

const V1 = { dom: 1, vcpu: 1 };

describe('§6 mmuext_op: all commands with the numeric values and errnos of §3.3; stop at the first error; done', () => {
  test('§3.3: the command numbers are Xen\'s', () => {
    expect(MMUEXT).toEqual({
      pin_l1_table: 0,
      pin_l2_table: 1,
      pin_l3_table: 2,
      pin_l4_table: 3,
      unpin_table: 4,
      new_baseptr: 5,
      tlb_flush_local: 6,
      invlpg_local: 7,
      tlb_flush_multi: 8,
      invlpg_multi: 9,
      tlb_flush_all: 10,
      invlpg_all: 11,
      flush_cache: 12,
      set_ldt: 13,
      new_user_baseptr: 15,
      clear_page: 16,
      copy_page: 17,
      flush_cache_global: 18,
      mark_super: 19,
      unmark_super: 20,
    });
  });

  test('§3.3: the flush commands succeed for a domU (6, 7, 8, 9, 10, 11) and report guest flushes', () => {
    const w = new World();
    const mark = w.flushes.length;
    const r = w.ext(1, [
      { cmd: 6 },
      { cmd: 7, linear_addr: 0x5000n },
      { cmd: 8, vcpumask: [0, 1] },
      { cmd: 9, linear_addr: 0x5000n, vcpumask: [1] },
      { cmd: 10 },
      { cmd: 11, linear_addr: 0x5000n },
    ]);
    expect(r).toMatchObject({ rc: 0, done: 6 });
    const ev = w.flushesSince(mark);
    expect(ev.every((e) => e.cause === 'guest' && e.dom === 1)).toBe(true);
    expect(ev.some((e) => e.va === undefined && e.vcpus.includes(0) && e.vcpus.includes(1))).toBe(true);
    expect(ev.some((e) => e.va === 0x5000n && e.vcpus.length === 1 && e.vcpus[0] === 1)).toBe(true);
  });

  test('§3.3: INVLPG of a VA in the hole is silently skipped (rc 0)', () => {
    const w = new World();
    expect(w.ext(1, [{ cmd: 7, linear_addr: 0xffff800000001000n }]).rc).toBe(0);
    expect(w.ext(1, [{ cmd: 11, linear_addr: 0xffff800000001000n }]).rc).toBe(0);
    // XSA-279: a non-canonical VA is skipped too
    expect(w.ext(1, [{ cmd: 11, linear_addr: 0x0000800000000000n }]).rc).toBe(0);
    expect(w.ext(1, [{ cmd: 9, linear_addr: 0x8000_0000_0000_1000n, vcpumask: [0, 1] }]).rc).toBe(0);
  });

  test.each([8, 9])('§3.3: cmd %i (TLB_FLUSH_MULTI / INVLPG_MULTI) with an unreadable vcpumask → -EINVAL', (cmd) => {
    const w = new World();
    expect(w.ext(1, [{ cmd, linear_addr: 0x5000n, vcpumask: null }])).toMatchObject({ rc: EINVAL, done: 0 });
  });

  // Xen 4.17 (mm.c:3805, do_mmuext_op) answers an unpermitted FLUSH_CACHE_GLOBAL -EINVAL; master
  // (the spec's §3.3) -EACCES. Issue 12 made 4.17 the default; this used to assert -EACCES for both.
  test.each([
    [12, '4.17', EACCES],
    [18, '4.17', EINVAL],
    [12, 'master', EACCES],
    [18, 'master', EACCES],
  ] as const)('§3.3: cmd %i (FLUSH_CACHE / FLUSH_CACHE_GLOBAL), Xen %s → %i for a domU, 0 for a privileged domain', (cmd, xenVersion, rc) => {
    const w = new World({ domains: [DOM1, DOM0], xenVersion });
    expect(w.ext(1, [{ cmd }])).toMatchObject({ rc, done: 0 });
    expect(w.ext(0, [{ cmd }])).toMatchObject({ rc: 0, done: 1 });
  });

  test('§3.3/§2.5: SET_LDT (13): good args succeed; >8192 entries, unaligned or non-guest base → -EINVAL', () => {
    const w = new World();
    expect(w.ext(1, [{ cmd: 13, linear_addr: 0x10000n, nr_ents: 16 }]).rc).toBe(0);
    expect(w.ext(1, [{ cmd: 13, linear_addr: 0x10000n, nr_ents: 8192 }]).rc).toBe(0);
    expect(w.ext(1, [{ cmd: 13, linear_addr: 0n, nr_ents: 0 }]).rc).toBe(0);
    expect(w.ext(1, [{ cmd: 13, linear_addr: 0x10000n, nr_ents: 8193 }]).rc).toBe(EINVAL);
    expect(w.ext(1, [{ cmd: 13, linear_addr: 0x10008n, nr_ents: 16 }]).rc).toBe(EINVAL);
    expect(w.ext(1, [{ cmd: 13, linear_addr: 0xffff800000000000n, nr_ents: 16 }]).rc).toBe(EINVAL);
    const r = w.ext(1, [{ cmd: 13, linear_addr: 0x10008n, nr_ents: 16 }]);
    expect(r.refusals.flatMap((f) => f.xen).join('\n')).toContain('Bad args to SET_LDT');
  });

  test('§3.3: CLEAR_PAGE (16) zeroes a data frame; a live page table → -EINVAL', () => {
    const w = new World();
    const [e, l1] = w.allocN(2);
    w.put(e!, 9, 0x1234n);
    expect(w.ext(1, [{ cmd: 16, mfn: e! }]).rc).toBe(0);
    expect(w.read(e!, 9)).toBe(0n);
    w.put(l1!, 9, pte(e!, PAGE_RO));
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.ext(1, [{ cmd: 16, mfn: l1! }]).rc).toBe(EINVAL);
    expect(pteMfn(w.read(l1!, 9))).toBe(e!);
    expect(w.ext(1, [{ cmd: 16, mfn: DOM2.base }]).rc).toBe(EINVAL);
  });

  test('§3.3: COPY_PAGE (17) copies; a foreign source, a foreign or live-table destination → -EINVAL', () => {
    const w = new World();
    const [src, dst, l1] = w.allocN(3);
    w.put(src!, 3, 0xabcn);
    expect(w.ext(1, [{ cmd: 17, mfn: dst!, src_mfn: src! }]).rc).toBe(0);
    expect(w.read(dst!, 3)).toBe(0xabcn);
    expect(w.ext(1, [{ cmd: 17, mfn: dst!, src_mfn: DOM2.base }]).rc).toBe(EINVAL);
    expect(w.ext(1, [{ cmd: 17, mfn: DOM2.base, src_mfn: src! }]).rc).toBe(EINVAL);
    expect(w.pin(1, l1!)).toBe(0);
    expect(w.ext(1, [{ cmd: 17, mfn: l1!, src_mfn: src! }]).rc).toBe(EINVAL);
    expect(w.read(l1!, 3)).toBe(0n);
    // a live page table can be the source (it only needs get_page)
    expect(w.ext(1, [{ cmd: 17, mfn: dst!, src_mfn: l1! }]).rc).toBe(0);
    expect(w.read(dst!, 3)).toBe(0n);
  });

  test.each([19, 20])('§2.1/§3.3: cmd %i (MARK_SUPER / UNMARK_SUPER) → -EOPNOTSUPP', (cmd) => {
    const w = new World();
    expect(w.ext(1, [{ cmd, mfn: w.alloc() }])).toMatchObject({ rc: EOPNOTSUPP, done: 0 });
  });

  test.each([14, 21, 99])('§3.3: cmd %i → -ENOSYS', (cmd) => {
    const w = new World();
    expect(w.ext(1, [{ cmd }])).toMatchObject({ rc: ENOSYS, done: 0 });
  });

  test('§3.3: the loop stops at the first failing op: done = ops completed, later ops not run', () => {
    const w = new World();
    const [x, y] = w.allocN(2);
    const r = w.ext(1, [
      { cmd: MMUEXT.pin_l1_table, mfn: x! },
      { cmd: MMUEXT.pin_l1_table, mfn: x! }, // already pinned
      { cmd: MMUEXT.pin_l1_table, mfn: y! },
    ]);
    expect(r).toMatchObject({ rc: EINVAL, done: 1 });
    expect(w.frame(x!)).toMatchObject({ pinned: true, type_count: 1, count: 2 });
    expect(w.frame(y!)).toMatchObject({ pinned: false, type_count: 0, count: 1 });
    expect(r.refusals[0]).toMatchObject({ at: 'ops[1]', rc: EINVAL });
  });
});

describe('§3.3 foreigndom in mmuext_op: privileged pins of another domain\'s frames; local-only ops → -EPERM', () => {
  test('§3.3/§4.1.1: a privileged domain pins and unpins another domain\'s frame with FD = its owner', () => {
    const w = new World({ domains: [DOM1, DOM2, DOM0] });
    const x = w.alloc(1);
    expect(w.ext(0, [{ cmd: MMUEXT.pin_l1_table, mfn: x }], 1)).toMatchObject({ rc: 0, done: 1 });
    expect(w.frame(x)).toMatchObject({ owner: 1, type: 'l1', pinned: true, count: 2 });
    // with FD = self, the frame is not the caller's: -EINVAL
    expect(w.ext(0, [{ cmd: MMUEXT.unpin_table, mfn: x }])).toMatchObject({ rc: EINVAL });
    expect(w.ext(0, [{ cmd: MMUEXT.unpin_table, mfn: x }], 1)).toMatchObject({ rc: 0 });
  });

  test.each([
    ['new_baseptr', { cmd: MMUEXT.new_baseptr, mfn: 0x1000 }],
    ['tlb_flush_local', { cmd: MMUEXT.tlb_flush_local }],
    ['invlpg_local', { cmd: MMUEXT.invlpg_local, linear_addr: 0x1000n }],
    ['tlb_flush_all', { cmd: MMUEXT.tlb_flush_all }],
  ] as const)('§3.3: %s with a foreign FD → -EPERM', (_n, o) => {
    const w = new World({ domains: [DOM1, DOM2, DOM0] });
    expect(w.ext(0, [{ ...o }], 1)).toMatchObject({ rc: -1, done: 0 });
  });

  test('§3.3: a domU naming another domain in mmuext_op is refused', () => {
    const w = new World();
    const r = w.ext(1, [{ cmd: MMUEXT.pin_l1_table, mfn: DOM2.base }], 2);
    expect(r.rc).toBeLessThan(0);
    expect(w.frame(DOM2.base)).toMatchObject({ pinned: false, count: 1 });
  });
});

describe('facade contract (hypervisor/index.ts: "a refusal is a result, never an exception")', () => {
  // MmuextOp's arguments are optional in types.ts; Xen reads whatever the union holds (0 when unset).
  test.each([
    ['pin_l1_table without mfn', { cmd: MMUEXT.pin_l1_table }],
    ['unpin_table without mfn', { cmd: MMUEXT.unpin_table }],
    ['new_baseptr without mfn', { cmd: MMUEXT.new_baseptr }],
    ['clear_page without mfn', { cmd: MMUEXT.clear_page }],
    ['copy_page without src_mfn', { cmd: MMUEXT.copy_page, mfn: 0x1000 }],
    ['set_ldt without linear_addr / nr_ents', { cmd: MMUEXT.set_ldt }],
    ['invlpg_local without linear_addr', { cmd: MMUEXT.invlpg_local }],
  ] as const)('§3.3: %s is answered with an rc, not a thrown exception', (_n, o) => {
    const w = new World();
    let rc: number | undefined;
    expect(() => {
      rc = w.ext(1, [{ ...o }]).rc;
    }).not.toThrow();
    expect(rc! <= 0).toBe(true);
  });
});

describe('§6 pin: general+type ref, validation, pinned bit; double pin -EINVAL with refs back; unpin (§4.1, §4.2)', () => {
  test('§4.1.3: a double pin → -EINVAL ("already pinned") and the extra refs are given back', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.pin(4, t.l4)).toBe(0);
    const before = t.tables.map((m) => w.frame(m));
    const r = w.pinR(4, t.l4);
    expect(r.rc).toBe(EINVAL);
    expect(r.refusals.flatMap((f) => f.xen).join('\n')).toContain(`mfn ${t.l4.toString(16)} already pinned`);
    expect(t.tables.map((m) => w.frame(m))).toEqual(before);
    const l1 = w.alloc();
    expect(w.pin(1, l1)).toBe(0);
    expect(w.pin(1, l1)).toBe(EINVAL);
    expect(w.frame(l1)).toMatchObject({ count: 2, type_count: 1, pinned: true });
  });

  test('§4.1.1: pinning a frame the caller does not own → -EINVAL', () => {
    const w = new World();
    expect(w.pin(1, DOM2.base)).toBe(EINVAL);
    expect(w.frame(DOM2.base)).toMatchObject({ count: 1, type_count: 0, pinned: false });
    expect(w.pin(1, 0x1800)).toBe(EINVAL);
  });

  test('§4.2.2: unpin of a frame that is not pinned → -EINVAL ("not pinned"), even when it is in use', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.pin(4, t.l4)).toBe(0);
    const r = w.ext(1, [{ cmd: MMUEXT.unpin_table, mfn: t.l1 }]);
    expect(r.rc).toBe(EINVAL);
    expect(r.refusals.flatMap((f) => f.xen).join('\n')).toContain(`mfn ${t.l1.toString(16)} not pinned`);
    expect(w.frame(t.l1)).toMatchObject({ count: 2, type_count: 1, validated: true });
    expect(w.unpin(w.alloc())).toBe(EINVAL);
  });

  test('§4.2.1: unpin of a foreign frame → -EINVAL', () => {
    const w = new World();
    expect(w.unpin(DOM2.base)).toBe(EINVAL);
  });

  test('§4.2.3: unpin of a live CR3 succeeds and the table stays validated (CR3 holds its own refs)', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.newBase(t.l4)).toBe(0);
    expect(w.unpin(t.l4)).toBe(0);
    expect(w.frame(t.l4)).toMatchObject({ type: 'l4', pinned: false, validated: true, type_count: 1, count: 2 });
    for (const m of [t.l3, t.l2, t.l1]) expect(w.frame(m)).toMatchObject({ validated: true, type_count: 1 });
  });

  test('§4.2: unpin of a table linked from another table succeeds; the link keeps it validated', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.pin(1, t.l1)).toBe(0);
    expect(w.pin(4, t.l4)).toBe(0);
    expect(w.unpin(t.l1)).toBe(0);
    expect(w.frame(t.l1)).toMatchObject({ pinned: false, validated: true, type_count: 1, count: 2 });
  });

  test('§4.2.2: unpin checks no type: a pinned L2 is unpinned by the same command as an L4', () => {
    const w = new World();
    const l2 = w.alloc();
    expect(w.pin(2, l2)).toBe(0);
    expect(w.unpin(l2)).toBe(0);
    expectIdle(w, l2);
  });
});

describe('§6 NEW_BASEPTR: L4 type (on demand, no pin), same-mfn no-op, old base put, local flush; NEW_USER_BASEPTR 0 = clear (§4.3)', () => {
  test('§4.3: NEW_BASEPTR validates an unpinned tree on demand', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.newBase(t.l4)).toBe(0);
    expect(w.frame(t.l4)).toMatchObject({ type: 'l4', type_count: 1, validated: true, pinned: false, count: 2 });
    for (const m of [t.l3, t.l2, t.l1]) expect(w.frame(m)).toMatchObject({ type_count: 1, validated: true });
    expect(w.hv.access({ dom: 1, vcpu: 0 }, t.va(0), true)).toMatchObject({ rc: 0, mfn: t.data[0] });
  });

  test('§4.3: NEW_BASEPTR of a frame in use as another type → -EINVAL; a failing validation → its errno', () => {
    const w = new World();
    const l1 = w.alloc();
    expect(w.pin(1, l1)).toBe(0);
    const r = w.ext(1, [{ cmd: MMUEXT.new_baseptr, mfn: l1 }]);
    expect(r.rc).toBe(EINVAL);
    expect(r.refusals.flatMap((f) => f.xen).join('\n')).toContain('Error while installing new baseptr');
    const t = buildTree(w);
    w.put(t.l1, 3, pte(t.l3, PAGE_RW)); // an L1e mapping the L3 writable: -EBUSY deep down
    expect(w.newBase(t.l4)).toBe(EBUSY);
    for (const m of t.tables) expectIdle(w, m);
    expect(w.hv.baseptrs({ dom: 1, vcpu: 0 }).kernel).toBe(0);
  });

  test('§4.3: NEW_BASEPTR of the current base is a no-op for the refs', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.newBase(t.l4)).toBe(0);
    const before = w.frame(t.l4);
    expect(w.newBase(t.l4)).toBe(0);
    expect(w.frame(t.l4)).toMatchObject({ count: before.count, type_count: before.type_count });
  });

  test('§4.3: switching away puts the old base, which is demoted when nothing else holds it', () => {
    const w = new World();
    const a = buildTree(w);
    const b = buildTree(w);
    expect(w.newBase(a.l4)).toBe(0);
    expect(w.newBase(b.l4)).toBe(0);
    for (const m of a.tables) expectIdle(w, m);
    expect(w.frame(a.data[0]!)).toMatchObject({ count: 1, type_count: 0 });
    expect(w.frame(b.l4)).toMatchObject({ type_count: 1, validated: true });
  });

  test('§4.3: the old base survives the switch when a pin or another vCPU holds it', () => {
    const w = new World();
    const a = buildTree(w);
    const b = buildTree(w);
    expect(w.newBase(a.l4)).toBe(0);
    expect(w.newBase(a.l4, V1)).toBe(0);
    expect(w.newBase(b.l4)).toBe(0);
    expect(w.frame(a.l4)).toMatchObject({ type_count: 1, validated: true, count: 2 });
    expect(w.pin(4, a.l4)).toBe(0);
    expect(w.newBase(b.l4, V1)).toBe(0);
    expect(w.frame(a.l4)).toMatchObject({ type_count: 1, validated: true, pinned: true, count: 2 });
  });

  test('§4.3: NEW_USER_BASEPTR takes an L4 ref; 0 clears it; the same mfn is a no-op', () => {
    const w = new World();
    const u = buildTree(w);
    expect(w.newUserBase(u.l4)).toBe(0);
    expect(w.frame(u.l4)).toMatchObject({ type: 'l4', type_count: 1, validated: true, count: 2 });
    expect(w.newUserBase(u.l4)).toBe(0);
    expect(w.frame(u.l4)).toMatchObject({ type_count: 1, count: 2 });
    expect(w.hv.baseptrs({ dom: 1, vcpu: 0 }).user).toBe(u.l4);
    expect(w.newUserBase(0)).toBe(0);
    expect(w.hv.baseptrs({ dom: 1, vcpu: 0 }).user).toBe(0);
    for (const m of u.tables) expectIdle(w, m);
    // a non-L4 in use is refused
    const l2 = w.alloc();
    expect(w.pin(2, l2)).toBe(0);
    expect(w.newUserBase(l2)).toBe(EINVAL);
  });

  test('§4.3: the kernel and user bases are separate holders on one vCPU', () => {
    const w = new World();
    const t = buildTree(w);
    expect(w.newBase(t.l4)).toBe(0);
    expect(w.newUserBase(t.l4)).toBe(0);
    expect(w.frame(t.l4)).toMatchObject({ type_count: 2, count: 3 });
    expect(w.newUserBase(0)).toBe(0);
    expect(w.frame(t.l4)).toMatchObject({ type_count: 1, count: 2, validated: true });
  });

  test('§4.3/§1.3: a linked L3 with two L4s above it: switching base between them keeps the L3 validated', () => {
    const w = new World();
    const a = buildTree(w);
    const l4b = w.alloc();
    w.put(l4b, 0, pte(a.l3, TABLE));
    expect(w.newBase(a.l4)).toBe(0);
    expect(w.newBase(l4b)).toBe(0);
    expect(w.frame(a.l3)).toMatchObject({ type_count: 1, validated: true, count: 2 });
    expectIdle(w, a.l4);
    expect(w.access(1, a.va(0), true)).toMatchObject({ rc: 0, mfn: a.data[0] });
    // a frame never made an L4 (the data frame, writable) cannot be a base
    expect(w.newBase(a.data[0]!)).toBe(EINVAL);
  });
});
