// The log's lines built as strings, piece by piece: the same bytes as JSON.stringify of the object
// forms (recordToJson + resultToJson, refusalJson, flushFields), without making those objects —
// JSON.stringify of the log's objects cost more than the simulated Xen (two thirds of a logged
// replay). The common ops are written here; a rare one (create_domain, set_gdt, a hypercall by
// number, an `expect`) has its part written by JSON.stringify of its object form.
// test/src/log-json.test.ts holds both forms equal.
import { mmuextName } from '../../hypervisor/abi.ts';
import type { Caller, FlushEvent, Hypercall, MmuextOp, Refusal } from '../../hypervisor/types.ts';
import type { RecordResult } from '../trace/result.ts';
import type { TraceRecord } from '../trace/types.ts';
import { flagsToJson, hypercallToJson, recordToJson } from '../trace/write.ts';

const str = (s: string): string => JSON.stringify(s);

/** A `"0x…"` string. */
function hx(n: number | bigint): string {
  return '"0x' + n.toString(16) + '"';
}

/** A JSON array of hex strings. */
function hexList(a: readonly (number | bigint)[]): string {
  let s = '[';
  for (let i = 0; i < a.length; i++) s += (i > 0 ? ',' : '') + hx(a[i]!);
  return s + ']';
}

function mask(m: readonly number[] | null): string {
  return m === null ? 'null' : '[' + m.join(',') + ']';
}

function mmuextOp(o: MmuextOp): string {
  const name = mmuextName(o.cmd);
  let s = '{"cmd":' + (name === undefined ? String(o.cmd) : '"' + name + '"');
  if (o.mfn !== undefined) s += ',"mfn":' + hx(o.mfn);
  if (o.linear_addr !== undefined) s += ',"linear_addr":' + hx(o.linear_addr);
  if (o.vcpumask !== undefined) s += ',"vcpumask":' + mask(o.vcpumask);
  if (o.nr_ents !== undefined) s += ',"nr_ents":' + o.nr_ents;
  if (o.src_mfn !== undefined) s += ',"src_mfn":' + hx(o.src_mfn);
  return s + '}';
}

/**
 * A hypercall's fields after its op (each with its leading comma), as recordToJson writes them;
 * undefined for one this file leaves to JSON.stringify.
 */
function hypercallFields(c: Hypercall): string | undefined {
  switch (c.op) {
    case 'mmu_update': {
      let s = ',"reqs":[';
      for (let i = 0; i < c.reqs.length; i++) s += (i > 0 ? ',{"ptr":' : '{"ptr":') + hx(c.reqs[i]!.ptr) + ',"val":' + hx(c.reqs[i]!.val) + '}';
      s += ']';
      return c.foreigndom === undefined ? s : s + ',"foreigndom":' + hx(c.foreigndom);
    }
    case 'mmuext_op': {
      let s = ',"ops":[';
      for (let i = 0; i < c.ops.length; i++) s += (i > 0 ? ',' : '') + mmuextOp(c.ops[i]!);
      s += ']';
      return c.foreigndom === undefined ? s : s + ',"foreigndom":' + hx(c.foreigndom);
    }
    case 'update_va_mapping': {
      const flags = flagsToJson(c.flags, c.vcpumask !== undefined);
      const s = ',"va":' + hx(c.va) + ',"val":' + hx(c.val) + ',"flags":' + (typeof flags === 'number' ? String(flags) : '"' + flags + '"');
      return c.vcpumask === undefined ? s : s + ',"vcpumask":' + mask(c.vcpumask);
    }
    case 'decrease_reservation':
    case 'memory_exchange':
      return ',"mfns":' + hexList(c.mfns);
    case 'multicall': {
      let s = ',"calls":[';
      for (let i = 0; i < c.calls.length; i++) {
        const sub = c.calls[i]!;
        const fields = sub.op === 'multicall' ? undefined : hypercallFields(sub);
        s += (i > 0 ? ',' : '') + (fields === undefined ? JSON.stringify(hypercallToJson(sub)) : '{"op":"' + sub.op + '"' + fields + '}');
      }
      return s + ']';
    }
    default:
      return undefined;
  }
}

/** A record's own fields (after op, dom and vcpu), or undefined for one left to JSON.stringify. */
function recordFields(r: TraceRecord): string | undefined {
  switch (r.op) {
    case 'store': {
      let s = ',"mfn":' + hx(r.mfn) + ',"slot":' + r.slot + ',"val":' + hx(r.val);
      if (r.count !== undefined) s += ',"count":' + r.count;
      return r.stride === undefined ? s : s + ',"stride":' + hx(r.stride);
    }
    case 'frame':
      return ',"mfn":' + hx(r.mfn);
    case 'read':
      return ',"mfn":' + hx(r.mfn) + ',"slot":' + r.slot;
    case 'access':
      return ',"va":' + hx(r.va) + ',"write":' + r.write;
    case 'audit':
      return '';
    case 'create_domain':
    case 'destroy_domain':
    case 'set_gdt':
    case 'hypercall':
    case 'update_va_mapping_otherdomain':
      return undefined;
    default:
      return hypercallFields(r);
  }
}

