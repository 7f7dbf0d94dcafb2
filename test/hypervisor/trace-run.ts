// Runs plain-JSON trace records (trace-format.md, plus the access / decrease_reservation /
// destroy_domain extensions) straight against the Hypervisor facade. Deliberately independent of
// src/trace's reader, so the fuzz test checks the hypervisor and the generator, not the reader.
import { DOMID_SELF, Hypervisor, MMUEXT, UVMF } from '../../hypervisor/index.ts';
import type { Caller, Hypercall, MmuextOp } from '../../hypervisor/index.ts';

type J = Record<string, unknown>;

function big(v: unknown): bigint {
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'string') return BigInt(v);
  throw new Error(`not a number: ${JSON.stringify(v)}`);
}
function num(v: unknown): number {
  return Number(big(v));
}

const FLUSH_KIND: Record<string, number> = { none: UVMF.NONE, tlb_flush: UVMF.TLB_FLUSH, invlpg: UVMF.INVLPG };

/** trace-format.md update_va_mapping flags → UVMF_* (a string flag with a vcpumask is MULTI). */
export function uvmFlags(flags: unknown, hasMask: boolean): number {
  if (typeof flags === 'number') return flags;
  if (typeof flags !== 'string') return 0;
  let v = 0;
  for (const part of flags.split('|')) {
    if (part in FLUSH_KIND) v |= FLUSH_KIND[part]!;
    else if (part === 'all') v |= UVMF.ALL;
    else if (part === 'local') v |= UVMF.LOCAL;
    else throw new Error(`bad flags ${flags}`);
  }
  if (hasMask) v |= UVMF.MULTI;
  return v;
}

function op(o: J): MmuextOp {
  const cmd = typeof o.cmd === 'number' ? o.cmd : MMUEXT[o.cmd as keyof typeof MMUEXT];
  if (cmd === undefined) throw new Error(`unknown cmd ${String(o.cmd)}`);
  const out: MmuextOp = { cmd };
  if (o.mfn !== undefined) out.mfn = num(o.mfn);
  if (o.src_mfn !== undefined) out.src_mfn = num(o.src_mfn);
  if (o.linear_addr !== undefined) out.linear_addr = big(o.linear_addr);
  if (o.nr_ents !== undefined) out.nr_ents = num(o.nr_ents);
  if (o.vcpumask !== undefined) out.vcpumask = o.vcpumask as number[] | null;
  return out;
}

export function toHypercall(r: J): Hypercall {
  switch (r.op) {
    case 'mmu_update':
      return {
        op: 'mmu_update',
        reqs: (r.reqs as J[]).map((q) => ({ ptr: big(q.ptr), val: big(q.val) })),
        foreigndom: r.foreigndom === undefined ? DOMID_SELF : num(r.foreigndom),
      };
    case 'mmuext_op':
      return {
        op: 'mmuext_op',
        ops: (r.ops as J[]).map(op),
        foreigndom: r.foreigndom === undefined ? DOMID_SELF : num(r.foreigndom),
      };
    case 'update_va_mapping': {
      const call: Hypercall = {
        op: 'update_va_mapping',
        va: big(r.va),
        val: big(r.val),
        flags: uvmFlags(r.flags, Array.isArray(r.vcpumask)),
      };
      if (r.vcpumask !== undefined) call.vcpumask = r.vcpumask as number[] | null;
      return call;
    }
    case 'multicall':
      return { op: 'multicall', calls: (r.calls as J[]).map(toHypercall) };
    default:
      throw new Error(`not a hypercall: ${String(r.op)}`);
  }
}

export interface RunStats {
  records: number;
  /** Top-level hypercalls (mmu_update, mmuext_op, update_va_mapping, multicall). */
  hypercalls: number;
  /** Hypercall outcomes, multicall entries counted one by one. */
  ok: number;
  refused: number;
  byErrno: Map<number, number>;
  byOp: Map<string, { ok: number; refused: number }>;
  stores: { ok: number; refused: number };
  access: { ok: number; fault: number; stale: number };
}

export function newStats(): RunStats {
  return {
    records: 0,
    hypercalls: 0,
    ok: 0,
    refused: 0,
    byErrno: new Map(),
    byOp: new Map(),
    stores: { ok: 0, refused: 0 },
    access: { ok: 0, fault: 0, stale: 0 },
  };
}

function count(s: RunStats, opName: string, rc: number): void {
  const o = s.byOp.get(opName) ?? { ok: 0, refused: 0 };
  if (rc === 0) {
    s.ok++;
    o.ok++;
  } else {
    s.refused++;
    o.refused++;
    s.byErrno.set(rc, (s.byErrno.get(rc) ?? 0) + 1);
  }
  s.byOp.set(opName, o);
}

/** Runs one record; returns a short result (for determinism comparisons). */
export function runRecord(hv: Hypervisor, r: J, s: RunStats): unknown {
  s.records++;
  const caller: Caller = { dom: r.dom === undefined ? (hv.firstDomain() ?? 0) : num(r.dom), vcpu: r.vcpu === undefined ? 0 : num(r.vcpu) };
  switch (r.op) {
    case 'create_domain': {
      const f = r.frames as J;
      hv.createDomain({
        domid: num(r.domid),
        vcpus: num(r.vcpus),
        base: num(f.base),
        count: num(f.count),
        ...(r.privileged === true ? { privileged: true } : {}),
      });
      return 0;
    }
    case 'destroy_domain':
      hv.destroyDomain(num(r.domid));
      return 0;
    case 'store': {
      const rc = hv.store(caller, num(r.mfn), num(r.slot), big(r.val));
      if (rc === 0) s.stores.ok++;
      else s.stores.refused++;
      return rc;
    }
    case 'decrease_reservation':
      return hv.decreaseReservation(caller, (r.mfns as unknown[]).map(num));
    case 'frame':
      return hv.frame(num(r.mfn));
    case 'read':
      return hv.read(num(r.mfn), num(r.slot)).toString(16);
    case 'access': {
      const a = hv.access(caller, big(r.va), r.write === true);
      if (a.rc === 0) s.access.ok++;
      else s.access.fault++;
      if (a.stale) s.access.stale++;
      return a;
    }
    default: {
      const call = toHypercall(r);
      s.hypercalls++;
      const res = hv.hypercall(caller, call);
      if (call.op === 'multicall') {
        res.results!.forEach((rc, i) => count(s, call.calls[i]!.op, rc));
        return { rc: res.rc, results: res.results };
      }
      count(s, call.op, res.rc);
      return { rc: res.rc, done: res.done };
    }
  }
}
