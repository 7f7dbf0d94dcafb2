// replay's report: one line per record in Xen's words (or one JSON object per record with --json).
import { DOMID_SELF, errnoName, MMU, mmuextName } from '../../hypervisor/abi.ts';
import type { Caller, Holder, Hypercall, Refusal } from '../../hypervisor/types.ts';
import { blockerText } from '../log/line.ts';
import { holderJson } from '../log/write.ts';
import type { ExpectCheck } from '../trace/expect.ts';
import { resultToJson, type RecordResult } from '../trace/result.ts';
import { hasCaller, type TraceRecord } from '../trace/types.ts';
import { flagsToJson, hex } from '../trace/write.ts';

/** What one record came to: what the log and the report say about it. */
export interface Outcome {
  line: number;
  rec: TraceRecord;
  caller: Caller;
  result: RecordResult;
  /** Its expectation, checked (none: it had none). */
  check: ExpectCheck | undefined;
  /** --audit's mismatches after it (none: no --audit). */
  audit: string[] | undefined;
}

/** The record went wrong: its expectation failed, or an audit found mismatches. */
export function wentWrong(o: Outcome): boolean {
  return (
    (o.check !== undefined && !o.check.ok) ||
    (o.rec.op === 'audit' && o.result.mismatches!.length > 0) ||
    (o.audit !== undefined && o.audit.length > 0)
  );
}

function rcText(rc: number): string {
  return rc === 0 ? 'OK' : rc < 0 ? `-${errnoName(rc)}` : String(rc);
}

const MMU_CMD_NAMES = ['', 'MMU_MACHPHYS_UPDATE', 'MMU_PT_UPDATE_PRESERVE_AD', 'MMU_PT_UPDATE_NO_TRANSLATE'];

function describeCall(c: Hypercall): string {
  switch (c.op) {
    case 'mmu_update': {
      const fd = c.foreigndom !== undefined && c.foreigndom !== DOMID_SELF ? ` foreigndom ${c.foreigndom}` : '';
      if (c.reqs.length === 1) {
        const r = c.reqs[0]!;
        const cmd = Number(r.ptr & 7n);
        const name = cmd === MMU.NORMAL_PT_UPDATE ? '' : ` (${MMU_CMD_NAMES[cmd] ?? `cmd ${cmd}`})`;
        return `mmu_update ptr ${hex(r.ptr)} val ${hex(r.val)}${name}${fd}`;
      }
      return `mmu_update ${c.reqs.length} reqs${fd}`;
    }
    case 'mmuext_op': {
      const ops = c.ops.map((o) => {
        let s = mmuextName(o.cmd) ?? `cmd ${o.cmd}`;
        if (o.src_mfn !== undefined) s += ` ${hex(o.src_mfn)} ->`;
        if (o.mfn !== undefined) s += ` ${hex(o.mfn)}`;
        if (o.linear_addr !== undefined) s += ` ${hex(o.linear_addr)}`;
        if (o.nr_ents !== undefined) s += ` nr_ents ${o.nr_ents}`;
        if (o.vcpumask !== undefined) s += o.vcpumask === null ? ' vcpumask <bad pointer>' : ` vcpus [${o.vcpumask.join(',')}]`;
        return s;
      });
      const fd = c.foreigndom !== undefined && c.foreigndom !== DOMID_SELF ? ` foreigndom ${c.foreigndom}` : '';
      return `mmuext_op ${ops.join(', ')}${fd}`;
    }
    case 'update_va_mapping':
    case 'update_va_mapping_otherdomain': {
      let s = `${c.op} va ${hex(c.va)} val ${hex(c.val)} ${flagsToJson(c.flags, c.vcpumask !== undefined)}`;
      if (c.vcpumask !== undefined) s += c.vcpumask === null ? ' vcpumask <bad pointer>' : ` vcpus [${c.vcpumask.join(',')}]`;
      return c.op === 'update_va_mapping' ? s : `${s} domid ${c.domid}`;
    }
    case 'multicall':
      return `multicall [${c.calls.map(describeCall).join('; ')}]`;
    case 'decrease_reservation':
    case 'memory_exchange':
      return `${c.op} ${c.mfns.map(hex).join(', ')}`;
    case 'set_gdt':
      return `set_gdt ${c.frames.map(hex).join(', ')} entries ${c.entries}`;
    case 'hypercall':
      return `hypercall ${hex(c.nr)}`;
  }
}

export function describe(rec: TraceRecord): string {
  switch (rec.op) {
    case 'create_domain':
      return `create_domain d${rec.domid} vcpus ${rec.vcpus} frames ${hex(rec.frames.base)}-${hex(rec.frames.base + rec.frames.count - 1)}${rec.privileged ? ' privileged' : ''}${rec.hardware ? ' hardware' : ''}${rec.writable_pagetables ? ' writable_pagetables' : ''}`;
    case 'destroy_domain':
      return `destroy_domain d${rec.domid}`;
    case 'store':
      return `store ${hex(rec.mfn)}[${rec.slot}] = ${hex(rec.val)}`;
    case 'frame':
      return `frame ${hex(rec.mfn)}`;
    case 'read':
      return `read ${hex(rec.mfn)}[${rec.slot}]`;
    case 'access':
      return `access ${hex(rec.va)} ${rec.write ? 'write' : 'read'}`;
    case 'audit':
      return 'audit';
    default:
      return describeCall(rec);
  }
}

