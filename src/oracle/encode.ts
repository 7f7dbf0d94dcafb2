// Encodes a trace for the oracle's test kernel (oracle/kernel.c): the trace's frames become
// indices into a pool of real frames the kernel picks at boot, its VAs stay as they are (the
// kernel lives in L4 slot 511, which no trace may use), and each record becomes one instruction
// whose result comes back as one "@@ r" line. What has no real counterpart is an Unmappable error.
import { DOMID_SELF } from '../../hypervisor/abi.ts';
import type { Hypercall, MmuextOp, Ulong } from '../../hypervisor/types.ts';
import type { TraceEntry, TraceRecord } from '../trace/types.ts';
import { hex } from '../trace/write.ts';

export const MAGIC = 0x314c43524f534558n; // "XESORCL1"
export const OP = {
  END: 0, SEQ: 1, STORE: 2, MMU_UPDATE: 3, MMUEXT: 4, UVM: 5, MULTICALL: 6, FRAME: 7, READ: 8,
  ACCESS: 9, DUMP: 10, DENY_IO: 11, SET_GDT: 12, DECREASE: 13, UVM_OTHER: 14, HC: 15,
} as const;
const V = { RAW: 0n, FIELD: 1n, MFN: 2n, MASK: 3n, BADPTR: 4n } as const;
export const MAX_POOL = 4096;
/** The kernel's L4 slot (VIRT_BASE 0xffffffff80000000) and Xen's own (256–271). */
export const KERNEL_L4_SLOT = 511;
const FIELD = 0xff_ffff_ffffn << 12n;
/** MFNs at or above this are beyond any machine QEMU gives Xen here: passed through (-EINVAL on both). */
export const BEYOND_MACHINE = 0x100_0000;
/** MFNs below this are I/O memory on both (Xen gives the first MiB to DOMID_IO). */
export const IO_LIMIT = 0x100;

/** Why a trace (from `line`) cannot run on real Xen. */
export class Unmappable extends Error {
  readonly line: number;
  constructor(line: number, why: string) {
    super(`line ${line}: cannot run on real Xen: ${why}`);
    this.line = line;
  }
}

/** What the kernel prints for a record: an "@@ r" line, or nothing (create_domain, audit). */
export type Expects = 'result' | 'none';

export interface Encoded {
  words: bigint[];
  /** Per record, in order: the line, the record, and whether an "@@ r" line answers it. */
  plan: { line: number; record: TraceRecord; answer: Expects }[];
  /** The trace's domain: its id and first frame (pool index i is trace mfn base + i). */
  domid: number;
  base: number;
  count: number;
  privileged: boolean;
}

/** The L4 index of a canonical VA. */
function l4Slot(va: bigint): number {
  return Number((va >> 39n) & 511n);
}

class Encoder {
  words: bigint[] = [];
  base = 0;
  count = 0;
  domid = -1;
  line = 0;
  privileged = false;

  w(...ws: (number | bigint)[]): void {
    for (const x of ws) this.words.push(BigInt.asUintN(64, BigInt(x)));
  }
  /** A trace MFN as an MFN argument (a bigint is above 2^53: no frame, passed as it is). */
  mfn(u: Ulong): void {
    if (typeof u === 'bigint') {
      this.w(V.RAW, u);
      return;
    }
    const m = u;
    if (m >= this.base && m < this.base + this.count) this.w(V.MFN, m - this.base);
    else if (m < IO_LIMIT || m >= BEYOND_MACHINE) this.w(V.RAW, m);
    else throw new Unmappable(this.line, `frame ${hex(m)} belongs to no domain of the trace (only the domain's own frames, I/O frames below ${hex(IO_LIMIT)} and frames beyond ${hex(BEYOND_MACHINE)} have real counterparts here)`);
  }
  /** A PTE value or machine address: its frame field (bits 12–51) is translated. */
  field(v: bigint, mustMap: boolean): void {
    const m = Number((v & FIELD) >> 12n);
    if (m >= this.base && m < this.base + this.count) this.w(V.FIELD, (v & ~FIELD) | (BigInt(m - this.base) << 12n));
    else if (!mustMap || m < IO_LIMIT || m >= BEYOND_MACHINE) this.w(V.RAW, v);
    else this.mfn(m); // throws
  }
  mask(vcpus: readonly number[] | null | undefined): void {
    if (vcpus === null) this.w(V.BADPTR, 0);
    else if (vcpus === undefined) this.w(V.RAW, 0);
    else this.w(V.MASK, vcpus.reduce((a, v) => a | (1n << BigInt(v & 63)), 0n));
  }
  va(v: bigint): void {
    const s = l4Slot(v);
    if (s === KERNEL_L4_SLOT) throw new Unmappable(this.line, `va ${hex(v)} is in L4 slot 511, where the oracle's kernel lives`);
    this.w(V.RAW, v);
  }
  foreigndom(fd: number | undefined): bigint {
    if (fd === undefined) return 0x7ff0n;
    return BigInt(fd === this.domid ? 0 : fd); // the trace's domain is dom0 here
  }

