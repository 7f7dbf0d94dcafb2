// The log's lines built piece by piece: the same bytes as JSON.stringify of the object forms
// (recordToJson + resultToJson, refusalJson, flushFields), without making those objects —
// JSON.stringify of the log's objects cost more than the simulated Xen (two thirds of a logged
// replay). The pieces go to a LineOut: a string (a sink's line), or the bytes of the log file's
// buffer (bytes.ts: no string per line, nothing to encode). The common ops are written here; a
// rare one (create_domain, set_gdt, a hypercall by number, an `expect`) has its part written by
// JSON.stringify of its object form. test/src/log-json.test.ts holds the forms equal.
import { mmuextName } from '../../hypervisor/abi.ts';
import type { Caller, FlushEvent, Hypercall, MmuextOp, Refusal } from '../../hypervisor/types.ts';
import type { RecordResult } from '../trace/result.ts';
import type { TraceRecord } from '../trace/types.ts';
import { flagsToJson, hypercallToJson, recordToJson } from '../trace/write.ts';

/** Where a line's pieces go. */
export interface LineOut {
  /** JSON text as it is (punctuation, keys, names that need no escaping). */
  k(s: string): void;
  /** An integer. */
  int(n: number): void;
  /** A `"0x…"` string of lower-case hex. */
  hex(n: number | bigint): void;
  /** A JSON string (escaped as JSON.stringify escapes it). */
  str(s: string): void;
  /** Any JSON value, by JSON.stringify. */
  json(v: unknown): void;
}

/** A line as a string. */
export class StringOut implements LineOut {
  s = '';
  k(s: string): void {
    this.s += s;
  }
  int(n: number): void {
    this.s += n;
  }
  hex(n: number | bigint): void {
    this.s += '"0x' + n.toString(16) + '"';
  }
  str(s: string): void {
    this.s += JSON.stringify(s);
  }
  json(v: unknown): void {
    this.s += JSON.stringify(v);
  }
  /** The line so far; the next starts empty. */
  take(): string {
    const s = this.s;
    this.s = '';
    return s;
  }
}

function hexList(o: LineOut, a: readonly (number | bigint)[]): void {
  o.k('[');
  for (let i = 0; i < a.length; i++) {
    if (i > 0) o.k(',');
    o.hex(a[i]!);
  }
  o.k(']');
}

function intList(o: LineOut, a: readonly number[]): void {
  o.k('[');
  for (let i = 0; i < a.length; i++) {
    if (i > 0) o.k(',');
    o.int(a[i]!);
  }
  o.k(']');
}

function mask(o: LineOut, m: readonly number[] | null): void {
  if (m === null) o.k('null');
  else intList(o, m);
}

function mmuextOp(o: LineOut, op: MmuextOp): void {
  const name = mmuextName(op.cmd);
  o.k('{"cmd":');
  if (name === undefined) o.int(op.cmd);
  else o.str(name);
  if (op.mfn !== undefined) (o.k(',"mfn":'), o.hex(op.mfn));
  if (op.linear_addr !== undefined) (o.k(',"linear_addr":'), o.hex(op.linear_addr));
  if (op.vcpumask !== undefined) (o.k(',"vcpumask":'), mask(o, op.vcpumask));
  if (op.nr_ents !== undefined) (o.k(',"nr_ents":'), o.int(op.nr_ents));
  if (op.src_mfn !== undefined) (o.k(',"src_mfn":'), o.hex(op.src_mfn));
  o.k('}');
}

/** The hypercalls written here (the others by JSON.stringify of their object form). */
function written(c: Hypercall): boolean {
  return c.op === 'mmu_update' || c.op === 'mmuext_op' || c.op === 'update_va_mapping' || c.op === 'decrease_reservation' || c.op === 'memory_exchange' || c.op === 'multicall';
}

