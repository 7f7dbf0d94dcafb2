// Arbitraries for the property tests: a machine of 2–3 domains (sometimes one privileged) with a
// few dozen frames each (or, for the long run, thousands of frames and up to 64 vCPUs), and
// abstract operations over it — random and deliberately hostile
// hypercall streams (xen-pv-mm.md §2–§4), guest stores and accesses, reservation changes and
// domain destruction. Operations are plain data that name frames, slots and VAs *abstractly*
// (frame index i of "the caller" / "another domain" / a special frame): they resolve against
// whatever machine the property runs on (resolve.ts), so they shrink well and print readably.
import fc from 'fast-check';

// ---- The machine ------------------------------------------------------------------------------
export interface DomCfg {
  domid: number;
  vcpus: number;
  base: number;
  count: number;
  privileged: boolean;
}
export interface MachineCfg {
  doms: DomCfg[];
}

/** Domain i owns [0x1000 + i*0x100, +count): the gaps between domains are free RAM. */
export const DOM_STRIDE = 0x100;
export const FIRST_BASE = 0x1000;

export const machineArb: fc.Arbitrary<MachineCfg> = fc
  .record({
    n: fc.integer({ min: 2, max: 3 }),
    // -1: nobody is privileged (weighted), otherwise the index of the dom0-like domain.
    priv: fc.oneof({ weight: 2, arbitrary: fc.constant(-1) }, { weight: 3, arbitrary: fc.integer({ min: 0, max: 2 }) }),
    firstId: fc.constantFrom(1, 0, 7),
    vcpus: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    counts: fc.tuple(fc.integer({ min: 24, max: 40 }), fc.integer({ min: 24, max: 40 }), fc.integer({ min: 24, max: 40 })),
  })
  .map(({ n, priv, firstId, vcpus, counts }) => ({
    doms: Array.from({ length: n }, (_, i) => ({
      domid: firstId + i,
      vcpus: vcpus[i]!,
      base: FIRST_BASE + i * DOM_STRIDE,
      count: counts[i]!,
      privileged: i === priv % n && priv >= 0,
    })),
  }));

/** Domain sizes past WATCH_ALL (sim.ts): the checks then follow the frames records name. */
const bigCount = fc.oneof({ weight: 1, arbitrary: fc.integer({ min: 24, max: 40 }) }, { weight: 2, arbitrary: fc.integer({ min: 512, max: 4096 }) });
const bigVcpus = fc.oneof({ weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 4, max: 64 }) }, { weight: 1, arbitrary: fc.constant(64) });

/**
 * Big machines (issue 15): 2–3 domains of up to 4,096 frames each and up to 64 vCPUs, laid out
 * one after the other with 0x100 free frames between them (mfn of FrameSel `free`).
 */
export const bigMachineArb: fc.Arbitrary<MachineCfg> = fc
  .record({
    n: fc.integer({ min: 2, max: 3 }),
    priv: fc.oneof({ weight: 2, arbitrary: fc.constant(-1) }, { weight: 3, arbitrary: fc.integer({ min: 0, max: 2 }) }),
    firstId: fc.constantFrom(1, 0, 7),
    vcpus: fc.tuple(bigVcpus, bigVcpus, bigVcpus),
    counts: fc.tuple(bigCount, bigCount, bigCount),
  })
  .map(({ n, priv, firstId, vcpus, counts }) => {
    let base = FIRST_BASE;
    return {
      doms: Array.from({ length: n }, (_, i) => {
        const d = { domid: firstId + i, vcpus: vcpus[i]!, base, count: counts[i]!, privileged: i === priv % n && priv >= 0 };
        base += Math.ceil(counts[i]! / DOM_STRIDE) * DOM_STRIDE + DOM_STRIDE;
        return d;
      }),
    };
  });

// ---- Abstract arguments -----------------------------------------------------------------------
/** Who makes a call: domain index and vCPU index, both taken modulo what exists. */
export interface Who {
  d: number;
  v: number;
}
/**
 * A frame: index i of the caller's frames (o = 0) or of the domain o places further on (o = 1, 2),
 * or a special frame: free RAM between domains, I/O memory, beyond the machine's RAM, Xen's INVALID
 * pattern, or mfn 0.
 */
