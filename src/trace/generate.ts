// A seeded generator of realistic trace v1 records (docs/trace-format.md): domains are
// created first, a few 4-level trees are built with plain stores, and then a weighted mix of pins
// and unpins of L1–L4, NEW_BASEPTR switches, L1 updates through mmu_update and update_va_mapping
// (some of them RW over page-table frames, which Xen refuses), L2–L4 links, linear entries,
// multicalls mixing them, flushes, and frame/read queries. With `extensions` (the default) it also
// emits the documented extra ops `access`, `decrease_reservation` and `destroy_domain`
// (docs/trace-extensions.md). With `allHypercalls` it also draws every other hypercall the trace
// format expresses: set_gdt, memory_exchange, update_va_mapping_otherdomain, hypercalls by number
// (numbers without a handler: -ENOSYS) and decrease_reservation of odd extents, as records and as
// multicall entries; `forOracle` keeps to what `replay --on xen` can map (docs/oracle.md). The
// output is plain JSON, one object per trace line. The same generator feeds `npm run fuzz:xen` and
// the property tests (test/props/generated.test.ts).
//
// Deterministic: the same options give the same records (mulberry32, no Math.random). The generator
// does not simulate Xen; it keeps a shadow of the entries it *meant* to write, so that its choices
// (which VA to map, which frame to pin) are plausible often enough for a good share of calls to
// succeed while many others are refused.

import { mulberry32 } from '../../guest/rng.ts';
import { DOMID_SELF } from '../../hypervisor/abi.ts';

/** One trace record as plain JSON (numbers as hex strings where trace-format.md allows). */
export type TraceJsonRecord = { op: string } & Record<string, unknown>;

export interface GenerateOptions {
  seed: number;
  /** Number of records to produce (create_domain records included). */
  records: number;
  /** Number of domains (default 2); domain d gets domid d and frames [0x1000·d, 0x1000·d + frames). */
  domains?: number;
  /** Frames per domain (default 96). At least 48. */
  frames?: number;
  /** vCPUs per domain (default 2). */
  vcpus?: number;
  /** Emit the extension ops access / decrease_reservation / destroy_domain (default true). */
  extensions?: boolean;
  /**
   * Also draw set_gdt, memory_exchange, update_va_mapping_otherdomain, hypercalls by number and
   * decrease_reservation of several odd extents (default false: the records are the same as before).
   */
  allHypercalls?: boolean;
  /**
   * Only what the real-Xen oracle can run (docs/oracle.md): no destroy_domain, memory_exchange,
   * frames of the free gap, short set_gdt frame lists or update_va_mapping_otherdomain for
   * DOMID_IO / DOMID_XEN / another domain. Use with one domain and one vCPU.
   */
  forOracle?: boolean;
}

/** Hypercall numbers without a handler in Xen 4.17's 64-bit PV table (docs/xen-versions.md). */
const NO_HANDLER: readonly (number | bigint)[] = [11, 43, 44, 45, 46, 47, 50, 63, 64, 100, 127, 128, 4096, 0xffffffff, 2n ** 32n + 1n, 2n ** 63n];

export { mulberry32 };

// PTE flag values as Linux writes them.
const P = 0x1n;
const RW = 0x2n;
const US = 0x4n;
const PCD = 0x10n;
const A = 0x20n;
const D = 0x40n;
const PSE = 0x80n;
const G = 0x100n;
const NX = 1n << 63n;
const TABLE = P | RW | US | A | D; // 0x67
const PAGE_RW = P | RW | US | A | D; // 0x67
const PAGE_RO = P | US | A | D; // 0x65

/** Table slots the generator uses per level (so that VAs are known). L4 300 holds linear entries. */
const L4_SLOTS = [0, 1, 272];
const L4_LINEAR_SLOT = 300;
const L3_SLOTS = [0, 1, 2];
const L2_SLOTS = [0, 1, 2, 3];
const L1_SLOTS = 16;

const hx = (v: number | bigint): string => `0x${v.toString(16)}`;
const pte = (mfn: number, flags: bigint): bigint => (BigInt(mfn) << 12n) | flags;