/** A hypercall's fields after its op (each with its leading comma), as recordToJson writes them. */
function hypercallFields(o: LineOut, c: Hypercall): void {
  switch (c.op) {
    case 'mmu_update':
      o.k(',"reqs":[');
      for (let i = 0; i < c.reqs.length; i++) {
        o.k(i > 0 ? ',{"ptr":' : '{"ptr":');
        o.hex(c.reqs[i]!.ptr);
        o.k(',"val":');
        o.hex(c.reqs[i]!.val);
        o.k('}');
      }
      o.k(']');
      if (c.foreigndom !== undefined) (o.k(',"foreigndom":'), o.hex(c.foreigndom));
      return;
    case 'mmuext_op':
      o.k(',"ops":[');
      for (let i = 0; i < c.ops.length; i++) {
        if (i > 0) o.k(',');
        mmuextOp(o, c.ops[i]!);
      }
      o.k(']');
      if (c.foreigndom !== undefined) (o.k(',"foreigndom":'), o.hex(c.foreigndom));
      return;
    case 'update_va_mapping': {
      const flags = flagsToJson(c.flags, c.vcpumask !== undefined);
      o.k(',"va":');
      o.hex(c.va);
      o.k(',"val":');
      o.hex(c.val);
      o.k(',"flags":');
      if (typeof flags === 'number') o.int(flags);
      else o.str(flags);
      if (c.vcpumask !== undefined) (o.k(',"vcpumask":'), mask(o, c.vcpumask));
      return;
    }
    case 'decrease_reservation':
    case 'memory_exchange':
      o.k(',"mfns":');
      hexList(o, c.mfns);
      return;
    case 'multicall':
      o.k(',"calls":[');
      for (let i = 0; i < c.calls.length; i++) {
        const sub = c.calls[i]!;
        if (i > 0) o.k(',');
        if (sub.op === 'multicall' || !written(sub)) o.json(hypercallToJson(sub));
        else {
          o.k('{"op":');
          o.str(sub.op);
          hypercallFields(o, sub);
          o.k('}');
        }
      }
      o.k(']');
      return;
  }
}

/** A record's own fields (after op, dom and vcpu); false for one left to JSON.stringify. */
function recordFields(o: LineOut, r: TraceRecord): void {
  switch (r.op) {
    case 'store':
      o.k(',"mfn":');
      o.hex(r.mfn);
      o.k(',"slot":');
      o.int(r.slot);
      o.k(',"val":');
      o.hex(r.val);
      if (r.count !== undefined) (o.k(',"count":'), o.int(r.count));
      if (r.stride !== undefined) (o.k(',"stride":'), o.hex(r.stride));
      return;
    case 'frame':
    case 'read':
      o.k(',"mfn":');
      o.hex(r.mfn);
      if (r.op === 'read') (o.k(',"slot":'), o.int(r.slot));
      return;
    case 'access':
      o.k(',"va":');
      o.hex(r.va);
      o.k(r.write ? ',"write":true' : ',"write":false');
      return;
    case 'audit':
      return;
    default:
      hypercallFields(o, r as Hypercall);
  }
}

/** The records written here piece by piece. */
function recordWritten(r: TraceRecord): boolean {
  if (r.expect !== undefined) return false;
  return r.op === 'store' || r.op === 'frame' || r.op === 'read' || r.op === 'access' || r.op === 'audit' || written(r as Hypercall);
}

const bool = (o: LineOut, key: string, b: boolean | undefined): void => {
  if (b !== undefined) o.k(b ? key + 'true' : key + 'false');
};

/** A result as resultToJson(r, false) writes it. */
function result(o: LineOut, r: RecordResult): void {
  o.k('{"rc":');
  o.int(r.rc);
  if (r.done !== undefined) (o.k(',"done":'), o.int(r.done));
  if (r.results !== undefined) (o.k(',"results":'), intList(o, r.results));
  if (r.frame !== undefined) (o.k(',"frame":'), o.json(r.frame));
  if (r.val !== undefined) (o.k(',"val":'), o.hex(r.val));
  if (r.mfn !== undefined) (o.k(',"mfn":'), o.hex(r.mfn));
  bool(o, ',"present":', r.present);
  bool(o, ',"writable":', r.writable);
  bool(o, ',"tlb_hit":', r.tlb_hit);
  bool(o, ',"stale":', r.stale);
  if (r.mismatches !== undefined) (o.k(',"mismatches":'), o.json(r.mismatches));
  o.k('}');
}