  call(c: Hypercall): void {
    switch (c.op) {
      case 'mmu_update':
        this.w(OP.MMU_UPDATE, c.reqs.length, this.foreigndom(c.foreigndom));
        for (const r of c.reqs) {
          const present = (r.val & 1n) === 1n;
          this.field(r.ptr, true);
          this.field(r.val, present);
        }
        return;
      case 'mmuext_op':
        this.w(OP.MMUEXT, c.ops.length, this.foreigndom(c.foreigndom));
        for (const o of c.ops) this.ext(o);
        return;
      case 'update_va_mapping':
      case 'update_va_mapping_otherdomain':
        this.w(c.op === 'update_va_mapping' ? OP.UVM : OP.UVM_OTHER);
        this.va(c.va);
        this.field(c.val, (c.val & 1n) === 1n);
        this.w(c.flags);
        if (c.vcpumask !== undefined) this.mask(c.vcpumask);
        else this.w(V.RAW, 0);
        if (c.op === 'update_va_mapping_otherdomain') this.w(this.otherDomid(c.domid));
        return;
      case 'set_gdt':
        this.w(OP.SET_GDT, c.frames.length, c.entries);
        for (const m of c.frames) this.mfn(m);
        return;
      case 'decrease_reservation':
        this.w(OP.DECREASE, c.mfns.length);
        for (const m of c.mfns) this.mfn(m);
        return;
      case 'hypercall':
        this.w(OP.HC, c.nr);
        return;
      case 'multicall':
        this.w(OP.MULTICALL, c.calls.length);
        for (const s of c.calls) {
          // A nested multicall is refused before its entries are read (common/multicall.c
          // do_multicall: "Multicall reentry is disallowed", -EINVAL): hypercall 13 alone says it.
          if (s.op === 'multicall') this.w(OP.HC, 13);
          else this.call(s);
        }
        return;
      case 'memory_exchange':
        throw new Unmappable(this.line, 'memory_exchange: real Xen gives other frames back, which the model does not model');
    }
  }
  /** update_va_mapping_otherdomain's domid (domid_t): the trace's own id is dom0's own, 0. */
  otherDomid(id: number): number {
    const d = id & 0xffff;
    if (d === this.domid) return 0;
    // XSM_TARGET (xsm/dummy.h xsm_update_va_mapping) lets the control domain act for DOMID_IO /
    // DOMID_XEN, which a domU may not: only a privileged trace sees what dom0 sees.
    if (d > DOMID_SELF && d < 0x7ff4 && !this.privileged) throw new Unmappable(this.line, `update_va_mapping_otherdomain to ${hex(d)}: the oracle's dom0 is the control domain, which may act for it; the trace's domain may not`);
    return d;
  }
  ext(o: MmuextOp): void {
    this.w(o.cmd);
    if (o.mfn !== undefined) this.mfn(o.mfn);
    else if (o.linear_addr !== undefined) this.w(V.RAW, o.linear_addr);
    else this.w(V.RAW, 0);
    if (o.src_mfn !== undefined) this.mfn(o.src_mfn);
    else if (o.vcpumask !== undefined) this.mask(o.vcpumask);
    else this.w(V.RAW, o.nr_ents ?? 0);
  }
}

