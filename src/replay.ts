// `replay FILE`: runs a trace (or a hypercall log) against the simulated Xen, record by record, in
// order; checks expectations; writes the hypercall log, and a report on stdout (human, or one JSON
// object per record with --json). Exit status as trace-format.md says: 0 all ran and held, 1 an
// expectation (or an audit) failed, 2 the input is not a valid trace (nothing after the bad line
// runs). Two more: 1 for an exception inside the model, 130 when interrupted.
import { DOMID_SELF, errnoName, MMU, mmuextName } from '../hypervisor/abi.ts';
import { Hypervisor, SetupError } from '../hypervisor/index.ts';
import type { Caller, Holder, Hypercall, Refusal, XenObserver } from '../hypervisor/types.ts';
import { createLog, type HypercallLog, type LogLevel, type LogSink, type StopReason } from './log.ts';
import { checkExpect, type ExpectCheck } from './trace/expect.ts';
import { TraceError } from './trace/fields.ts';
import { readTraceBatches } from './trace/read.ts';
import { flattenResult, resultToJson, type RecordResult } from './trace/result.ts';
import { hasCaller, isHypercallRecord, type Expect, type TraceRecord } from './trace/types.ts';
import { flagsToJson, hex } from './trace/write.ts';

export interface Sink {
  write(s: string): unknown;
}

export interface ReplayOptions {
  /** One JSON object per record on `out` instead of the human report. */
  json?: boolean;
  /**
   * Report only the records that went wrong (a failed expectation, audit mismatches) and the
   * summary: for long traces, whose details are in the log.
   */
  quiet?: boolean;
  /** Report destination (default process.stdout). */
  out?: Sink;
  /** Error messages (default process.stderr). */
  err?: Sink;
  /** Write the hypercall log to this file (truncated) or sink. */
  log?: string | LogSink;
  logLevel?: LogLevel;
  /** Run hv.audit() after every record; a mismatch stops the replay (exit 1). */
  audit?: boolean;
  /** Abort = stop before the next record (reason "interrupted", exit 130). */
  signal?: AbortSignal;
  /** Xen's build: 'debug' (default) logs gdprintk texts with each refusal; 'release' none. */
  xenBuild?: 'debug' | 'release';
}

export interface ReplaySummary {
  exit: number;
  reason: StopReason;
  /** Records executed. */
  records: number;
  hypercalls: number;
  /** Hypercalls with rc < 0 or a refused entry. */
  refused: number;
  held: number;
  failed: number;
  /** The message of a bad input or an internal error. */
  error?: string;
}

export const EXIT_INTERRUPTED = 130;