/** A line's start: `{"level":L,"time":T`, and `,"line":N` when given. */
export function head(o: LineOut, level: number, time: number, line?: number): void {
  o.k(level === 30 ? '{"level":30,"time":' : '{"level":40,"time":');
  o.int(time);
  if (line !== undefined) (o.k(',"line":'), o.int(line));
}

/**
 * A record line after its head: the record in its normalised form with the caller (made by a
 * vCPU) or its own dom/vcpu, and the result.
 */
export function recordLine(o: LineOut, r: TraceRecord, caller: Caller | undefined, res: RecordResult): void {
  if (!recordWritten(r)) {
    const j = JSON.stringify(recordToJson(r, caller));
    o.k(',');
    o.k(j.slice(1, -1));
  } else {
    o.k(',"op":');
    o.str(r.op);
    const dom = caller ? caller.dom : r.dom;
    const vcpu = caller ? caller.vcpu : r.vcpu;
    if (dom !== undefined) (o.k(',"dom":'), o.int(dom));
    if (vcpu !== undefined) (o.k(',"vcpu":'), o.int(vcpu));
    recordFields(o, r);
  }
  o.k(',"result":');
  result(o, res);
  o.k('}\n');
}

/** A refusal line's refusal, as refusalJson(r, true) writes it (the blockers listed: at most `max`). */
export function refusal(o: LineOut, r: Refusal, max: number): void {
  if (r.at !== '') (o.k('{"at":'), o.str(r.at), o.k(',"what":'));
  else o.k('{"what":');
  o.str(r.what);
  o.k(',"rc":');
  o.int(r.rc);
  o.k(',"reason":');
  o.str(r.reason);
  if (r.mfn !== undefined) (o.k(',"mfn":'), o.hex(r.mfn));
  if (!(r.xen.length === 1 && r.xen[0] === r.reason)) {
    o.k(',"xen":[');
    for (let i = 0; i < r.xen.length; i++) (i > 0 && o.k(','), o.str(r.xen[i]!));
    o.k(']');
  }
  if (r.chain.length > 0) {
    o.k(',"chain":[');
    for (let i = 0; i < r.chain.length; i++) {
      const c = r.chain[i]!;
      o.k(i > 0 ? ',{"mfn":' : '{"mfn":');
      o.hex(c.mfn);
      o.k(',"level":');
      o.int(c.level);
      o.k(',"slot":');
      o.int(c.slot);
      o.k(',"val":');
      o.hex(c.val);
      o.k('}');
    }
    o.k(']');
  }
  if (r.blockers.length > 0) {
    o.k(',"blockers":[');
    const n = Math.min(max, r.blockers.length);
    for (let i = 0; i < n; i++) {
      const h = r.blockers[i]!;
      o.k(i > 0 ? ',{"kind":' : '{"kind":');
      o.str(h.kind);
      o.k(',"mfn":');
      o.hex(h.mfn);
      if (h.slot !== undefined) (o.k(',"slot":'), o.int(h.slot));
      if (h.val !== undefined) (o.k(',"val":'), o.hex(h.val));
      o.k(',"dom":');
      o.int(h.dom);
      if (h.vcpu !== undefined) (o.k(',"vcpu":'), o.int(h.vcpu));
      bool(o, ',"rw":', h.rw);
      const guest = (h as { guest?: string }).guest;
      if (guest !== undefined) (o.k(',"guest":'), o.str(guest));
      o.k('}');
    }
    o.k(']');
  }
  if (r.blockers.length > max) (o.k(',"more_blockers":'), o.int(r.blockers.length - max));
  if (r.debug_stop !== undefined) (o.k(',"debug_stop":'), o.str(r.debug_stop));
  o.k('}');
}

/** A flush line after its head (flushFields). */
export function flushLine(o: LineOut, e: FlushEvent): void {
  o.k(',"event":"tlb_flush","cause":');
  o.str(e.cause);
  o.k(',"dom":');
  o.int(e.dom);
  o.k(',"vcpus":');
  intList(o, e.vcpus);
  if (e.va !== undefined) (o.k(',"va":'), o.hex(e.va));
  if (e.mfn !== undefined) (o.k(',"mfn":'), o.hex(e.mfn));
  o.k(',"clock":');
  o.int(e.clock);
  o.k('}\n');
}
