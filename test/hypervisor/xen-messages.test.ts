// Xen's debug messages (gdprintk), word for word: what a Xen developer greps a serial log for.
// Each names the frame both ways, mfn and pfn, where Xen 4.17 does (get_gpfn_from_mfn: the M2P
// entry the domain builder set from the domain's memory, or one MMU_MACHPHYS_UPDATE set).
import { describe, expect, test } from 'vitest';
import { EBUSY, EINVAL } from '../../hypervisor/index.ts';
import { DOM0, DOM1, DOM2, FREE_MFN, PAGE_RO, PAGE_RW, PCD, PSE, TABLE, World, dom0MapsDom1Frame, ma, pte } from './helpers.ts';

/** get_page_from_l1e's could_not_pin text (mm.c:1040) for an entry `val` mapping `mfn` (pfn in hex). */
function couldNotPin(mfn: number, pfn: string, val: bigint, dom = 1): string {
  return `Error getting mfn ${mfn.toString(16)} (pfn ${pfn}) from L1 entry ${val.toString(16).padStart(16, '0')} for l1e_owner d${dom}, pg_owner d${dom}`;
}

/** Xen's messages when DOM1 pins a fresh L1 that maps `mfn` read-only. */
function pinMapping(w: World, mfn: number): string[] {
  const l1 = w.alloc();
  w.put(l1, 0, pte(mfn, PAGE_RO));
  return xenLines(w.pinR(1, l1));
}

const xenLines = (r: { refusals: { xen: string[] }[] }): string[] => r.refusals.flatMap((f) => f.xen);

