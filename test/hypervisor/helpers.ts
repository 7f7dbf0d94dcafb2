// Test helpers for the hypervisor facade: PTE builders, a World that audits after every call, and a
// builder for standard 4-level trees whose virtual addresses are known.
// Spec: the project's Xen rules (docs/xen-model.md) and Xen 4.17's source; tests cite the section or line they check.
import { expect } from 'vitest';
import { Hypervisor, MMUEXT, type XenVersion } from '../../hypervisor/index.ts';
import type {
  AccessResult,
  Caller,
  CallResult,
  DomainSpec,
  FlushEvent,
  FrameInfo,
  Hypercall,
  MmuextOp,
  MmuUpdateReq,
} from '../../hypervisor/index.ts';

// ---- PTE bits (xen-pv-mm.md §2.1) ------------------------------------------------------------
export const P = 0x1n;
export const RW = 0x2n;
export const US = 0x4n;
export const PWT = 0x8n;
export const PCD = 0x10n;
export const A = 0x20n;
export const D = 0x40n;
export const PSE = 0x80n;
export const PAT = 0x80n;
export const G = 0x100n;
export const AVAIL = 0xe00n;
/** _PAGE_GUEST_KERNEL: PTE bit 52, added by Xen to kernel L1 entries (§2.6). */
export const GUEST_KERNEL = 1n << 52n;
export const NX = 1n << 63n;

/** _PAGE_TABLE as Linux writes it into L2–L4 entries: P|RW|US|A|D = 0x67. */
export const TABLE = P | RW | US | A | D;
/** A writable data mapping (0x67) and a read-only one (0x65). */
export const PAGE_RW = P | RW | US | A | D;
export const PAGE_RO = P | US | A | D;

const ADDR_MASK = 0x000ffffffffff000n;

/** A PTE: mfn << 12 | flags. */
export function pte(mfn: number, flags: bigint): bigint {
  return (BigInt(mfn) << 12n) | flags;
}
/** The frame a PTE points at. */
export function pteMfn(val: bigint): number {
  return Number((val & ADDR_MASK) >> 12n);
}
/** The machine address of entry `slot` of frame `mfn` (the mmu_update ptr, cmd 0). */
export function ma(mfn: number, slot: number): bigint {
  return BigInt(mfn) * 4096n + BigInt(slot) * 8n;
}
/** A canonical VA from its four table slots; slots ≥ 256 at L4 are the sign-extended upper half. */
export function va(l4: number, l3: number, l2: number, l1: number, offset = 0): bigint {
  let v =
    (BigInt(l4) << 39n) | (BigInt(l3) << 30n) | (BigInt(l2) << 21n) | (BigInt(l1) << 12n) | BigInt(offset);
  if (l4 >= 256) v |= 0xffff000000000000n;
  return v;
}

// ---- Domains used by the tests ---------------------------------------------------------------
/** The ordinary domU most tests run in. */
export const DOM1: DomainSpec = { domid: 1, vcpus: 2, base: 0x1000, count: 256 };
/** A second domU: its frames are foreign to DOM1. */
export const DOM2: DomainSpec = { domid: 2, vcpus: 1, base: 0x2000, count: 64 };
/** A privileged (dom0-like) domain. */
export const DOM0: DomainSpec = { domid: 0, vcpus: 1, base: 0x3000, count: 64, privileged: true };
/** A frame between DOM1 and DOM2 that no domain owns: free RAM (trace-format.md create_domain). */
export const FREE_MFN = 0x1800;
/** Below 0x100 and unowned: I/O memory (DOMID_IO). */
export const MMIO_MFN = 0x42;
/** Beyond the machine's RAM (MAX_MACHINE_FRAMES = 2^26): not RAM, so get_page_from_l1e's I/O branch. */
export const BEYOND_MFN = 2 ** 26;

export type Who = number | Caller;
function caller(w: Who): Caller {
  return typeof w === 'number' ? { dom: w, vcpu: 0 } : w;
}

export interface WorldOptions {
  domains?: DomainSpec[];
  linearPt?: boolean;
  /** Xen's build (default debug). */
  debugBuild?: boolean;
  xenVersion?: XenVersion;
}

/**
 * A Hypervisor with some domains, that runs hv.audit() after every hypercall, store, reservation
 * change and destruction and fails the test on any mismatch (§6, "asserted after every hypercall").
 */
export class World {
  readonly hv: Hypervisor;
  /** Every flush the observer reported, in order. */
  readonly flushes: FlushEvent[] = [];
  /** Called on every flush event, while the hypervisor is still inside the call. */
  onFlush: ((e: FlushEvent) => void) | undefined;
  private readonly nextFree = new Map<number, number>();
  private readonly specs = new Map<number, DomainSpec>();