function vaOf(l4: number, l3: number, l2: number, l1: number): bigint {
  let v = (BigInt(l4) << 39n) | (BigInt(l3) << 30n) | (BigInt(l2) << 21n) | (BigInt(l1) << 12n);
  if (l4 >= 256) v |= 0xffff000000000000n;
  return v;
}

interface DomModel {
  id: number;
  base: number;
  count: number;
  vcpus: number;
  alive: boolean;
  /** Frames meant as tables of each level (index 1..4) and as data. */
  pools: number[][];
  data: number[];
  /** What the generator meant to write: mfn → slot → target mfn (present entries only). */
  shadow: Map<number, Map<number, number>>;
  /** The L4 each vCPU was last told to load. */
  base4: number[];
}

class Gen {
  private readonly r: () => number;
  private readonly doms: DomModel[] = [];
  private readonly ext: boolean;
  private readonly all: boolean;
  private readonly oracle: boolean;
  private readonly nDoms: number;
  private readonly nFrames: number;
  private readonly nVcpus: number;

  constructor(seed: number, nDoms: number, nFrames: number, nVcpus: number, ext: boolean, all = false, oracle = false) {
    this.r = mulberry32(seed);
    this.nDoms = nDoms;
    this.nFrames = nFrames;
    this.nVcpus = nVcpus;
    this.ext = ext;
    this.all = all;
    this.oracle = oracle;
  }