export type FrameSel = { o: number; i: number } | { s: 'free' | 'mmio' | 'beyond' | 'invalid' | 'zero' };
/** A PTE: a frame and flags, or a raw 64-bit value. */
export type PteSel = { f: FrameSel; fl: bigint } | { raw: bigint };
/** A VA from four table slots (L4 slot ≥ 256 is the sign-extended upper half), or a raw VA. */
export type VaSel = { s: [number, number, number, number] } | { raw: bigint };
/**
 * foreigndom: absent, DOMID_SELF, the caller's own numeric id (-ESRCH), another domain, an unknown
 * id, DOMID_IO, DOMID_XEN; for mmu_update also PFD encodings (bits 31:16 = PT owner + 1).
 */
export type FdSel =
  | { k: 'none' | 'self' | 'ownid' | 'unknown' | 'io' | 'xen' }
  | { k: 'other'; o: number }
  | { k: 'pfd'; pt: number; fd: number }; // pt/fd: domain offsets from the caller (0 = self); fd -1 = DOMID_SELF

export interface MmuReq {
  f: FrameSel;
  slot: number;
  /** ptr & 7: 0 NORMAL, 1 MACHPHYS, 2 PRESERVE_AD, 3 NO_TRANSLATE, 4–7 -ENOSYS. */
  cmd: number;
  val: PteSel;
  /** ptr's frame number far past 2^40 (not a frame at all). */
  huge?: boolean;
}
export interface ExtSpec {
  cmd: number;
  f?: FrameSel;
  src?: FrameSel;
  va?: VaSel;
  mask?: number[] | null;
  nr?: number;
}
export type CallSpec =
  | { op: 'mmu_update'; reqs: MmuReq[]; fd: FdSel }
  | { op: 'mmuext_op'; ops: ExtSpec[]; fd: FdSel }
  | { op: 'update_va_mapping'; va: VaSel; val: PteSel; kind: number; scope: 'local' | 'all' | 'multi' | 'other'; mask: number[] | null }
  /** The calling vCPU's GDT: `entries` descriptors in the first ceil(entries/512) frames. */
  | { op: 'set_gdt'; frames: FrameSel[]; entries: number }
  | { op: 'multicall'; calls: CallSpec[] };

/** The operations a sequence is made of. */
export type Op =
  | { k: 'store'; who: Who; f: FrameSel; slot: number; val: PteSel }
  /**
   * A whole L4→L3→L2→L1→data chain of plain stores, then (mode) pin L4 / NEW_BASEPTR / user base;
   * `touch`: then write the leaf's VA (filling the TLB, for the stale-TLB attack).
   */
  | { k: 'tree'; who: Who; t: [number, number, number, number, number]; s: [number, number, number, number]; leaf: bigint; mode: number; touch?: boolean }
  | { k: 'call'; who: Who; c: CallSpec }
  /**
   * An entry of a level-n table (tree group n) pointing at a table of the same level: a linear
   * page table (§2.4) — to itself or the other one of the group, RO or RW, by mmu_update (checked
   * if the table is live) or by a plain store (taking effect at the next validation).
   */
  | { k: 'linear'; who: Who; n: number; m: number; a: number; b: number; slot: number; rw: boolean; store: boolean }
  /**
   * A foreign mapping: entry `slot` of the caller's first tree L1 (frame 6) maps frame i of
   * another domain (RO or RW), by mmu_update with foreigndom = that domain — allowed only for a
   * privileged caller (§2.2 step 3) — and then accessed at once through the VA of a tree built at
   * slots 0/0/0 (filling the TLB); `unmap` clears the entry again (no flush: §1.8).
   */
  | { k: 'fmap'; who: Who; slot: number; o: number; i: number; rw: boolean; unmap: boolean }
  /**
   * A write into another domain's page table (PFD, foreigndom bits 31:16, §3.2): entry `slot` of
   * that domain's first tree L1 (frame 6) maps frame i of the caller (src 0, FD = DOMID_SELF), of
   * that domain (src 1), of a third one (src 2), or I/O memory (src 3, FD = DOMID_SELF). Only a
   * privileged caller gets through.
   */
  | { k: 'pmap'; who: Who; o: number; slot: number; src: number; i: number; rw: boolean }
  | { k: 'access'; who: Who; va: VaSel; write: boolean }
  /** Every vCPU of every domain tries to write every VA touched so far (stale TLB hunt). */
  | { k: 'probe' }
  | { k: 'decrease'; who: Who; fs: FrameSel[] }
  /** XENMEM_exchange's check (refused while a frame has any reference beyond its allocation). */
  | { k: 'exchange'; who: Who; fs: FrameSel[] }
  /**
   * The stale-TLB attack (§1.8, §6 "a stale-TLB model …"): take the j-th most recent successful
   * write access (a vCPU, a VA, a frame; chosen from the history), drop that vCPU's mapping
   * without any flush (update_va_mapping with UVMF_NONE: to not-present, or to read-only), have
   * the frame's owner pin it as an L`level` table (level 0: nothing, a plain stale-TLB access),
   * and let the vCPU write the VA again.
   */
  | { k: 'stale'; j: number; level: number; ro: boolean }
  /**
   * An unpin that can succeed (a rare path otherwise): the j-th frame the model knows pinned — of
   * the caller's domain (own) or of any — unpinned by the caller.
   */
  | { k: 'unpin'; who: Who; j: number; own: boolean }
  | { k: 'destroy'; d: number }
  /**
   * A new domain created over frames [i, i+n) of domain d once they are all free again (freed by
   * decrease_reservation or by a destruction): reallocation must flush every stale TLB entry
   * (§1.7 use b, §1.8 step 6) before the new owner can make them page tables.
   */
  | { k: 'adopt'; d: number; i: number; n: number; vcpus: number };