/** One sequence (a whole trace) as instructions; `id` tells its output apart from the others'. One case per record kind: its length is the switch's. */
export function encodeSequence(entries: readonly TraceEntry[], id: number, enc = new Encoder()): Encoded {
  const first = entries.find((e) => e.record.op === 'create_domain');
  if (first === undefined || first.record.op !== 'create_domain') throw new Unmappable(entries[0]?.line ?? 0, 'no create_domain');
  const cd = first.record;
  if (cd.frames.count > MAX_POOL) throw new Unmappable(first.line, `${cd.frames.count} frames: the oracle maps at most ${MAX_POOL}`);
  enc.base = cd.frames.base;
  enc.count = cd.frames.count;
  enc.domid = cd.domid;
  enc.privileged = cd.privileged === true;
  const plan: Encoded['plan'] = [];
  let seqAt = -1;
  for (const { line, record: r } of entries) {
    enc.line = line;
    if (r.op === 'create_domain') {
      if (r !== cd) throw new Unmappable(line, 'a second domain: the oracle runs one (dom0 acting as the trace\'s domain)');
      seqAt = enc.words.length;
      enc.w(OP.SEQ, id, cd.frames.count, 0); // the last word: where DUMP is, patched below
      if (cd.privileged !== true) enc.w(OP.DENY_IO);
      plan.push({ line, record: r, answer: 'none' });
      continue;
    }
    if ('dom' in r && r.dom !== undefined && r.dom !== cd.domid) throw new Unmappable(line, `record of d${r.dom}: the oracle runs one domain`);
    if ('vcpu' in r && r.vcpu !== undefined && r.vcpu !== 0) throw new Unmappable(line, `record of vCPU ${r.vcpu}: the oracle's kernel runs on vCPU 0 only`);
    switch (r.op) {
      case 'store': {
        if (r.mfn < enc.base || r.mfn >= enc.base + enc.count) throw new Unmappable(line, `store into ${hex(r.mfn)}, not the domain's`);
        const n = r.count ?? 1;
        enc.w(OP.STORE);
        enc.mfn(r.mfn);
        enc.w(r.slot, n);
        for (let i = 0; i < n; i++) enc.field(r.val + BigInt(i) * (r.stride ?? 0n), false);
        break;
      }
      case 'frame':
        if (r.mfn < enc.base || r.mfn >= enc.base + enc.count) throw new Unmappable(line, `frame query of ${hex(r.mfn)}, not the domain's`);
        enc.w(OP.FRAME);
        enc.mfn(r.mfn);
        break;
      case 'read':
        if (r.mfn < enc.base || r.mfn >= enc.base + enc.count) throw new Unmappable(line, `read of ${hex(r.mfn)}, not the domain's`);
        enc.w(OP.READ);
        enc.mfn(r.mfn);
        enc.w(r.slot);
        break;
      case 'access':
        enc.w(OP.ACCESS);
        enc.va(r.va);
        enc.w(r.write ? 1 : 0);
        break;
      case 'audit':
        plan.push({ line, record: r, answer: 'none' });
        continue;
      case 'mmu_update':
      case 'mmuext_op':
      case 'update_va_mapping':
      case 'update_va_mapping_otherdomain':
      case 'set_gdt':
      case 'decrease_reservation':
      case 'memory_exchange':
      case 'hypercall':
      case 'multicall':
        enc.call(r);
        break;
      default:
        throw new Unmappable(line, `${r.op} has no counterpart in the oracle yet`);
    }
    plan.push({ line, record: r, answer: 'result' });
  }
  enc.words[seqAt + 3] = BigInt(enc.words.length - seqAt);
  enc.w(OP.DUMP);
  return { words: enc.words, plan, domid: cd.domid, base: cd.frames.base, count: cd.frames.count, privileged: cd.privileged === true };
}

/** The program file: the magic, the sequences, END. */
export function program(seqs: readonly Encoded[]): Buffer {
  const all = [MAGIC, ...seqs.flatMap((s) => s.words), 0n];
  const b = Buffer.alloc(all.length * 8);
  all.forEach((w, i) => b.writeBigUInt64LE(w, i * 8));
  return b;
}