  // ---- randomness --------------------------------------------------------------------------
  private int(n: number): number {
    return Math.floor(this.r() * n);
  }
  private pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  private chance(p: number): boolean {
    return this.r() < p;
  }
  /** Picks a key of `weights` with probability proportional to its weight. */
  private weighted<K extends string>(weights: { [k in K]?: number }): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    let total = 0;
    for (const [, w] of entries) total += w;
    let x = this.r() * total;
    for (const [k, w] of entries) {
      x -= w;
      if (x < 0) return k;
    }
    return entries[entries.length - 1]![0];
  }

  // ---- the model -----------------------------------------------------------------------------
  private makeDomain(id: number): DomModel {
    const base = 0x1000 * id;
    const count = this.nFrames;
    const frames = Array.from({ length: count }, (_, i) => base + i);
    const nT = [0, 6, 3, 2, 2]; // L1, L2, L3, L4 pool sizes
    const pools: number[][] = [[]];
    let at = 0;
    for (let level = 1; level <= 4; level++) {
      pools[level] = frames.slice(at, at + nT[level]!);
      at += nT[level]!;
    }
    return {
      id,
      base,
      count,
      vcpus: this.nVcpus,
      alive: true,
      pools,
      data: frames.slice(at),
      shadow: new Map(),
      base4: new Array<number>(this.nVcpus).fill(0),
    };
  }

  /** Remembers an entry the generator expects to land (refusals it can foresee are not noted). */
  private note(mfn: number, slot: number, val: bigint): void {
    if (val & P && (val & (PSE | PCD | 0x8n) || this.domOf(Number((val >> 12n) & 0xffffffffffn)) !== this.domOf(mfn))) return;
    const d = this.domOf(mfn);
    if (!d) return;
    let m = d.shadow.get(mfn);
    if (!m) d.shadow.set(mfn, (m = new Map()));
    if (val & P) m.set(slot, Number((val >> 12n) & 0xffffffffffn));
    else m.delete(slot);
  }

  private domOf(mfn: number): DomModel | undefined {
    return this.doms.find((d) => mfn >= d.base && mfn < d.base + d.count);
  }

  private liveDoms(): DomModel[] {
    return this.doms.filter((d) => d.alive);
  }

  private caller(d: DomModel): { dom: number; vcpu?: number } {
    const v = this.int(d.vcpus);
    return v === 0 ? { dom: d.id } : { dom: d.id, vcpu: v };
  }

  /** Any frame, mostly of `d`, sometimes foreign, free or MMIO. */
  private anyFrame(d: DomModel): number {
    const k = this.weighted({ own: 90, foreign: 5, free: this.oracle ? 0 : 3, mmio: 2 });
    if (k === 'own') return d.base + this.int(d.count);
    if (k === 'foreign') {
      const others = this.doms.filter((o) => o !== d);
      if (others.length) {
        const o = this.pick(others);
        return o.base + this.int(o.count);
      }
      return d.base + this.int(d.count);
    }
    if (k === 'free') return d.base + d.count + this.int(0x1000 - d.count); // the gap after the domain
    return 0x10 + this.int(0xf0);
  }

  private tableFrame(d: DomModel, level?: number): number {
    return this.pick(d.pools[level ?? 1 + this.int(4)]!);
  }

  /** A value for an L1 entry. */
  private l1Val(d: DomModel): bigint {
    const k = this.weighted({
      dataRw: 40,
      dataRo: 18,
      zero: 10,
      tableRw: 8,
      tableRo: 8,
      foreign: 3,
      mmio: 2,
      badFlags: 3,
      nxG: 4,
      free: 2,
      notPresent: 2,
    });
    switch (k) {
      case 'dataRw':
        return pte(this.pick(d.data), PAGE_RW);
      case 'dataRo':
        return pte(this.pick(d.data), PAGE_RO);
      case 'zero':
        return 0n;
      case 'tableRw':
        return pte(this.tableFrame(d), PAGE_RW);
      case 'tableRo':
        return pte(this.tableFrame(d), PAGE_RO);
      case 'foreign':
      case 'free':
      case 'mmio': {
        let m = this.anyFrame(d);
        for (let i = 0; i < 4 && this.domOf(m) === d; i++) m = this.anyFrame(d);
        return pte(m, this.chance(0.5) ? PAGE_RW : PAGE_RO);
      }
      case 'badFlags':
        return pte(this.pick(d.data), PAGE_RW | this.pick([PCD, PSE, 0x8n]));
      case 'nxG':
        return pte(this.pick(d.data), (this.chance(0.5) ? PAGE_RW : PAGE_RO) | this.pick([NX, G, NX | G]));
      case 'notPresent':
        return pte(this.pick(d.data), RW | US) | (BigInt(this.int(8)) << 9n);
    }
  }

  /** A value for an entry of a level-`level` table (2..4) living in frame `table`. */
  private lnVal(d: DomModel, level: number, table: number): bigint {
    const k = this.weighted({ link: 74, zero: 4, linearRo: 7, linearRw: 3, badFlags: 4, data: 4, foreign: 2, wrongLevel: 2 });
    switch (k) {
      case 'link':
        return pte(this.pick(d.pools[level - 1]!), TABLE);
      case 'zero':
        return 0n;
      case 'linearRo':
        return pte(this.chance(0.5) ? table : this.pick(d.pools[level]!), PAGE_RO);
      case 'linearRw':
        return pte(this.chance(0.5) ? table : this.pick(d.pools[level]!), PAGE_RW);
      case 'badFlags':
        return pte(this.pick(d.pools[level - 1]!), TABLE | this.pick([PSE, G, PCD]));
      case 'data':
        return pte(this.pick(d.data), TABLE);
      case 'foreign': {
        const m = this.anyFrame(d);
        return pte(m, TABLE);
      }
      case 'wrongLevel':
        return pte(this.tableFrame(d), TABLE);
    }
  }

  private slotFor(level: number): number {
    if (level === 4) {
      const k = this.weighted({ guest: 85, linear: 10, xen: 5 });
      if (k === 'guest') return this.pick(L4_SLOTS);
      if (k === 'linear') return L4_LINEAR_SLOT;
      return 256 + this.int(16);
    }
    if (level === 3) return this.pick(L3_SLOTS);
    if (level === 2) return this.pick(L2_SLOTS);
    return this.int(L1_SLOTS);
  }

  /** A VA that the shadow says the vCPU's base maps (most of the time), else a random one. */
  private pickVa(d: DomModel, vcpu: number): bigint {
    if (this.chance(0.8)) {
      let t = d.base4[vcpu] || this.pick(d.pools[4]!);
      const slots: number[] = [];
      for (let level = 4; level >= 2; level--) {
        const m = d.shadow.get(t);
        const present = m ? [...m.keys()].filter((s) => (level === 4 ? L4_SLOTS.includes(s) : true)) : [];
        if (present.length === 0) break;
        const s = this.pick(present);
        slots.push(s);
        t = m!.get(s)!;
      }
      if (slots.length === 3) return vaOf(slots[0]!, slots[1]!, slots[2]!, this.int(L1_SLOTS));
    }
    if (this.chance(0.03)) return 0xffff800000000000n + BigInt(this.int(16)) * (1n << 39n); // the Xen hole
    return vaOf(this.pick(L4_SLOTS), this.pick(L3_SLOTS), this.pick(L2_SLOTS), this.int(L1_SLOTS));
  }

  // ---- record builders ---------------------------------------------------------------------
  private createDomain(d: DomModel): TraceJsonRecord {
    return { op: 'create_domain', domid: d.id, vcpus: d.vcpus, frames: { base: hx(d.base), count: d.count } };
  }

  private store(d: DomModel, mfn: number, slot: number, val: bigint): TraceJsonRecord {
    this.note(mfn, slot, val);
    return { op: 'store', dom: d.id, mfn: hx(mfn), slot, val: hx(val) };
  }

  private mmuReq(d: DomModel): { ptr: string; val: string } {
    const level = this.weighted({ l1: 72, l2: 10, l3: 9, l4: 9 });
    const lv = Number(level.slice(1));
    const table = this.chance(0.95) ? this.tableFrame(d, lv) : this.anyFrame(d);
    const slot = this.slotFor(lv);
    const val = lv === 1 ? this.l1Val(d) : this.lnVal(d, lv, table);
    let cmd = 0n;
    const c = this.weighted({ normal: 88, preserveAd: 6, noTranslate: 3, m2p: 2, bad: 1 });
    if (c === 'preserveAd') cmd = 2n;
    else if (c === 'noTranslate') cmd = 3n;
    else if (c === 'm2p') cmd = 1n;
    else if (c === 'bad') cmd = BigInt(4 + this.int(4));
    if (cmd !== 1n) this.note(table, slot, val);
    const ptr = BigInt(table) * 4096n + BigInt(slot) * 8n;
    return { ptr: hx(ptr | cmd), val: hx(cmd === 1n ? BigInt(this.int(0x10000)) : val) };
  }

  private mmuUpdate(d: DomModel): Omit<TraceJsonRecord, 'op'> & { op: 'mmu_update' } {
    const n = 1 + (this.chance(0.3) ? this.int(4) : 0);
    const reqs = Array.from({ length: n }, () => this.mmuReq(d));
    const rec: { op: 'mmu_update'; reqs: unknown[]; foreigndom?: string } = { op: 'mmu_update', reqs };
    const f = this.weighted({ none: 92, self: 4, own: 2, other: 1, unknown: 1 });
    if (f === 'self') rec.foreigndom = hx(DOMID_SELF);
    else if (f === 'own') rec.foreigndom = hx(d.id);
    else if (f === 'other') rec.foreigndom = hx(this.pick(this.doms).id);
    else if (f === 'unknown') rec.foreigndom = hx(0x7000 + this.int(0x100));
    return rec;
  }

  private pinOp(d: DomModel): Record<string, unknown> {
    const level = 1 + this.int(4);
    const mfn = this.chance(0.85) ? this.tableFrame(d, level) : this.chance(0.7) ? this.pick(d.data) : this.anyFrame(d);
    return { cmd: `pin_l${level}_table`, mfn: hx(mfn) };
  }

  private mmuextOp(d: DomModel, vcpu: number): Record<string, unknown> {
    const k = this.weighted({
      pin: 30,
      unpin: 22,
      baseptr: 12,
      userBaseptr: 3,
      flush: 14,
      invlpg: 8,
      ldt: 2,
      clear: 2,
      copy: 2,
      cache: 1,
      super: 1,
      unknown: 1,
    });
    switch (k) {
      case 'pin':
        return this.pinOp(d);
      case 'unpin':
        return { cmd: 'unpin_table', mfn: hx(this.chance(0.9) ? this.tableFrame(d) : this.anyFrame(d)) };
      case 'baseptr': {
        const mfn = this.chance(0.9) ? this.pick(d.pools[4]!) : this.tableFrame(d);
        d.base4[vcpu] = mfn;
        return { cmd: 'new_baseptr', mfn: hx(mfn) };
      }
      case 'userBaseptr':
        return { cmd: 'new_user_baseptr', mfn: hx(this.chance(0.3) ? 0 : this.pick(d.pools[4]!)) };
      case 'flush': {
        const c = this.pick(['tlb_flush_local', 'tlb_flush_all', 'tlb_flush_multi']);
        if (c !== 'tlb_flush_multi') return { cmd: c };
        return { cmd: c, vcpumask: this.chance(0.05) ? null : this.vcpuMask(d) };
      }
      case 'invlpg': {
        const c = this.pick(['invlpg_local', 'invlpg_all', 'invlpg_multi']);
        const linear_addr = hx(this.pickVa(d, vcpu));
        if (c !== 'invlpg_multi') return { cmd: c, linear_addr };
        return { cmd: c, linear_addr, vcpumask: this.chance(0.05) ? null : this.vcpuMask(d) };
      }
      case 'ldt':
        return {
          cmd: 'set_ldt',
          linear_addr: hx(this.chance(0.8) ? 0x20000n : 0x20008n),
          nr_ents: this.chance(0.9) ? 1 + this.int(64) : 9000,
        };
      case 'clear':
        return { cmd: 'clear_page', mfn: hx(this.chance(0.7) ? this.pick(d.data) : this.tableFrame(d)) };
      case 'copy':
        return { cmd: 'copy_page', mfn: hx(this.chance(0.7) ? this.pick(d.data) : this.tableFrame(d)), src_mfn: hx(this.anyFrame(d)) };
      case 'cache':
        return { cmd: this.pick(['flush_cache', 'flush_cache_global']) };
      case 'super':
        return { cmd: this.pick(['mark_super', 'unmark_super']), mfn: hx(this.pick(d.data)) };
      case 'unknown':
        return { cmd: this.pick([14, 21, 99]) };
    }
  }

  private vcpuMask(d: DomModel): number[] {
    const out: number[] = [];
    for (let v = 0; v < d.vcpus; v++) if (this.chance(0.6)) out.push(v);
    return out;
  }

  private mmuextCall(d: DomModel, vcpu: number): { op: 'mmuext_op'; ops: unknown[]; foreigndom?: string } {
    const n = 1 + (this.chance(0.25) ? this.int(3) : 0);
    const rec: { op: 'mmuext_op'; ops: unknown[]; foreigndom?: string } = {
      op: 'mmuext_op',
      ops: Array.from({ length: n }, () => this.mmuextOp(d, vcpu)),
    };
    if (this.chance(0.01)) rec.foreigndom = hx(d.id);
    return rec;
  }

  private uvmCall(d: DomModel, vcpu: number): Record<string, unknown> & { op: 'update_va_mapping' } {
    const va = this.pickVa(d, vcpu);
    const val = this.l1Val(d);
    const rec: Record<string, unknown> & { op: 'update_va_mapping' } = { op: 'update_va_mapping', va: hx(va), val: hx(val) };
    const kind = this.pick(['none', 'tlb_flush', 'invlpg']);
    const where = this.weighted({ local: 55, all: 30, multi: 13, badMask: 2 });
    if (where === 'multi') {
      rec.flags = kind;
      rec.vcpumask = this.vcpuMask(d);
    } else if (where === 'badMask') {
      rec.flags = ['none', 'tlb_flush', 'invlpg'].indexOf(kind) | 8;
      rec.vcpumask = null;
    } else rec.flags = where === 'local' ? (this.chance(0.5) ? kind : `${kind}|local`) : `${kind}|all`;
    return rec;
  }

  private subCall(d: DomModel, vcpu: number): Record<string, unknown> {
    const more = this.all ? { gdt: 3, dec: 3, other: 4, num: 3, ...(this.oracle ? {} : { exch: 2 }) } : {};
    const k = this.weighted({ uvm: 45, mmu: 30, ext: 23, nested: 2, ...more });
    if (k === 'uvm') return this.uvmCall(d, vcpu);
    if (k === 'mmu') return this.mmuUpdate(d);
    if (k === 'ext') return this.mmuextCall(d, vcpu);
    if (k === 'nested') return { op: 'multicall', calls: [this.uvmCall(d, vcpu)] };
    return this.moreCall(k, d, vcpu);
  }

  /** One of the calls only `allHypercalls` draws. */
  private moreCall(k: string, d: DomModel, vcpu: number): Record<string, unknown> {
    if (k === 'gdt') return this.gdtCall(d);
    if (k === 'dec') return { op: 'decrease_reservation', mfns: this.oddExtents(d) };
    if (k === 'exch') return { op: 'memory_exchange', mfns: Array.from({ length: 1 + this.int(2) }, () => hx(this.chance(0.7) ? this.pick(d.data) : this.tableFrame(d))) };
    if (k === 'other') return this.otherDomainCall(d, vcpu);
    return this.byNumber();
  }

  /** set_gdt: mostly data frames for 1–1024 entries; sometimes a table, another's frame, 7169+ entries (-EINVAL) or too few frames (-EFAULT). */
  private gdtCall(d: DomModel): Record<string, unknown> {
    const k = this.weighted({ ok: 64, none: 4, table: 10, foreign: 6, tooMany: 6, short: this.oracle ? 0 : 10 });
    const entries = k === 'none' ? 0 : k === 'tooMany' ? 7169 + this.int(100) : 1 + this.int(1024);
    const n = Math.ceil(entries / 512);
    const frames = Array.from({ length: k === 'short' ? n - 1 : n }, () => this.pick(d.data));
    if (frames.length > 0 && (k === 'table' || k === 'foreign')) frames[this.int(frames.length)] = k === 'table' ? this.tableFrame(d) : this.anyFrame(d);
    return { op: 'set_gdt', frames: frames.map(hx), entries };
  }

  /** decrease_reservation extents: own data and tables, repeats (freed already), I/O, another's, past the table. */
  private oddExtents(d: DomModel): string[] {
    const out: string[] = [];
    for (let n = 1 + this.int(3); n > 0; n--) {
      const k = this.weighted({ data: 50, table: 15, again: 10, mmio: 6, foreign: 6, huge: 5, free: this.oracle ? 0 : 8 });
      if (k === 'again' && out.length > 0) out.push(out[out.length - 1]!);
      else if (k === 'table') out.push(hx(this.tableFrame(d)));
      else if (k === 'mmio') out.push(hx(0x10 + this.int(0xf0)));
      else if (k === 'foreign' && this.doms.length > 1) out.push(hx(this.anyOther(d)));
      else if (k === 'huge') out.push(hx(2n ** 41n + BigInt(this.int(16))));
      else if (k === 'free') out.push(hx(d.base + d.count + this.int(0x1000 - d.count)));
      else out.push(hx(this.pick(d.data)));
    }
    return out;
  }

  private anyOther(d: DomModel): number {
    const o = this.pick(this.doms.filter((x) => x !== d));
    return o.base + this.int(o.count);
  }

  /** update_va_mapping_otherdomain: DOMID_SELF works as update_va_mapping; its own id or an unknown one is -ESRCH; DOMID_IO/XEN or another domain -EPERM for a domU. */
  private otherDomainCall(d: DomModel, vcpu: number): Record<string, unknown> {
    const far = this.oracle ? {} : { io: 8, xen: 6, other: this.doms.length > 1 ? 10 : 0 };
    const k = this.weighted({ self: 45, own: 20, unknown: 15, ...far });
    const domid = k === 'self' ? DOMID_SELF : k === 'own' ? d.id : k === 'unknown' ? 0x100 + this.int(0x100) : k === 'io' ? 0x7ff1 : k === 'xen' ? 0x7ff2 : this.pick(this.doms.filter((x) => x !== d)).id;
    const { op: _uvm, ...rest } = this.uvmCall(d, vcpu);
    return { op: 'update_va_mapping_otherdomain', ...rest, domid: hx(domid) };
  }

  /** A hypercall number Xen 4.17 has no handler for, as `{"op":"hypercall","nr":…}` or as the op itself. */
  private byNumber(): Record<string, unknown> {
    const nr = this.pick(NO_HANDLER);
    if (typeof nr === 'number' && this.chance(0.5)) return { op: nr };
    return { op: 'hypercall', nr: hx(nr) };
  }

  /**
   * The §1.8 story: map a data frame writable, touch it (TLB fill), unmap it without a flush, touch
   * it again (a stale hit), and sometimes make the frame a page table (Xen's type-change flush).
   */
  private *staleDance(d: DomModel, c: { dom: number; vcpu?: number }): Generator<TraceJsonRecord> {
    const vcpu = c.vcpu ?? 0;
    const va = hx(this.pickVa(d, vcpu));
    const e = this.pick(d.data);
    yield { ...c, op: 'update_va_mapping', va, val: hx(pte(e, PAGE_RW)), flags: 'invlpg|local' };
    yield { ...c, op: 'access', va, write: true };
    yield { ...c, op: 'update_va_mapping', va, val: '0x0', flags: 'none' };
    yield { ...c, op: 'access', va, write: true };
    if (this.chance(0.5)) {
      yield { ...c, op: 'mmuext_op', ops: [{ cmd: 'pin_l1_table', mfn: hx(e) }] };
      yield { ...c, op: 'access', va, write: true };
      yield { ...c, op: 'mmuext_op', ops: [{ cmd: 'unpin_table', mfn: hx(e) }] };
    }
  }

  // ---- the stream ------------------------------------------------------------------------------
  /** The initial build: a few trees per domain with plain stores, pinned and loaded. */
  private *build(d: DomModel): Generator<TraceJsonRecord> {
    const trees = Math.min(3, d.pools[4]!.length);
    for (let t = 0; t < trees; t++) {
      const l4 = d.pools[4]![t]!;
      for (const s4 of L4_SLOTS.slice(0, 1 + this.int(L4_SLOTS.length))) {
        const l3 = this.pick(d.pools[3]!);
        yield this.store(d, l4, s4, pte(l3, TABLE));
        const s3 = this.pick(L3_SLOTS);
        const l2 = this.pick(d.pools[2]!);
        yield this.store(d, l3, s3, pte(l2, TABLE));
        const s2 = this.pick(L2_SLOTS);
        const l1 = this.pick(d.pools[1]!);
        yield this.store(d, l2, s2, pte(l1, TABLE));
        for (let i = 0; i < 3; i++) {
          yield this.store(d, l1, this.int(L1_SLOTS), pte(this.pick(d.data), this.chance(0.6) ? PAGE_RW : PAGE_RO));
        }
      }
      if (this.chance(0.5)) yield this.store(d, l4, 510, pte(l4, PAGE_RO)); // a recursive slot
      yield { op: 'mmuext_op', dom: d.id, ops: [{ cmd: 'pin_l4_table', mfn: hx(l4) }] };
    }
    for (let v = 0; v < d.vcpus; v++) {
      const l4 = d.pools[4]![v % trees]!;
      d.base4[v] = l4;
      yield { op: 'mmuext_op', dom: d.id, ...(v ? { vcpu: v } : {}), ops: [{ cmd: 'new_baseptr', mfn: hx(l4) }] };
    }
  }

  // The whole record stream as one generator (the domains, their trees, then the draws), sharing
  // one count of records yielded: a few lines past 60 for that reason; each record is built apart.
  *run(records: number): Generator<TraceJsonRecord> {
    let n = 0;
    for (let i = 1; i <= this.nDoms; i++) {
      const d = this.makeDomain(i);
      this.doms.push(d);
    }
    for (const d of this.doms) {
      if (n++ >= records) return;
      yield this.createDomain(d);
    }
    for (const d of this.doms) {
      for (const r of this.build(d)) {
        if (n++ >= records) return;
        yield r;
      }
    }
    while (n < records) {
      const live = this.liveDoms();
      if (live.length === 0) break;
      const d = this.pick(live);
      const c = this.caller(d);
      const vcpu = c.vcpu ?? 0;
      const k = this.weighted({
        store: 7,
        mmu: 20,
        ext: 22,
        uvm: 18,
        multicall: 9,
        frame: 5,
        read: 3,
        access: this.ext ? 14 : 0,
        decrease: this.ext ? 0.3 : 0,
        lifecycle: this.ext && !this.oracle ? 0.01 : 0,
        staleDance: this.ext ? 1.5 : 0,
        ...(this.all ? { gdt: 1.5, dec: 1.5, other: 2, num: 0.7, ...(this.oracle ? {} : { exch: 1 }) } : {}),
      });
      if (k === 'staleDance') {
        for (const r of this.staleDance(d, c)) {
          if (n >= records) return;
          yield r;
          n++;
        }
        continue;
      }
      if (k === 'lifecycle') {
        // destroy and re-create the domain on the same frames, then rebuild its trees
        yield { op: 'destroy_domain', domid: d.id };
        n++;
        const fresh = this.makeDomain(d.id);
        this.doms[this.doms.indexOf(d)] = fresh;
        if (n >= records) return;
        yield this.createDomain(fresh);
        n++;
        for (const r of this.build(fresh)) {
          if (n >= records) return;
          yield r;
          n++;
        }
        continue;
      }
      yield this.simpleRecord(k, d, c, vcpu);
      n++;
    }
  }

  /** One record of a kind that is one record (not staleDance or lifecycle), drawn for `d`. */
  private simpleRecord(k: string, d: DomModel, c: { dom: number; vcpu?: number }, vcpu: number): TraceJsonRecord {
    switch (k) {
      case 'store': {
        const level = 1 + this.int(4);
        const table = this.chance(0.8) ? this.tableFrame(d, level) : this.pick(d.data);
        const slot = this.slotFor(level);
        const val = level === 1 ? this.l1Val(d) : this.lnVal(d, level, table);
        return this.store(d, table, slot, val);
      }
      case 'mmu':
        return { ...c, ...this.mmuUpdate(d) };
      case 'ext':
        return { ...c, ...this.mmuextCall(d, vcpu) };
      case 'uvm':
        return { ...c, ...this.uvmCall(d, vcpu) };
      case 'multicall': {
        const m = 2 + this.int(4);
        return { ...c, op: 'multicall', calls: Array.from({ length: m }, () => this.subCall(d, vcpu)) };
      }
      case 'frame':
        // (the oracle asks Xen about the domain's own frames only)
        return { op: 'frame', mfn: hx(this.chance(0.9) ? (this.oracle ? d.base + this.int(d.count) : this.anyFrame(d)) : this.tableFrame(d)) };
      case 'read': {
        const level = 1 + this.int(4);
        return { op: 'read', mfn: hx(this.tableFrame(d, level)), slot: this.slotFor(level) };
      }
      case 'access':
        return { ...c, op: 'access', va: hx(this.pickVa(d, vcpu)), write: this.chance(0.5) };
      case 'decrease':
        return { ...c, op: 'decrease_reservation', mfns: [hx(this.chance(0.8) ? this.pick(d.data) : this.anyFrame(d))] };
      case 'gdt':
      case 'dec':
      case 'exch':
      case 'other':
      case 'num':
        // A call by number has a numeric op (trace-extensions.md, "Hypercalls by number").
        return { ...c, ...this.moreCall(k, d, vcpu) } as unknown as TraceJsonRecord;
      default:
        throw new Error(`generate: no record kind ${k}`);
    }
  }
}

/** The records as a lazy stream. */
export function* iterateTrace(opts: GenerateOptions): Generator<TraceJsonRecord> {
  const frames = opts.frames ?? 96;
  if (frames < 48) throw new RangeError('generateTrace: frames must be at least 48');
  const domains = opts.domains ?? 2;
  if (domains < 1 || domains > 15) throw new RangeError('generateTrace: domains must be 1 … 15');
  if (frames > 0x1000) throw new RangeError('generateTrace: frames must be at most 4096');
  const g = new Gen(opts.seed, domains, frames, opts.vcpus ?? 2, opts.extensions ?? true, opts.allHypercalls ?? false, opts.forOracle ?? false);
  yield* g.run(opts.records);
}

/** `records` trace records for `seed`, ready for `JSON.stringify` one per line. */
export function generateTrace(opts: GenerateOptions): TraceJsonRecord[] {
  return [...iterateTrace(opts)];
}
