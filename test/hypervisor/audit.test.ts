// The audit (hypervisor/audit.ts) is what every other test and the bench trust to say the frame
// table is consistent. Here each of its checks meets the corruption it exists to catch: a healthy
// world (a pinned 4-level tree in use as CR3, a read-only and a writable mapping) audits clean,
// then one field or entry is planted wrong behind the hypercall interface, and the audit must name
// that frame with that fault.
import { describe, expect, test } from 'vitest';
import { F_ALLOCATED, F_PINNED, F_VALIDATED, NO_OWNER, PGT_l1_page_table, PGT_l2_page_table, PGT_seg_desc_page, PGT_writable_page } from '../../hypervisor/frames.ts';
import type { XenState } from '../../hypervisor/state.ts';
import { buildTree, DOM0, DOM1, DOM2, MMIO_MFN, PAGE_RO, PAGE_RW, PCD, PSE, RW, TABLE, type Tree, World, pte } from './helpers.ts';

interface Healthy {
  w: World;
  x: XenState;
  t: Tree;
  /** The writable data frame (L1 slot 0) and the read-only one (L1 slot 1). */
  rw: number;
  ro: number;
}

function healthy(domains = [DOM1, DOM2]): Healthy {
  const w = new World({ domains });
  const t = buildTree(w, { maps: [{ slot: 0, flags: PAGE_RW }, { slot: 1, flags: PAGE_RO }] });
  expect(w.pin(4, t.l4)).toBe(0);
  expect(w.newBase(t.l4)).toBe(0);
  w.audit();
  // The audit reads the hypervisor's own state; planting a fault needs the same handle (the bench
  // reads the frame table this way too).
  const x = (w.hv as unknown as { x: XenState }).x;
  return { w, x, t, rw: t.data[0]!, ro: t.data[1]! };
}

/** Writes entry `slot` of `mfn` behind Xen's back (no validation, no references). */
function plantEntry(x: XenState, mfn: number, slot: number, val: bigint): void {
  const page = x.frames.pageForWrite(mfn);
  page[2 * slot] = Number(val & 0xffffffffn);
  page[2 * slot + 1] = Number(val >> 32n);
}

const hexOf = (m: number) => `0x${m.toString(16)}`;

/** The audit's findings must include one that names `what` and matches `fault`. */
function expectFinding(h: Healthy, what: string, fault: RegExp): void {
  const out = h.w.hv.audit();
  expect(out.some((line) => line.includes(what) && fault.test(line)), out.join('\n') || '(audit found nothing)').toBe(true);
}