describe("Xen's messages name the frame by mfn and pfn (xen/arch/x86/mm.c, 4.17)", () => {
  test('_get_page_type: "Bad type (saw <taf> != exp <type>) for mfn <mfn> (pfn <pfn>)" (mm.c:2938)', () => {
    const w = new World();
    const [, x] = w.allocN(2); // DOM1's second frame: pfn 1
    expect(w.pin(1, x!)).toBe(0);
    const r = w.pinR(2, x!);
    expect(r.rc).toBe(EINVAL);
    expect(xenLines(r)).toContain(`Bad type (saw 2c00000000000001 != exp 4000000000000000) for mfn ${x!.toString(16)} (pfn 1)`);
  });

  test('the pfn is the M2P entry once MMU_MACHPHYS_UPDATE has set it (mm.c:4229 set_gpfn_from_mfn)', () => {
    const w = new World();
    const x = w.alloc();
    expect(w.pin(1, x)).toBe(0);
    expect(w.mmu(1, [{ ptr: ma(x, 0) | 1n, val: 0x777n }]).rc).toBe(0);
    expect(xenLines(w.pinR(2, x))).toContain(`Bad type (saw 2c00000000000001 != exp 4000000000000000) for mfn ${x.toString(16)} (pfn 777)`);
  });

  test('validate_page: "Error while validating mfn <mfn> (pfn <pfn>) for type <type>: caf=<caf> taf=<taf>" (mm.c:2647)', () => {
    const w = new World();
    const [, , l1] = w.allocN(3);
    w.put(l1!, 3, pte(l1!, PAGE_RW)); // the L1 maps itself writable: -EBUSY
    const r = w.pinR(1, l1!);
    expect(r.rc).toBe(EBUSY);
    // count_info: PGC_allocated and two references (allocation, the pin's); type_info: l1, count 1
    expect(xenLines(r)).toContain(
      `Error while validating mfn ${l1!.toString(16)} (pfn 2) for type 2000000000000000: caf=8000000000000002 taf=2000000000000001`,
    );
  });

  test('get_page_from_l1e\'s could_not_pin: "Error getting mfn <mfn> (pfn <pfn>) from L1 entry <pte> for l1e_owner dN, pg_owner dN" (mm.c:1040)', () => {
    const w = new World();
    const l1 = w.alloc();
    const foreign = DOM2.base + 3; // DOM2's pfn 3
    w.put(l1, 5, pte(foreign, PAGE_RO));
    const r = w.pinR(1, l1);
    expect(r.rc).toBe(EBUSY);
    expect(xenLines(r)).toContain(
      `Error getting mfn ${foreign.toString(16)} (pfn 3) from L1 entry 0000000002003065 for l1e_owner d1, pg_owner d1`,
    );
  });

  test('a free frame\'s pfn is INVALID_M2P_ENTRY: freeing resets its M2P entry (page_alloc.c:1433 mark_page_free)', () => {
    const w = new World();
    const l1 = w.alloc();
    w.put(l1, 5, pte(FREE_MFN, PAGE_RO));
    expect(xenLines(w.pinR(1, l1))).toContain(
      `Error getting mfn ${FREE_MFN.toString(16)} (pfn ffffffffffffffff) from L1 entry 0000000001800065 for l1e_owner d1, pg_owner d1`,
    );
    // a frame given back to the heap forgets the pfn MMU_MACHPHYS_UPDATE gave it
    const e = w.alloc();
    expect(w.mmu(1, [{ ptr: ma(e, 0) | 1n, val: 0x777n }]).rc).toBe(0);
    const l1b = w.alloc();
    w.put(l1b, 0, pte(e, PAGE_RW));
    expect(w.pin(1, l1b)).toBe(0);
    expect(w.decrease(1, [e])).toBe(1);
    expect(w.unpin(l1b)).toBe(0); // the last reference: e is freed
    expect(w.frame(e).allocated).toBe(false);
    w.put(l1, 5, pte(e, PAGE_RO));
    expect(xenLines(w.pinR(1, l1))).toContain(couldNotPin(e, 'ffffffffffffffff', pte(e, PAGE_RO)));
  });

  test("a destroyed domain's frame still mapped elsewhere keeps its pfn: only freeing resets the M2P entry", () => {
    const w = new World({ domains: [DOM1, DOM2, DOM0] });
    const { l1, x } = dom0MapsDom1Frame(w);
    w.destroy(1);
    const r = w.mmu(0, [{ ptr: ma(l1, 1), val: pte(x, PAGE_RO) }]);
    expect(r.rc).toBe(EBUSY);
    // the frame's owner is the zombie d1 until it is freed (page_get_owner), the M2P entry its pfn
    expect(xenLines(r)).toEqual([
      'pg_owner d0 l1e_owner d0, but real_pg_owner d1',
      `Error getting mfn ${x.toString(16)} (pfn 64) from L1 entry 0000000001064165 for l1e_owner d0, pg_owner d0`,
    ]);
    expect(r.refusals[0]!.reason).toBe(`mfn ${'0x' + x.toString(16)} is not d0's: owner d1 (destroyed)`);
  });

  test("a destroyed domain's frame with an M2P entry of its own keeps that entry; another domain's entries outlive the destruction", () => {
    const w = new World({ domains: [DOM1, DOM2, DOM0] });
    const { l1, x } = dom0MapsDom1Frame(w);
    const y = DOM2.base + 7;
    expect(w.mmu(1, [{ ptr: ma(x, 0) | 1n, val: 0x777n }]).rc).toBe(0);
    expect(w.mmu(2, [{ ptr: ma(y, 0) | 1n, val: 0x555n }]).rc).toBe(0);
    w.destroy(1);
    // dom0's own L1 (a kernel mapping: Xen adds _PAGE_GLOBAL, 0x100) refuses both frames, naming each pfn
    const line = (mfn: number, pfn: string) => couldNotPin(mfn, pfn, pte(mfn, PAGE_RO) | 0x100n, 0);
    expect(xenLines(w.mmu(0, [{ ptr: ma(l1, 1), val: pte(x, PAGE_RO) }]))).toContain(line(x, '777'));
    expect(xenLines(w.mmu(0, [{ ptr: ma(l1, 2), val: pte(y, PAGE_RO) }]))).toContain(line(y, '555'));
  });

  test('a domain destroyed whole resets the M2P entries MMU_MACHPHYS_UPDATE set: its frames, handed out again, have the new pfns', () => {
    const w = new World();
    const x = DOM2.base + 5;
    expect(w.mmu(2, [{ ptr: ma(x, 0) | 1n, val: 0x777n }]).rc).toBe(0);
    w.destroy(2); // x held by nothing but its allocation: freed with its whole run at once
    w.createDomain({ domid: 5, vcpus: 1, base: DOM2.base, count: DOM2.count });
    expect(pinMapping(w, x)).toContain(couldNotPin(x, '5', pte(x, PAGE_RO)));
  });

  test('a table frame freed by the destruction takes no M2P entry with it: handed out at another base, it has the new pfn', () => {
    const w = new World();
    // y: an L1 held by the pinned L2 above it, so relinquish_memory's first pass leaves it typed
    // and owned, and the L2's release frees it: a frame the passes free, not a whole run
    const y = DOM2.base + 7;
    w.put(DOM2.base + 8, 0, pte(y, TABLE), 2);
    expect(w.pin(2, DOM2.base + 8, 2)).toBe(0);
    w.destroy(2);
    w.createDomain({ domid: 5, vcpus: 1, base: DOM2.base + 1, count: DOM2.count - 1 });
    expect(pinMapping(w, y)).toContain(couldNotPin(y, '6', pte(y, PAGE_RO)));
  });

  test('get_page_from_mfn: "Could not get page ref for mfn <mfn>" for an L2 entry to a free frame (asm/mm.h:415)', () => {
    const w = new World();
    const l2 = w.alloc();
    w.put(l2, 3, pte(FREE_MFN, TABLE));
    const r = w.pinR(2, l2);
    expect(r.rc).toBe(EINVAL);
    expect(xenLines(r)[0]).toBe(`Could not get page ref for mfn ${FREE_MFN.toString(16)}`);
  });

  test('a read-only L2 entry to a free frame: get_page_from_mfn says so twice, the linear path trying it too (mm.c:711)', () => {
    const w = new World();
    const l2 = w.alloc();
    w.put(l2, 3, pte(FREE_MFN, PAGE_RO));
    const r = w.pinR(2, l2);
    expect(r.rc).toBe(EINVAL);
    const ref = `Could not get page ref for mfn ${FREE_MFN.toString(16)}`;
    expect(xenLines(r).filter((l) => l === ref)).toHaveLength(2);
    expect(w.frame(FREE_MFN)).toMatchObject({ count: 0, owner: null });
  });

  test('get_page_from_l1e / get_page_from_lNe: "Bad L1 flags <hex>" (mm.c:877), "Bad L2 flags <hex>" (mm.c:1134)', () => {
    const w = new World();
    const [l1, e, l2, l1b] = w.allocN(4);
    w.put(l1!, 0, pte(e!, PAGE_RW | PCD));
    const r1 = w.pinR(1, l1!);
    expect(r1.rc).toBe(EINVAL);
    expect(xenLines(r1)).toContain('Bad L1 flags 10');
    expect(r1.refusals[0]!.reason).toBe('Bad L1 flags 0x10');
    w.put(l2!, 0, pte(l1b!, TABLE | PSE));
    const r2 = w.pinR(2, l2!);
    expect(r2.rc).toBe(EINVAL);
    expect(xenLines(r2)).toContain('Bad L2 flags 80');
    expect(r2.refusals[0]!.reason).toBe('Bad L2 flags 0x80');
  });

  test('a frame not the pg_owner\'s: "pg_owner dP l1e_owner dL, but real_pg_owner dR" (mm.c:989), d-1 for a free frame', () => {
    const w = new World();
    const l1 = w.alloc();
    w.put(l1, 5, pte(FREE_MFN, PAGE_RO));
    const free = w.pinR(1, l1);
    expect(xenLines(free)).toContain('pg_owner d1 l1e_owner d1, but real_pg_owner d-1');
    expect(free.refusals[0]!.reason).toBe(`mfn 0x${FREE_MFN.toString(16)} is not d1's: owner none (free frame)`);
    const foreign = DOM2.base + 3;
    w.put(l1, 5, pte(foreign, PAGE_RO));
    const other = w.pinR(1, l1);
    expect(xenLines(other)).toContain('pg_owner d1 l1e_owner d1, but real_pg_owner d2');
    expect(other.refusals[0]!.reason).toBe(`mfn 0x${foreign.toString(16)} is not d1's: owner d2`);
  });

  test('the linear path is tried only when the type was refused (-EINVAL, mm.c:1142), and says when the feature is off (mm.c:691)', () => {
    const w = new World();
    const [l2, l1, victim] = w.allocN(3);
    expect(w.pin(1, victim!)).toBe(0);
    w.put(l1!, 0, pte(victim!, PAGE_RW)); // -EBUSY deep down: not a linear candidate
    w.put(l2!, 0, pte(l1!, TABLE));
    const busy = w.pinR(2, l2!);
    expect(busy.rc).toBe(-16);
    expect(xenLines(busy).join('\n')).not.toContain('linear p.t.');
    const off = new World({ linearPt: false });
    const a = off.alloc();
    off.put(a, 5, pte(a, PAGE_RO));
    expect(xenLines(off.pinR(2, a))).toContain('Attempt to create linear p.t. (feature disabled)');
  });
});