  constructor(opts: WorldOptions = {}) {
    this.hv = new Hypervisor({
      observer: {
        flush: (e) => {
          this.flushes.push(e);
          this.onFlush?.(e);
        },
      },
      ...(opts.linearPt === undefined ? {} : { linearPt: opts.linearPt }),
      ...(opts.debugBuild === undefined ? {} : { debugBuild: opts.debugBuild }),
      ...(opts.xenVersion === undefined ? {} : { xenVersion: opts.xenVersion }),
    });
    for (const d of opts.domains ?? [DOM1, DOM2]) this.createDomain(d);
  }

  createDomain(d: DomainSpec): void {
    this.hv.createDomain(d);
    this.specs.set(d.domid, d);
    this.nextFree.set(d.domid, d.base);
    this.audit();
  }

  audit(): void {
    expect(this.hv.audit()).toEqual([]);
  }

  /** A fresh, untouched frame of `dom` (frames are handed out in order). */
  alloc(dom = 1): number {
    const spec = this.specs.get(dom);
    const next = this.nextFree.get(dom);
    if (spec === undefined || next === undefined) throw new Error(`no domain ${dom}`);
    if (next >= spec.base + spec.count) throw new Error(`domain ${dom} out of frames`);
    this.nextFree.set(dom, next + 1);
    return next;
  }
  allocN(n: number, dom = 1): number[] {
    return Array.from({ length: n }, () => this.alloc(dom));
  }
  /** Every frame of a domain as created. */
  framesOf(dom: number): number[] {
    const spec = this.specs.get(dom);
    if (spec === undefined) throw new Error(`no domain ${dom}`);
    return Array.from({ length: spec.count }, (_, i) => spec.base + i);
  }

  call(who: Who, c: Hypercall): CallResult {
    const r = this.hv.hypercall(caller(who), c);
    this.audit();
    return r;
  }
  mmu(who: Who, reqs: MmuUpdateReq[], foreigndom?: number): CallResult {
    return this.call(who, foreigndom === undefined ? { op: 'mmu_update', reqs } : { op: 'mmu_update', reqs, foreigndom });
  }
  /** One checked PTE write: mmu_update of entry `slot` of `mfn`. */
  update(who: Who, mfn: number, slot: number, val: bigint): number {
    return this.mmu(who, [{ ptr: ma(mfn, slot), val }]).rc;
  }
  ext(who: Who, ops: MmuextOp[], foreigndom?: number): CallResult {
    return this.call(who, foreigndom === undefined ? { op: 'mmuext_op', ops } : { op: 'mmuext_op', ops, foreigndom });
  }
  uvm(who: Who, v: bigint, val: bigint, flags = 0, vcpumask?: number[] | null): CallResult {
    return this.call(
      who,
      vcpumask === undefined
        ? { op: 'update_va_mapping', va: v, val, flags }
        : { op: 'update_va_mapping', va: v, val, flags, vcpumask },
    );
  }
  multicall(who: Who, calls: Hypercall[]): CallResult {
    return this.call(who, { op: 'multicall', calls });
  }

  pin(level: 1 | 2 | 3 | 4, mfn: number, who: Who = 1): number {
    const cmd = [MMUEXT.pin_l1_table, MMUEXT.pin_l2_table, MMUEXT.pin_l3_table, MMUEXT.pin_l4_table][level - 1]!;
    return this.ext(who, [{ cmd, mfn }]).rc;
  }
  pinR(level: 1 | 2 | 3 | 4, mfn: number, who: Who = 1): CallResult {
    const cmd = [MMUEXT.pin_l1_table, MMUEXT.pin_l2_table, MMUEXT.pin_l3_table, MMUEXT.pin_l4_table][level - 1]!;
    return this.ext(who, [{ cmd, mfn }]);
  }
  unpin(mfn: number, who: Who = 1): number {
    return this.ext(who, [{ cmd: MMUEXT.unpin_table, mfn }]).rc;
  }
  newBase(mfn: number, who: Who = 1): number {
    return this.ext(who, [{ cmd: MMUEXT.new_baseptr, mfn }]).rc;
  }
  newUserBase(mfn: number, who: Who = 1): number {
    return this.ext(who, [{ cmd: MMUEXT.new_user_baseptr, mfn }]).rc;
  }