describe('the audit catches each inconsistency it checks for (planted corruption)', () => {
  test('a healthy world audits clean', () => {
    expect(healthy().w.hv.audit()).toEqual([]);
  });

  describe('reference counts against their holders', () => {
    test('a general reference too many on a mapped frame', () => {
      const h = healthy();
      h.x.frames.setCount(h.ro, h.x.frames.count(h.ro) + 1);
      expectFinding(h, `mfn ${hexOf(h.ro)}`, /general count 3, holders 2/);
    });

    test('a type reference too few on a writable mapping', () => {
      const h = healthy();
      h.x.frames.setTypeCount(h.rw, 0);
      expectFinding(h, `mfn ${hexOf(h.rw)}`, /type count 0, holders 1/);
    });

    test('a validated table whose type count fell to 0 without demotion', () => {
      const h = healthy();
      h.x.frames.setTypeCount(h.t.l1, 0);
      expectFinding(h, `mfn ${hexOf(h.t.l1)}`, /validated table with type count 0 \(never demoted\)/);
    });

    test('a free frame that still has references', () => {
      const h = healthy();
      h.x.frames.setOwner(h.ro, NO_OWNER);
      expectFinding(h, `mfn ${hexOf(h.ro)}`, /free but referenced/);
    });

    test('linear_pt_count that no linear entry explains', () => {
      const h = healthy();
      h.x.frames.setLinear(h.t.l2, 1);
      expectFinding(h, `mfn ${hexOf(h.t.l2)}`, /linear_pt_count 1, expected 0/);
    });

    test('a pin on a frame that is no validated table', () => {
      const h = healthy();
      h.x.frames.setFlags(h.ro, F_ALLOCATED | F_PINNED);
      expectFinding(h, `mfn ${hexOf(h.ro)}`, /pinned but not a validated table/);
    });

    test('a table left partially validated after the call returned', () => {
      const h = healthy();
      h.x.frames.partial.set(h.t.l1, { nr: 0, partialSet: false });
      expectFinding(h, `mfn ${hexOf(h.t.l1)}`, /partially validated \(PGT_partial\) after the call returned/);
    });
  });

  describe('the entries of live tables (§2)', () => {
    test('a writable mapping of a frame that is not a writable page', () => {
      const h = healthy();
      h.x.frames.setType(h.rw, PGT_l1_page_table);
      expectFinding(h, `slot 0`, new RegExp(`maps ${hexOf(h.rw)} writable but its type is l1`));
    });

    test('an L1 entry with a flag L1 refuses', () => {
      const h = healthy();
      plantEntry(h.x, h.t.l1, 1, pte(h.ro, PAGE_RO | PCD)); // cache attributes: no cache-flush rights
      expectFinding(h, `L1 ${hexOf(h.t.l1)} slot 1`, /flags 0x10 are not allowed at L1/);
    });

    test('an L2 entry with PSE (no PV superpages)', () => {
      const h = healthy();
      plantEntry(h.x, h.t.l2, h.t.l2slot, pte(h.t.l1, TABLE | PSE));
      expectFinding(h, `L2 ${hexOf(h.t.l2)} slot ${h.t.l2slot}`, /flags 0x80 are not allowed at L2/);
    });

    test('a writable self-map', () => {
      const h = healthy();
      plantEntry(h.x, h.t.l4, 1, pte(h.t.l4, TABLE));
      expectFinding(h, `L4 ${hexOf(h.t.l4)} slot 1`, /writable self-map/);
    });

    test('an entry that links a table of the wrong level', () => {
      const h = healthy();
      h.x.frames.setType(h.t.l3, PGT_l1_page_table);
      expectFinding(h, `L4 ${hexOf(h.t.l4)}`, new RegExp(`links ${hexOf(h.t.l3)} of type l1, expected l3`));
    });

    test('an entry that links a table not validated', () => {
      const h = healthy();
      h.x.frames.setFlags(h.t.l2, F_ALLOCATED);
      expectFinding(h, `L3 ${hexOf(h.t.l3)}`, new RegExp(`links ${hexOf(h.t.l2)} which is not validated`));
    });

    test('a writable same-level (linear) entry', () => {
      const h = healthy();
      const other = h.w.alloc();
      h.x.frames.setType(other, PGT_l2_page_table);
      h.x.frames.setFlags(other, F_ALLOCATED | F_VALIDATED);
      plantEntry(h.x, h.t.l2, 7, pte(other, TABLE));
      expectFinding(h, `L2 ${hexOf(h.t.l2)} slot 7`, new RegExp(`writable linear entry to ${hexOf(other)}`));
    });

    test('a table that both has linear entries and is a linear target (XSA-240)', () => {
      const h = healthy();
      // l2 holds a read-only linear entry to `other`, and `other` one to l2.
      const other = h.w.alloc();
      h.x.frames.setType(other, PGT_l2_page_table);
      h.x.frames.setFlags(other, F_ALLOCATED | F_VALIDATED);
      h.x.frames.setTypeCount(other, 1);
      plantEntry(h.x, h.t.l2, 7, pte(other, TABLE & ~RW));
      plantEntry(h.x, other, 3, pte(h.t.l2, TABLE & ~RW));
      expectFinding(h, `mfn ${hexOf(h.t.l2)}`, /has 1 linear entries and 1 linear uses \(XSA-240\)/);
    });

    test('a mapping of another domain\'s frame', () => {
      const h = healthy();
      const foreign = h.w.alloc(2);
      plantEntry(h.x, h.t.l1, 5, pte(foreign, PAGE_RO));
      expectFinding(h, `L1 ${hexOf(h.t.l1)} slot 5`, new RegExp(`maps foreign mfn ${hexOf(foreign)}`));
    });

    test('a link to another domain\'s table', () => {
      const h = healthy();
      const foreign = h.w.alloc(2);
      plantEntry(h.x, h.t.l2, 9, pte(foreign, TABLE & ~RW));
      expectFinding(h, `L2 ${hexOf(h.t.l2)} slot 9`, new RegExp(`links foreign mfn ${hexOf(foreign)}`));
    });

    test('a mapping of I/O memory by a domain without iomem rights', () => {
      const h = healthy();
      plantEntry(h.x, h.t.l1, 6, pte(MMIO_MFN, PAGE_RO));
      expectFinding(h, `L1 ${hexOf(h.t.l1)} slot 6`, new RegExp(`maps I/O mfn ${hexOf(MMIO_MFN)} without iomem rights`));
    });

    test('once a privileged domain exists, foreign and I/O entries are its to make: not reported', () => {
      const h = healthy([DOM1, DOM2, DOM0]);
      plantEntry(h.x, h.t.l1, 5, pte(h.w.alloc(2), PAGE_RO));
      plantEntry(h.x, h.t.l1, 6, pte(MMIO_MFN, PAGE_RO));
      const out = h.w.hv.audit();
      expect(out.filter((l) => /foreign|I\/O/.test(l))).toEqual([]);
      // The foreign frame's count is still checked: the planted entry holds no reference.
      expect(out.some((l) => /general count 1, holders 2/.test(l))).toBe(true);
    });

    test('a live table whose owner is no domain', () => {
      const h = healthy();
      h.x.frames.setOwner(h.t.l1, 0x55);
      expectFinding(h, `L1 ${hexOf(h.t.l1)}`, /live table with no domain/);
    });
  });

  describe("what each vCPU holds", () => {
    test('a CR3 that is not a validated L4', () => {
      const h = healthy();
      h.x.frames.setFlags(h.t.l4, F_ALLOCATED | F_PINNED);
      expectFinding(h, `d1v0 CR3 ${hexOf(h.t.l4)}`, /is not a validated L4/);
    });

    test('a GDT frame that is not a seg_desc page', () => {
      const h = healthy();
      h.x.domains.get(1)!.vcpus[0]!.gdtFrames.push(h.ro);
      expectFinding(h, `d1v0 GDT frame ${hexOf(h.ro)}`, /is not a seg_desc page/);
      h.x.frames.setType(h.ro, PGT_seg_desc_page);
      expect(h.w.hv.audit().some((l) => l.includes('GDT frame'))).toBe(false);
    });

    test('a writable TLB entry for a live page table', () => {
      const h = healthy();
      h.x.domains.get(1)!.vcpus[0]!.tlb.set(0x1234, h.t.l1 * 2 + 1);
      expectFinding(h, 'd1v0 TLB', new RegExp(`writable translation of va page 0x1234 to live table ${hexOf(h.t.l1)}`));
      // A read-only translation of it, or a writable one of a data page, is no fault.
      h.x.domains.get(1)!.vcpus[0]!.tlb.set(0x1234, h.t.l1 * 2);
      h.x.domains.get(1)!.vcpus[0]!.tlb.set(0x1235, h.rw * 2 + 1);
      expect(h.w.hv.audit()).toEqual([]);
    });
  });

  test('a frame the audit examined is counted (framesExamined), a quiet one is not', () => {
    const h = healthy();
    h.x.framesExamined = 0;
    h.w.hv.audit();
    // Every frame of the tree and both data frames are used; the rest of DOM1 is quiet.
    expect(h.x.framesExamined).toBe(h.t.tables.length + 2);
    expect(h.x.frames.type(h.rw)).toBe(PGT_writable_page);
  });
});