// ---- PTE bits: the hypervisor tests' (xen-pv-mm.md §2.1) ----------------------------------------
export { A, D, G, NX, P, PCD, PSE, PWT, RW, TABLE, US } from '../hypervisor/helpers.ts';
import { A, D, G, NX, P, PCD, PSE, PWT, RW, TABLE, US } from '../hypervisor/helpers.ts';

// ---- Arbitraries ------------------------------------------------------------------------------
/** Mostly the first domain's vCPU 0, so that consecutive operations build on each other. */
const whoArb: fc.Arbitrary<Who> = fc.record({
  d: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 2 }) }),
  v: fc.oneof(
    { weight: 6, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 2 }) },
    { weight: 1, arbitrary: fc.integer({ min: 3, max: 63 }) }, // big machines' vCPUs
  ),
});

/**
 * Mostly the first dozen frames, so that operations collide: 0–7 are where the tree macro puts
 * its tables (L4 0–1, L3 2–3, L2 4–5, L1 6–7), 8–11 its data pages; sometimes any frame.
 */
const frameIdx = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 7 }) },
  { weight: 3, arbitrary: fc.integer({ min: 8, max: 11 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 39 }) },
  { weight: 1, arbitrary: fc.integer({ min: 40, max: 4095 }) }, // anywhere in a big domain
);
/** The frames the tree macro uses for level n (4 … 1) and for data (0). */
export const GROUP: Record<number, [number, number]> = { 4: [0, 1], 3: [2, 3], 2: [4, 5], 1: [6, 7], 0: [8, 9] };

export const frameArb: fc.Arbitrary<FrameSel> = fc.oneof(
  { weight: 14, arbitrary: fc.record({ o: fc.constant(0), i: frameIdx }) },
  { weight: 3, arbitrary: fc.record({ o: fc.integer({ min: 1, max: 2 }), i: frameIdx }) },
  { weight: 2, arbitrary: fc.record({ s: fc.constantFrom('free' as const, 'mmio' as const, 'beyond' as const, 'invalid' as const, 'zero' as const) }) },
);

/** Flags: the usual table/data combinations, and now and then a bit Xen restricts (§2.1). */
const flagsArb: fc.Arbitrary<bigint> = fc
  .tuple(
    fc.constantFrom(TABLE, P | US | A | D, P | RW | A | D, P | A, P | RW, P, 0n, RW | US, P | RW | US),
    fc.oneof(
      { weight: 10, arbitrary: fc.constant(0n) },
      { weight: 3, arbitrary: fc.constantFrom(PWT, PCD, PSE, G, NX, 0x200n, 0xe00n, 1n << 52n, 1n << 62n, PCD | PWT, G | NX, PSE | G) },
    ),
  )
  .map(([b, x]) => b | x);

