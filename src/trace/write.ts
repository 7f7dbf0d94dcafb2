// The trace v1 writer: a record in its normalised JSON form — lower-case hex strings for MFNs,
// addresses and PTE values, MMUEXT command names, UVMF flags in their string form — such that
// readRecord(recordToJson(r)) deep-equals r.
import { mmuextName, UVMF } from '../../hypervisor/abi.ts';
import type { Hypercall, MmuextOp, Ulong } from '../../hypervisor/types.ts';
import { expectToJson } from './expect.ts';
import type { RecordCommon, TraceRecord } from './types.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObj = { [key: string]: Json };

/** Lower-case hex with 0x, as every output of the simulator spells MFNs, addresses and PTEs. */
export function hex(n: number | bigint): string {
  return '0x' + n.toString(16);
}

const FLUSH_NAMES = ['none', 'tlb_flush', 'invlpg'] as const;

/**
 * The string form of UVMF flags, when it exists: "invlpg", "tlb_flush|all", and for UVMF_MULTI
 * (flags = type | 8 with a vcpumask) the bare flush type. Otherwise the number.
 */
export function flagsToJson(flags: Ulong, hasMask: boolean): string | number {
  const raw = typeof flags === 'number' ? flags : hex(flags);
  if (typeof flags !== 'number') return raw;
  const type = flags % 4;
  const scope = flags - type;
  const name = FLUSH_NAMES[type];
  if (name === undefined) return raw;
  if (hasMask) return scope === UVMF.MULTI ? name : raw;
  if (scope === UVMF.LOCAL) return name;
  if (scope === UVMF.ALL) return `${name}|all`;
  return raw;
}

function mmuextOpToJson(o: MmuextOp): JsonObj {
  const out: JsonObj = { cmd: mmuextName(o.cmd) ?? o.cmd };
  if (o.mfn !== undefined) out.mfn = hex(o.mfn);
  if (o.linear_addr !== undefined) out.linear_addr = hex(o.linear_addr);
  if (o.vcpumask !== undefined) out.vcpumask = o.vcpumask === null ? null : [...o.vcpumask];
  if (o.nr_ents !== undefined) out.nr_ents = o.nr_ents;
  if (o.src_mfn !== undefined) out.src_mfn = hex(o.src_mfn);
  return out;
}

function hypercallBody(c: Hypercall, out: JsonObj): void {
  switch (c.op) {
    case 'mmu_update':
      out.reqs = c.reqs.map((r) => ({ ptr: hex(r.ptr), val: hex(r.val) }));
      if (c.foreigndom !== undefined) out.foreigndom = hex(c.foreigndom);
      return;
    case 'mmuext_op':
      out.ops = c.ops.map(mmuextOpToJson);
      if (c.foreigndom !== undefined) out.foreigndom = hex(c.foreigndom);
      return;
    case 'update_va_mapping':
    case 'update_va_mapping_otherdomain':
      out.va = hex(c.va);
      out.val = hex(c.val);
      out.flags = flagsToJson(c.flags, c.vcpumask !== undefined);
      if (c.vcpumask !== undefined) out.vcpumask = c.vcpumask === null ? null : [...c.vcpumask];
      if (c.op === 'update_va_mapping_otherdomain') out.domid = hex(c.domid);
      return;
    case 'set_gdt':
      out.frames = c.frames.map(hex);
      out.entries = c.entries;
      return;
    case 'decrease_reservation':
    case 'memory_exchange':
      out.mfns = c.mfns.map(hex);
      return;
    case 'hypercall':
      out.nr = hex(c.nr);
      return;
    case 'multicall':
      out.calls = c.calls.map((s) => {
        const o: JsonObj = { op: s.op };
        hypercallBody(s, o);
        return o;
      });
      return;
  }
}

/** A hypercall (multicall entry) in its normalised JSON form, without common fields. */
export function hypercallToJson(c: Hypercall): JsonObj {
  const out: JsonObj = { op: c.op };
  hypercallBody(c, out);
  return out;
}

/**
 * The normalised JSON object of a record: op, dom, vcpu (when set), the record's own fields,
 * then expect. `caller` overrides dom/vcpu (the log writes the resolved caller). `into`: the
 * object to add them to (the log's line, its level and time already in it), else a new one.
 */
export function recordToJson(r: TraceRecord, caller?: { dom: number; vcpu: number }, into?: Record<string, unknown>): JsonObj {
  const out = (into ?? {}) as JsonObj;
  out.op = r.op;
  const c: RecordCommon = r;
  const dom = caller ? caller.dom : c.dom;
  const vcpu = caller ? caller.vcpu : c.vcpu;
  if (dom !== undefined) out.dom = dom;
  if (vcpu !== undefined) out.vcpu = vcpu;
  switch (r.op) {
    case 'create_domain': {
      out.domid = r.domid;
      out.vcpus = r.vcpus;
      out.frames = { base: hex(r.frames.base), count: r.frames.count };
      if (r.privileged !== undefined) out.privileged = r.privileged;
      if (r.hardware !== undefined) out.hardware = r.hardware;
      if (r.writable_pagetables !== undefined) out.writable_pagetables = r.writable_pagetables;
      break;
    }
    case 'destroy_domain':
      out.domid = r.domid;
      break;
    case 'store':
      out.mfn = hex(r.mfn);
      out.slot = r.slot;
      out.val = hex(r.val);
      if (r.count !== undefined) out.count = r.count;
      if (r.stride !== undefined) out.stride = hex(r.stride);
      break;
    case 'frame':
      out.mfn = hex(r.mfn);
      break;
    case 'read':
      out.mfn = hex(r.mfn);
      out.slot = r.slot;
      break;
    case 'access':
      out.va = hex(r.va);
      out.write = r.write;
      break;
    case 'audit':
      break;
    default:
      hypercallBody(r, out);
  }
  if (c.expect !== undefined) out.expect = expectToJson(r.op, c.expect) as Json;
  return out;
}

/** One NDJSON line (without the newline). */
export function recordToLine(r: TraceRecord): string {
  return JSON.stringify(recordToJson(r));
}