/** A blocker in words, as the log's readers say it (inspect, export): "L1 0x1003 slot 17 maps it writable". */
function holderText(h: Holder, caller: Caller): string {
  return blockerText(holderJson(h), caller.dom);
}

function refusalText(r: Refusal, caller: Caller): string {
  let s = r.reason;
  if (r.blockers.length === 1) s += ` — blocker: ${holderText(r.blockers[0]!, caller)}`;
  else if (r.blockers.length > 1) s += ` — blockers: ${r.blockers.map((h) => holderText(h, caller)).join('; ')}`;
  if (r.chain.length > 0) s += ` (via ${r.chain.map((c) => `L${c.level} ${hex(c.mfn)} slot ${c.slot}`).join(' → ')})`;
  return s;
}

function resultText(rec: TraceRecord, r: RecordResult): string {
  if (r.frame !== undefined) {
    const f = r.frame;
    const bits = [f.owner === null ? 'no owner' : `d${f.owner}`, f.type, `type_count ${f.type_count}`];
    if (f.validated) bits.push('validated');
    if (f.pinned) bits.push('pinned');
    bits.push(`count ${f.count}`);
    return `${bits.join(' ')}  caf=${f.caf} taf=${f.taf}`;
  }
  if (rec.op === 'read' && r.val !== undefined) {
    return `${hex(r.val)} (${r.present ? `mfn ${hex(r.mfn ?? 0)}, present` : 'not present'})`;
  }
  if (rec.op === 'access') {
    if (r.rc !== 0) return `${rcText(r.rc)} page fault${r.tlb_hit ? ' (tlb hit)' : ''}${r.stale ? ' STALE' : ''}`;
    return `mfn ${hex(r.mfn ?? 0)}${r.writable ? ' writable' : ' read-only'}${r.tlb_hit ? ' tlb hit' : ' walk'}${r.stale ? ' STALE TLB ENTRY' : ''}`;
  }
  if (rec.op === 'audit') return r.mismatches?.length ? `${r.mismatches.length} mismatches` : 'clean';
  if (rec.op === 'decrease_reservation') return `${r.rc} done`;
  if (rec.op === 'create_domain' || rec.op === 'destroy_domain') return '';
  let s = rcText(r.rc);
  if (r.results !== undefined) s += `  results [${r.results.map(rcText).join(', ')}]`;
  const n = rec.op === 'mmu_update' ? rec.reqs.length : rec.op === 'mmuext_op' ? rec.ops.length : 0;
  if (r.done !== undefined && r.rc !== 0 && n > 1) s += `  done ${r.done}/${n}`;
  return s;
}

export function linePrefix(line: number): string {
  const s = `line ${line}`;
  return s + ' '.repeat(Math.max(2, 9 - s.length));
}
const INDENT = ' '.repeat(11);

/** --json: the record's line, op and result, and what went wrong. */
export function outcomeJson(o: Outcome): string {
  const j: Record<string, unknown> = { line: o.line, op: o.rec.op, ...resultToJson(o.result, false) };
  if (o.check !== undefined && !o.check.ok) {
    j.expect = 'failed';
    j.expected = o.check.expected;
    j.actual = o.check.actual;
  }
  if (o.audit !== undefined && o.audit.length > 0) j.audit = o.audit;
  return JSON.stringify(j) + '\n';
}

/** The human report of a record: what it did, Xen's answer, its refusals, expectation and audit. */
export function outcomeText(o: Outcome, firstDomain: number | undefined): string {
  const { rec, caller, result, check } = o;
  const who = hasCaller(rec) && (caller.vcpu !== 0 || caller.dom !== firstDomain) ? `d${caller.dom}v${caller.vcpu} ` : '';
  let text = linePrefix(o.line) + who + describe(rec);
  const refusals = result.refusals ?? [];
  const res = resultText(rec, result);
  if (res !== '') text += '  ' + res;
  if (refusals.length === 1 && rec.op !== 'multicall') {
    text += '  ' + refusalText(refusals[0]!, caller);
  } else {
    for (const r of refusals) text += `\n${INDENT}${r.at}: ${r.what}  ${rcText(r.rc)}  ${refusalText(r, caller)}`;
  }
  if (check !== undefined) {
    if (check.ok) text += '  [as expected]';
    else text += `\n${INDENT}EXPECT FAILED: expected ${JSON.stringify(check.expected)}, got ${JSON.stringify(check.actual)}`;
  }
  if (rec.op === 'audit') for (const m of result.mismatches!) text += `\n${INDENT}AUDIT: ${m}`;
  if (o.audit !== undefined) for (const m of o.audit) text += `\n${INDENT}AUDIT (--audit): ${m}`;
  return text + '\n';
}