export const pteArb: fc.Arbitrary<PteSel> = fc.oneof(
  { weight: 20, arbitrary: fc.record({ f: frameArb, fl: flagsArb }) },
  { weight: 1, arbitrary: fc.record({ raw: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }) },
  { weight: 1, arbitrary: fc.record({ raw: fc.constantFrom(0n, 0xfffff_ffff_f000n | 0x67n, 0x1n | (1n << 52n)) }) },
);

/** Slots: mostly the first few (where entries collide), plus Xen's L4 slots and the edges. */
export const slotArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 3 }) },
  { weight: 2, arbitrary: fc.constantFrom(255, 256, 258, 263, 271, 272, 511) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 511 }) },
);

// VA slots are concentrated on 0 so that accesses and update_va_mapping find the trees.
const l4SlotArb = fc.oneof(
  { weight: 24, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.constant(1) },
  { weight: 2, arbitrary: fc.constantFrom(255, 272, 511) },
  { weight: 1, arbitrary: fc.constantFrom(256, 258, 271) },
);
const midSlotArb = fc.oneof({ weight: 16, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 3 }) });
const l1SlotArb = fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 0, max: 1 }) }, { weight: 2, arbitrary: fc.integer({ min: 2, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(7, 511) });

export const vaArb: fc.Arbitrary<VaSel> = fc.oneof(
  { weight: 14, arbitrary: fc.record({ s: fc.tuple(l4SlotArb, midSlotArb, midSlotArb, l1SlotArb) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      raw: fc.constantFrom(
        0xffff800000000000n, // first VA of Xen's hole (slot 256)
        0xffff810000000000n, // Xen's linear page-table slot 258
        0xffff87fffffff000n, // last page of the hole
        0x0000800000000000n, // non-canonical
        0x00007ffffffff000n, // last user page
        0xfffffffffffff000n, // last page
        0x0000000000000fffn, // unaligned, slot 0
        0xffff880000000000n, // first VA past the hole (slot 272)
      ),
    }),
  },
);

const maskArb: fc.Arbitrary<number[] | null> = fc.oneof(
  { weight: 4, arbitrary: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.uniqueArray(fc.integer({ min: 0, max: 63 }), { maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constant(null) },
);

const fdArb = (pfd: boolean): fc.Arbitrary<FdSel> =>
  fc.oneof(
    { weight: 14, arbitrary: fc.constant({ k: 'none' as const }) },
    { weight: 1, arbitrary: fc.constant({ k: 'self' as const }) },
    { weight: 1, arbitrary: fc.constant({ k: 'ownid' as const }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('other' as const), o: fc.integer({ min: 1, max: 2 }) }) },
    { weight: 1, arbitrary: fc.constantFrom({ k: 'unknown' as const }, { k: 'io' as const }, { k: 'xen' as const }) },
    {
      weight: pfd ? 3 : 0,
      arbitrary: fc.record({ k: fc.constant('pfd' as const), pt: fc.integer({ min: 0, max: 2 }), fd: fc.integer({ min: -1, max: 2 }) }),
    },
  );

const mmuReqArb: fc.Arbitrary<MmuReq> = fc.record(
  {
    f: frameArb,
    slot: slotArb,
    cmd: fc.oneof(
      { weight: 10, arbitrary: fc.constant(0) },
      { weight: 3, arbitrary: fc.constant(2) },
      { weight: 1, arbitrary: fc.constant(3) },
      { weight: 1, arbitrary: fc.constant(1) },
      { weight: 1, arbitrary: fc.integer({ min: 4, max: 7 }) },
    ),
    val: pteArb,
    huge: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  },
  { requiredKeys: ['f', 'slot', 'cmd', 'val'] },
);

/**
 * mmuext ops, weighted towards the ones that change types and references; `bare`: sometimes
 * without the arguments the command needs (the facade must still answer with an rc; trace v1
 * cannot express it).
 */
const extArb = (bare: boolean): fc.Arbitrary<ExtSpec> => fc.oneof(
  { weight: bare ? 1 : 0, arbitrary: fc.record({ cmd: fc.integer({ min: 0, max: 21 }) }) },
  { weight: 10, arbitrary: fc.record({ cmd: fc.integer({ min: 0, max: 3 }), f: frameArb }) }, // pin_l1 … pin_l4
  { weight: 5, arbitrary: fc.record({ cmd: fc.constant(4), f: frameArb }) }, // unpin
  { weight: 5, arbitrary: fc.record({ cmd: fc.constantFrom(5, 15), f: frameArb }) }, // new (user) baseptr
  { weight: 1, arbitrary: fc.record({ cmd: fc.constant(15), f: fc.constant({ s: 'zero' as const }) }) }, // clear user base
  { weight: 2, arbitrary: fc.record({ cmd: fc.constantFrom(6, 10, 12, 18, 19, 20, 14, 21, 255) }) },
  { weight: 2, arbitrary: fc.record({ cmd: fc.constantFrom(7, 11), va: vaArb }) },
  { weight: 2, arbitrary: fc.record({ cmd: fc.constantFrom(8, 9), va: vaArb, mask: maskArb }) },
  { weight: 1, arbitrary: fc.record({ cmd: fc.constant(13), va: vaArb, nr: fc.constantFrom(0, 1, 8192, 8193) }) },
  { weight: 2, arbitrary: fc.record({ cmd: fc.constant(16), f: frameArb }) },
  { weight: 2, arbitrary: fc.record({ cmd: fc.constant(17), f: frameArb, src: frameArb }) },
);

const uvmArb: fc.Arbitrary<CallSpec> = fc.record({
  op: fc.constant('update_va_mapping' as const),
  va: vaArb,
  val: pteArb,
  kind: fc.integer({ min: 0, max: 3 }),
  scope: fc.constantFrom('local' as const, 'all' as const, 'multi' as const, 'other' as const),
  mask: maskArb,
});

/** set_gdt: mostly one frame's worth of entries (512 a frame), sometimes too many for the list or Xen. */
const gdtArb: fc.Arbitrary<CallSpec> = fc.record({
  op: fc.constant('set_gdt' as const),
  frames: fc.array(frameArb, { maxLength: 3 }),
  entries: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 512 }) },
    { weight: 2, arbitrary: fc.integer({ min: 513, max: 1536 }) },
    { weight: 1, arbitrary: fc.constantFrom(7168, 7169, 0xffffffff) },
  ),
});