/** Runs one record against Xen and returns its result. Throws SetupError (and model bugs). */
export function execute(hv: Hypervisor, rec: TraceRecord, caller: Caller): RecordResult {
  switch (rec.op) {
    case 'create_domain': {
      const spec = { domid: rec.domid, vcpus: rec.vcpus, base: rec.frames.base, count: rec.frames.count };
      hv.createDomain(rec.privileged === undefined ? spec : { ...spec, privileged: rec.privileged });
      return { rc: 0 };
    }
    case 'destroy_domain':
      hv.destroyDomain(rec.domid);
      return { rc: 0 };
    case 'store':
      return { rc: hv.store(caller, rec.mfn, rec.slot, rec.val, rec.count, rec.stride) };
    case 'decrease_reservation':
      return { rc: hv.decreaseReservation(caller, rec.mfns) };
    case 'memory_exchange': {
      const r = hv.memoryExchange(caller, rec.mfns);
      return { rc: r.rc, refusals: r.refusals };
    }
    case 'set_gdt': {
      const r = hv.setGdt(caller, rec.frames, rec.entries);
      return { rc: r.rc, refusals: r.refusals };
    }
    case 'frame':
      return { rc: 0, frame: hv.frame(rec.mfn) };
    case 'read': {
      const val = hv.read(rec.mfn, rec.slot);
      // The entry's frame number (bits 12–51) and present bit.
      return { rc: 0, val, mfn: Number((val >> 12n) & 0xff_ffff_ffffn), present: (val & 1n) === 1n };
    }
    case 'access': {
      const a = hv.access(caller, rec.va, rec.write);
      const r: RecordResult = { rc: a.rc };
      if (a.mfn !== undefined) r.mfn = a.mfn;
      if (a.writable !== undefined) r.writable = a.writable;
      r.tlb_hit = a.tlb_hit;
      r.stale = a.stale;
      return r;
    }
    case 'audit':
      return { rc: 0, mismatches: hv.audit() };
    default: {
      const c = hv.hypercall(caller, rec);
      const r: RecordResult = { rc: c.rc };
      if (c.done !== undefined) r.done = c.done;
      if (c.results !== undefined) r.results = c.results;
      r.refusals = c.refusals;
      return r;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The human report: one line per record, in Xen's words.

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
    case 'update_va_mapping': {
      let s = `update_va_mapping va ${hex(c.va)} val ${hex(c.val)} ${flagsToJson(c.flags, c.vcpumask !== undefined)}`;
      if (c.vcpumask !== undefined) s += c.vcpumask === null ? ' vcpumask <bad pointer>' : ` vcpus [${c.vcpumask.join(',')}]`;
      return s;
    }
    case 'multicall':
      return `multicall [${c.calls.map(describeCall).join('; ')}]`;
  }
}

export function describe(rec: TraceRecord): string {
  switch (rec.op) {
    case 'create_domain':
      return `create_domain d${rec.domid} vcpus ${rec.vcpus} frames ${hex(rec.frames.base)}-${hex(rec.frames.base + rec.frames.count - 1)}${rec.privileged ? ' privileged' : ''}`;
    case 'destroy_domain':
      return `destroy_domain d${rec.domid}`;
    case 'store':
      return `store ${hex(rec.mfn)}[${rec.slot}] = ${hex(rec.val)}`;
    case 'decrease_reservation':
    case 'memory_exchange':
      return `${rec.op} ${rec.mfns.map(hex).join(', ')}`;
    case 'set_gdt':
      return `set_gdt ${rec.frames.map(hex).join(', ')} entries ${rec.entries}`;
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

function holderText(h: Holder, caller: Caller): string {
  const d = h.dom !== caller.dom ? ` (d${h.dom})` : '';
  switch (h.kind) {
    case 'l1e':
      return `L1 ${hex(h.mfn)} slot ${h.slot ?? '?'} maps it${h.rw === true ? ' writable' : h.rw === false ? ' read-only' : ''}${d}`;
    case 'l2e':
    case 'l3e':
    case 'l4e':
      return `L${h.kind[1]} ${hex(h.mfn)} slot ${h.slot ?? '?'} references it${d}`;
    case 'pin':
      return `pinned ${hex(h.mfn)}${d}`;
    case 'cr3':
      return `CR3 of d${h.dom}v${h.vcpu ?? '?'}`;
    case 'cr3_user':
      return `user CR3 of d${h.dom}v${h.vcpu ?? '?'}`;
    case 'gdt':
      return `GDT of d${h.dom}v${h.vcpu ?? '?'}`;
  }
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

// ---------------------------------------------------------------------------------------------

/** The exception text of a model bug: its message and the first frame of the stack. */
function errorText(e: unknown): string {
  if (e instanceof Error) {
    const at = e.stack?.split('\n').find((l) => l.trim().startsWith('at '))?.trim();
    return at ? `${e.name}: ${e.message} (${at})` : `${e.name}: ${e.message}`;
  }
  return String(e);
}

/** Runs the trace at `path`. Never throws for bad input or a model exception: see the summary. */
export async function replay(path: string, opts: ReplayOptions = {}): Promise<ReplaySummary> {
  const out: Sink = opts.out ?? process.stdout;
  const err: Sink = opts.err ?? process.stderr;
  const json = opts.json === true;
  const quiet = opts.quiet === true;
  // The report's lines go out 16 at a time: a write per line to a file or pipe cost more than the
  // simulator, and joining a whole batch's lines, once they have outlived a young-space
  // collection, cost more than joining them young.
  let report: string[] = [];
  const flushReport = (): void => {
    if (report.length > 0) out.write(report.join(''));
    report = [];
  };
  const log: HypercallLog | undefined =
    opts.log !== undefined ? createLog({ dest: opts.log, level: opts.logLevel ?? 'info' }) : undefined;
  const s: ReplaySummary = { exit: 0, reason: 'finished', records: 0, hypercalls: 0, refused: 0, held: 0, failed: 0 };

  const stop = (reason: StopReason, exit: number, message?: string): void => {
    s.reason = reason;
    s.exit = exit;
    if (message !== undefined) {
      s.error = message;
      flushReport(); // what ran before the stop is reported before why it stopped
      err.write(message + '\n');
    }
  };

  const clock = log?.clock ?? { time: 0, line: 0 };
  let recordLine = 0;
  try {
    // Who reads a refusal's blockers: the report and the log. With --quiet and no log, only the
    // line of a record whose expectation failed, so they are searched for records with one.
    const everyBlocker = !quiet || log !== undefined;
    const observer: XenObserver = {};
    if (log !== undefined && log.enabled('info')) observer.flush = (e) => log.flush(e);
    let hv: Hypervisor;
    try {
      hv = new Hypervisor({ observer, debugBuild: opts.xenBuild !== 'release', blockers: everyBlocker });
    } catch (e) {
      const msg = errorText(e);
      log?.internalError(msg);
      stop('internal_error', 1, `${path}: internal error: ${msg}`);
      return s;
    }

    /** Runs one record, logs and reports it; false = stop the replay. */
    const runOne = (line: number, rec: TraceRecord): boolean => {
      if (opts.signal?.aborted) {
        stop('interrupted', EXIT_INTERRUPTED);
        return false;
      }
      recordLine = line;
      clock.line = line;
      clock.time = s.records + 1;

      // The caller: dom defaults to the first domain created, vcpu to 0.
      let caller: Caller = { dom: 0, vcpu: 0 };
      if (hasCaller(rec)) {
        const dom = rec.dom ?? hv.firstDomain();
        if (dom === undefined) {
          throw new TraceError(path, line, 'field "dom": no domain to act as: no create_domain before this record', 'dom');
        }
        caller = { dom, vcpu: rec.vcpu ?? 0 };
      }

      let result: RecordResult;
      if (!everyBlocker) hv.blockers = rec.expect !== undefined;
      try {
        result = execute(hv, rec, caller);
      } catch (e) {
        if (e instanceof SetupError) {
          const field = e.field ?? (hasCaller(rec) ? (rec.dom === undefined ? 'vcpu' : 'dom') : undefined);
          throw new TraceError(path, line, field !== undefined ? `field "${field}": ${e.message}` : e.message, field);
        }
        const msg = errorText(e);
        log?.internalError(msg);
        stop('internal_error', 1, `${path}:${line}: internal error in the model running ${rec.op}: ${msg}`);
        return false;
      }
      s.records++;
      const isCall = isHypercallRecord(rec);
      if (isCall) {
        s.hypercalls++;
        if (result.rc < 0 || (result.refusals !== undefined && result.refusals.length > 0) || result.results?.some((r) => r < 0)) {
          s.refused++;
        }
      }

      // Expectations: the record's own, and audit's implicit "no mismatches".
      let expect: Expect | undefined = rec.expect;
      if (rec.op === 'audit') {
        expect = { ...(typeof expect === 'number' ? { rc: expect } : (expect ?? {})), mismatches: [] };
      }
      let check: ExpectCheck | undefined;
      if (expect !== undefined) {
        check = checkExpect(rec.op, expect, flattenResult(result));
        if (check.ok) s.held++;
        else s.failed++;
      }
      const auditMismatches = opts.audit ? hv.audit() : undefined;

      // The log: record line, refusals, expectation, audit.
      if (log !== undefined) {
        log.record(rec, caller, result);
        if (result.refusals !== undefined) log.refusals(caller, result.refusals);
        if (check !== undefined && !check.ok) log.expectFailed(rec.op, check.expected, check.actual);
        if (rec.op === 'audit' && result.mismatches!.length > 0) log.audit(result.mismatches!, 'record');
        if (auditMismatches !== undefined && auditMismatches.length > 0) log.audit(auditMismatches, '--audit');
      }

      // The report: every record, or with --quiet only those that went wrong.
      const wrong =
        (check !== undefined && !check.ok) ||
        (rec.op === 'audit' && result.mismatches!.length > 0) ||
        (auditMismatches !== undefined && auditMismatches.length > 0);
      if (quiet && !wrong) {
        // Nothing for this record.
      } else if (json) {
        const o: Record<string, unknown> = { line, op: rec.op, ...resultToJson(result, false) };
        if (check !== undefined && !check.ok) {
          o.expect = 'failed';
          o.expected = check.expected;
          o.actual = check.actual;
        }
        if (auditMismatches !== undefined && auditMismatches.length > 0) o.audit = auditMismatches;
        report.push(JSON.stringify(o) + '\n');
      } else {
        const who = hasCaller(rec) && (caller.vcpu !== 0 || caller.dom !== hv.firstDomain()) ? `d${caller.dom}v${caller.vcpu} ` : '';
        let text = linePrefix(line) + who + describe(rec);
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
        if (auditMismatches !== undefined) for (const m of auditMismatches) text += `\n${INDENT}AUDIT (--audit): ${m}`;
        report.push(text + '\n');
      }
      if (report.length >= 16) flushReport();

      if (auditMismatches !== undefined && auditMismatches.length > 0) {
        stop('audit', 1, `${path}:${line}: audit after ${rec.op} found ${auditMismatches.length} mismatch(es): ${auditMismatches[0]}`);
        return false;
      }
      return true;
    };

    // Records come in batches (one read chunk each): no promise per record. The log lines of a
    // batch's records reach the file in one write when the batch is done (or the replay stops): a
    // write per line cost more than the simulator.
    run: for await (const batch of readTraceBatches(path)) {
      log?.hold();
      try {
        for (const { line, record } of batch) if (!runOne(line, record)) break run;
      } finally {
        flushReport();
        log?.release();
      }
    }
    if (s.reason === 'finished' && s.failed > 0) {
      s.reason = 'expect_failed';
      s.exit = 1;
    }
  } catch (e) {
    if (!(e instanceof TraceError)) {
      const msg = errorText(e);
      log?.internalError(msg);
      stop('internal_error', 1, `${path}:${recordLine}: internal error: ${msg}`);
    } else {
      log?.badInput(e.message, e.file, e.line, e.field);
      stop('bad_input', 2, e.message);
    }
  } finally {
    flushReport();
    log?.end(s.reason, s.records, s.exit);
    log?.close();
  }

  if (!json) {
    const others = s.records - s.hypercalls;
    const lines = [
      '',
      `${s.records} records: ${s.hypercalls} hypercalls (${s.refused} refused), ${others} setup records and queries`,
      `expectations: ${s.held} held, ${s.failed} failed`,
      `stopped: ${s.reason.replace('_', ' ')}, exit ${s.exit}`,
    ];
    out.write(lines.join('\n') + '\n');
  }
  return s;
}