/** A result as resultToJson(r, false) writes it. */
function resultText(r: RecordResult): string {
  let s = '{"rc":' + r.rc;
  if (r.done !== undefined) s += ',"done":' + r.done;
  if (r.results !== undefined) s += ',"results":[' + r.results.join(',') + ']';
  if (r.frame !== undefined) s += ',"frame":' + JSON.stringify(r.frame);
  if (r.val !== undefined) s += ',"val":' + hx(r.val);
  if (r.mfn !== undefined) s += ',"mfn":' + hx(r.mfn);
  if (r.present !== undefined) s += ',"present":' + r.present;
  if (r.writable !== undefined) s += ',"writable":' + r.writable;
  if (r.tlb_hit !== undefined) s += ',"tlb_hit":' + r.tlb_hit;
  if (r.stale !== undefined) s += ',"stale":' + r.stale;
  if (r.mismatches !== undefined) s += ',"mismatches":' + JSON.stringify(r.mismatches);
  return s + '}';
}

/**
 * A record line: `head` (`{"level":30,"time":T` and the line where it is not T), the record in
 * its normalised form with the caller (made by a vCPU) or its own dom/vcpu, and the result.
 */
export function recordLine(head: string, r: TraceRecord, caller: Caller | undefined, result: RecordResult): string {
  const fields = r.expect === undefined ? recordFields(r) : undefined;
  let s: string;
  if (fields === undefined) {
    const o = JSON.stringify(recordToJson(r, caller));
    s = head + ',' + o.slice(1, -1);
  } else {
    s = head + ',"op":"' + r.op + '"';
    const dom = caller ? caller.dom : r.dom;
    const vcpu = caller ? caller.vcpu : r.vcpu;
    if (dom !== undefined) s += ',"dom":' + dom;
    if (vcpu !== undefined) s += ',"vcpu":' + vcpu;
    s += fields;
  }
  return s + ',"result":' + resultText(result) + '}\n';
}

/** A refusal as refusalJson(r, true) writes it (the blockers listed: at most `max`). */
export function refusalText(r: Refusal, max: number): string {
  let s = r.at === '' ? '{"what":' : '{"at":' + str(r.at) + ',"what":';
  s += str(r.what) + ',"rc":' + r.rc + ',"reason":' + str(r.reason);
  if (r.mfn !== undefined) s += ',"mfn":' + hx(r.mfn);
  if (!(r.xen.length === 1 && r.xen[0] === r.reason)) s += ',"xen":' + JSON.stringify(r.xen);
  if (r.chain.length > 0) {
    s += ',"chain":[';
    for (let i = 0; i < r.chain.length; i++) {
      const c = r.chain[i]!;
      s += (i > 0 ? ',' : '') + '{"mfn":' + hx(c.mfn) + ',"level":' + c.level + ',"slot":' + c.slot + ',"val":' + hx(c.val) + '}';
    }
    s += ']';
  }
  if (r.blockers.length > 0) {
    s += ',"blockers":[';
    const n = Math.min(max, r.blockers.length);
    for (let i = 0; i < n; i++) {
      const h = r.blockers[i]!;
      s += (i > 0 ? ',' : '') + '{"kind":"' + h.kind + '","mfn":' + hx(h.mfn);
      if (h.slot !== undefined) s += ',"slot":' + h.slot;
      if (h.val !== undefined) s += ',"val":' + hx(h.val);
      s += ',"dom":' + h.dom;
      if (h.vcpu !== undefined) s += ',"vcpu":' + h.vcpu;
      if (h.rw !== undefined) s += ',"rw":' + h.rw;
      const guest = (h as { guest?: string }).guest;
      s += guest === undefined ? '}' : ',"guest":' + str(guest) + '}';
    }
    s += ']';
  }
  if (r.blockers.length > max) s += ',"more_blockers":' + (r.blockers.length - max);
  if (r.debug_stop !== undefined) s += ',"debug_stop":' + str(r.debug_stop);
  return s + '}';
}

/** A flush line's fields after its head (flushFields). */
export function flushText(e: FlushEvent): string {
  let s = ',"event":"tlb_flush","cause":"' + e.cause + '","dom":' + e.dom + ',"vcpus":[' + e.vcpus.join(',') + ']';
  if (e.va !== undefined) s += ',"va":' + hx(e.va);
  if (e.mfn !== undefined) s += ',"mfn":' + hx(e.mfn);
  return s + ',"clock":' + e.clock + '}\n';
}