/**
 * Hypercalls; `pfd` = also what trace v1 cannot express: mmu_update naming a foreign page-table
 * owner (foreigndom bits 31:16) and mmuext ops missing their arguments.
 */
function flatCallArb(pfd: boolean): fc.Arbitrary<CallSpec> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('mmu_update' as const), reqs: fc.array(mmuReqArb, { minLength: 1, maxLength: 4 }), fd: fdArb(pfd) }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant('mmuext_op' as const), ops: fc.array(extArb(pfd), { minLength: 1, maxLength: 3 }), fd: fdArb(false) }) },
    { weight: 4, arbitrary: uvmArb },
    { weight: 1, arbitrary: gdtArb },
  );
}

function multicallArb(pfd: boolean): fc.Arbitrary<CallSpec> {
  return fc.record({
    op: fc.constant('multicall' as const),
    calls: fc.array(
      fc.oneof(
        { weight: 10, arbitrary: flatCallArb(pfd) },
        { weight: 1, arbitrary: fc.record({ op: fc.constant('multicall' as const), calls: fc.array(flatCallArb(pfd), { maxLength: 2 }) }) },
      ),
      { minLength: 0, maxLength: 5 },
    ),
  });
}

const treeArb: fc.Arbitrary<Op> = fc.record({
  k: fc.constant('tree' as const),
  who: whoArb,
  t: fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 2, max: 3 }), fc.integer({ min: 4, max: 5 }), fc.integer({ min: 6, max: 7 }), fc.integer({ min: 8, max: 11 })) },
    // Frames shared between levels: one frame wanted as two types, or a tree mapping its own tables.
    { weight: 1, arbitrary: fc.tuple(frameIdx, frameIdx, frameIdx, frameIdx, frameIdx) },
  ),
  s: fc.tuple(l4SlotArb, midSlotArb, midSlotArb, l1SlotArb),
  leaf: fc.constantFrom(TABLE, P | US | A | D, P | RW | A | D, TABLE | NX),
  mode: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) }),
  touch: fc.boolean(),
});

/** Relative weights of the operation kinds (defaults below); 0 switches a kind off. */
export type OpWeights = Partial<Record<Op['k'], number>>;
const DEFAULT_WEIGHTS: Record<Op['k'], number> = {
  store: 6,
  tree: 3,
  linear: 2,
  call: 14,
  access: 5,
  probe: 1,
  fmap: 1,
  pmap: 1,
  decrease: 1,
  exchange: 1,
  stale: 2,
  unpin: 2,
  destroy: 0,
  adopt: 1,
};