  /** A plain guest store (audited). */
  store(who: Who, mfn: number, slot: number, val: bigint): number {
    const rc = this.hv.store(caller(who), mfn, slot, val);
    this.audit();
    return rc;
  }
  /** A store that must succeed (tree building). */
  put(mfn: number, slot: number, val: bigint, who: Who = 1): void {
    expect(this.store(who, mfn, slot, val), `store mfn ${mfn.toString(16)} slot ${slot}`).toBe(0);
  }
  decrease(who: Who, mfns: number[]): number {
    const rc = this.hv.decreaseReservation(caller(who), mfns);
    this.audit();
    return rc;
  }
  destroy(domid: number): void {
    this.hv.destroyDomain(domid);
    this.audit();
  }

  frame(mfn: number): FrameInfo {
    return this.hv.frame(mfn);
  }
  read(mfn: number, slot: number): bigint {
    return this.hv.read(mfn, slot);
  }
  access(who: Who, v: bigint, write: boolean): AccessResult {
    return this.hv.access(caller(who), v, write);
  }
  get clock(): number {
    return this.hv.clock;
  }
  /** Flush events reported from index `mark` on. */
  flushesSince(mark: number): FlushEvent[] {
    return this.flushes.slice(mark);
  }
}

// ---- Standard 4-level trees ------------------------------------------------------------------
export interface Mapping {
  /** L1 slot. */
  slot: number;
  /** The mapped frame; a fresh data frame when omitted. */
  mfn?: number;
  /** PTE flags; PAGE_RW when omitted. */
  flags?: bigint;
}

export interface TreeSpec {
  dom?: number;
  /** Reuse an existing (not yet live) L4 instead of allocating one. */
  l4?: number;
  l4slot?: number;
  l3slot?: number;
  l2slot?: number;
  /** The L1's entries; by default one writable data frame at slot 0. */
  maps?: Mapping[];
}

export interface Tree {
  dom: number;
  l4: number;
  l3: number;
  l2: number;
  l1: number;
  l4slot: number;
  l3slot: number;
  l2slot: number;
  /** The frames the L1 maps, in the order of `maps`. */
  data: number[];
  /** The VA that L1 slot `slot` translates. */
  va(slot: number): bigint;
  /** Every frame of the tree, top first: L4, L3, L2, L1. */
  tables: number[];
}

/**
 * L4[l4slot] → L3[l3slot] → L2[l2slot] → L1 → data, built with plain stores (nothing is pinned).
 * va = l4slot<<39 | l3slot<<30 | l2slot<<21 | l1slot<<12, sign-extended in the upper half.
 */
export function buildTree(w: World, spec: TreeSpec = {}): Tree {
  const dom = spec.dom ?? 1;
  const l4 = spec.l4 ?? w.alloc(dom);
  const [l3, l2, l1] = w.allocN(3, dom) as [number, number, number];
  const l4slot = spec.l4slot ?? 0;
  const l3slot = spec.l3slot ?? 0;
  const l2slot = spec.l2slot ?? 0;
  w.put(l4, l4slot, pte(l3, TABLE), dom);
  w.put(l3, l3slot, pte(l2, TABLE), dom);
  w.put(l2, l2slot, pte(l1, TABLE), dom);
  const data: number[] = [];
  for (const m of spec.maps ?? [{ slot: 0 }]) {
    const mfn = m.mfn ?? w.alloc(dom);
    data.push(mfn);
    w.put(l1, m.slot, pte(mfn, m.flags ?? PAGE_RW), dom);
  }
  return {
    dom,
    l4,
    l3,
    l2,
    l1,
    l4slot,
    l3slot,
    l2slot,
    data,
    va: (slot: number) => va(l4slot, l3slot, l2slot, slot),
    tables: [l4, l3, l2, l1],
  };
}

/** Frame fields that a "back to untouched" check compares. */
export function expectIdle(w: World, mfn: number, count = 1): void {
  const f = w.frame(mfn);
  expect({ mfn: mfn.toString(16), type_count: f.type_count, validated: f.validated, pinned: f.pinned, count: f.count }).toEqual({
    mfn: mfn.toString(16),
    type_count: 0,
    validated: false,
    pinned: false,
    count,
  });
}

/**
 * dom0 maps DOM1's frame `pfn` read-only through a pinned L1 of its own (foreigndom d1, which its
 * privilege allows): a frame another domain holds. The World needs DOM0 and DOM1.
 */
export function dom0MapsDom1Frame(w: World, pfn = 100): { l1: number; x: number } {
  const l1 = w.alloc(0);
  expect(w.pin(1, l1, 0)).toBe(0);
  const x = DOM1.base + pfn;
  expect(w.mmu(0, [{ ptr: ma(l1, 0), val: pte(x, PAGE_RO) }], DOM1.domid).rc).toBe(0);
  return { l1, x };
}