/**
 * One operation of a random / hostile stream. `pfd: false` leaves out what trace v1 cannot express
 * (mmu_update's PFD foreigndom, bits 31:16; mmuext ops without their arguments), for histories
 * that must replay from a file.
 */
export function opArb(weights: OpWeights = {}, opts: { pfd?: boolean } = {}): fc.Arbitrary<Op> {
  const w = { ...DEFAULT_WEIGHTS, ...weights };
  const pfd = opts.pfd ?? true;
  if (!pfd) w.pmap = 0;
  return fc.oneof(
    { weight: w.store, arbitrary: fc.record({ k: fc.constant('store' as const), who: whoArb, f: frameArb, slot: slotArb, val: pteArb }) },
    { weight: w.tree, arbitrary: treeArb },
    {
      weight: w.linear,
      arbitrary: fc.record({
        k: fc.constant('linear' as const),
        who: whoArb,
        n: fc.integer({ min: 1, max: 4 }),
        // The target's level group: the same (a linear entry) or any (an L1 mapping an L2, …).
        m: fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 4 }) }),
        a: fc.integer({ min: 0, max: 1 }),
        b: fc.integer({ min: 0, max: 1 }),
        slot: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(258, 272, 511) }),
        rw: fc.boolean(),
        store: fc.boolean(),
      }),
    },
    { weight: Math.round((w.call * 6) / 7), arbitrary: fc.record({ k: fc.constant('call' as const), who: whoArb, c: flatCallArb(pfd) }) },
    { weight: Math.round(w.call / 7), arbitrary: fc.record({ k: fc.constant('call' as const), who: whoArb, c: multicallArb(pfd) }) },
    { weight: w.access, arbitrary: fc.record({ k: fc.constant('access' as const), who: whoArb, va: vaArb, write: fc.boolean() }) },
    { weight: w.probe, arbitrary: fc.constant({ k: 'probe' as const }) },
    {
      weight: w.fmap,
      arbitrary: fc.record({
        k: fc.constant('fmap' as const),
        who: whoArb,
        slot: fc.integer({ min: 0, max: 1 }),
        o: fc.integer({ min: 1, max: 2 }),
        i: frameIdx,
        rw: fc.boolean(),
        unmap: fc.boolean(),
      }),
    },
    {
      weight: w.pmap,
      arbitrary: fc.record({
        k: fc.constant('pmap' as const),
        who: whoArb,
        o: fc.integer({ min: 1, max: 2 }),
        slot: fc.integer({ min: 0, max: 1 }),
        src: fc.integer({ min: 0, max: 3 }),
        i: frameIdx,
        rw: fc.boolean(),
      }),
    },
    {
      weight: w.stale,
      arbitrary: fc.record({ k: fc.constant('stale' as const), j: fc.integer({ min: 0, max: 7 }), level: fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }) }), ro: fc.boolean() }),
    },
    {
      weight: w.unpin,
      arbitrary: fc.record({ k: fc.constant('unpin' as const), who: whoArb, j: fc.integer({ min: 0, max: 7 }), own: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }) }),
    },
    { weight: w.exchange, arbitrary: fc.record({ k: fc.constant('exchange' as const), who: whoArb, fs: fc.array(frameArb, { minLength: 1, maxLength: 3 }) }) },
    { weight: w.decrease, arbitrary: fc.record({ k: fc.constant('decrease' as const), who: whoArb, fs: fc.array(frameArb, { minLength: 1, maxLength: 3 }) }) },
    {
      weight: w.adopt,
      arbitrary: fc.record({
        k: fc.constant('adopt' as const),
        d: fc.integer({ min: 0, max: 2 }),
        i: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 8, max: 11 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 39 }) }),
        n: fc.integer({ min: 1, max: 4 }),
        vcpus: fc.integer({ min: 1, max: 2 }),
      }),
    },
    { weight: w.destroy, arbitrary: fc.record({ k: fc.constant('destroy' as const), d: fc.integer({ min: 0, max: 2 }) }) },
  );
}

/** A compact, readable form of an op for fast-check's counterexample output. */
export function showOp(op: Op): string {
  return JSON.stringify(op, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
}
