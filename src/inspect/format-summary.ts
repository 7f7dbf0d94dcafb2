// `inspect --format summary` (the default without filters): the summary as a person reads it.
import { HYPERCALL_OPS } from '../log/line.ts';
import type { Printer, PrinterOptions } from './printer.ts';
import { Summary, type SummaryJson } from './summary.ts';

/** "a 3, b 1" from a count map, largest first. */
function counts(m: Record<string, number>, limit = 12): string {
  const e = Object.entries(m).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const shown = e.slice(0, limit).map(([k, v]) => `${k} ${v}`);
  if (e.length > limit) shown.push(`… ${e.length - limit} more`);
  return shown.join(', ');
}

function table(head: string[], rows: string[][]): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(head), ...rows.map(fmt)];
}

const at = (time: number | null, line?: number | null): string =>
  `${line !== undefined && line !== null ? `line ${line}, ` : ''}t=${time ?? '?'}`;

/** The file, its span, how it stopped, the levels. */
function headLines(s: SummaryJson, out: string[]): void {
  const span = s.time ? `, time ${s.time.first}..${s.time.last}` : '';
  const extra = [s.unparsed ? `${s.unparsed} not JSON` : '', s.comments ? `${s.comments} comments` : ''].filter(Boolean).join(', ');
  out.push(`${s.file}: ${s.lines} lines${extra ? ` (+ ${extra})` : ''}${span}`);
  if (s.end) out.push(`stopped: ${s.end.reason}${s.end.records !== null ? `, ${s.end.records} records` : ''}${s.end.exit !== null ? `, exit ${s.end.exit}` : ''}`);
  out.push(`levels: ${counts(s.levels) || 'none'}`);
}

/** Hypercalls by op and errno; the other records. */
function hypercallLines(s: SummaryJson, out: string[]): void {
  const ops = Object.entries(s.records.by_op);
  const hc = ops.filter(([op]) => HYPERCALL_OPS.has(op));
  out.push('', `hypercalls: ${s.records.hypercalls}`);
  if (hc.length > 0) {
    const errnos = [...new Set(hc.flatMap(([, v]) => Object.keys(v.results)))].sort((a, b) => (a === 'OK' ? -1 : b === 'OK' ? 1 : a < b ? -1 : 1));
    const rows = hc
      .sort((a, b) => b[1].total - a[1].total)
      .map(([op, v]) => [`  ${op}`, String(v.total), ...errnos.map((e) => (v.results[e] ? String(v.results[e]) : ''))]);
    out.push(...table(['  op', 'total', ...errnos], rows));
  }
  if (Object.keys(s.mmuext_cmds).length > 0) out.push(`  mmuext commands: ${counts(s.mmuext_cmds, 20)}`);
  for (const [op, r] of Object.entries(s.multicall_entries)) out.push(`  in multicalls: ${op} ${counts(r)}`);
  const other = ops.filter(([op]) => !HYPERCALL_OPS.has(op));
  if (other.length > 0) {
    const parts = other.map(([op, v]) => {
      const bad = Object.entries(v.results).filter(([e]) => e !== 'OK' && e !== 'none');
      return `${op} ${v.total}${bad.length ? ` (${bad.map(([e, n]) => `${e} ${n}`).join(', ')})` : ''}`;
    });
    out.push(`other records: ${s.records.total - s.records.hypercalls} — ${parts.join(', ')}`);
  }
}

/** Hypercalls per domain and per vCPU (xenalyze's split), when more than one caller made any. */
function callerLines(s: SummaryJson, out: string[]): void {
  const callers = Object.entries(s.by_caller);
  if (callers.length < 2) return;
  const byKey = (a: [string, unknown], b: [string, unknown]) => a[0].localeCompare(b[0], 'en', { numeric: true });
  const rows = [...Object.entries(s.by_domain).sort(byKey), ...callers.sort(byKey)].map(([k, c]) => [`  ${k}`, String(c.hypercalls), String(c.failed), counts(c.by_op, 4)]);
  out.push('', 'hypercalls by domain and vCPU:', ...table(['  caller', 'calls', 'failed', 'ops'], rows));
}

/** Refusals, grouped by reason and blocker. */
function refusalLines(s: SummaryJson, out: string[]): void {
  const r = s.refusals;
  out.push('', `refused: ${r.total}${r.total ? ` (pins ${r.pins}, entries ${r.entries}, other ${r.other})` : ''}`);
  for (const g of r.groups.slice(0, 20)) {
    out.push(`  ${g.count}× ${g.op} -${g.errno}  ${g.reason}  [blocker: ${g.blockers}]`);
    const f = g.first;
    const who = f.dom !== null ? ` d${f.dom}v${f.vcpu ?? '?'}` : '';
    out.push(`      first at ${at(f.time, f.line)}${who}: ${f.what}${f.blocker ? ` — ${f.blocker}` : ''}`);
    if (g.mfns.length > 1) out.push(`      frames: ${g.mfns.join(', ')}${g.count > g.mfns.length ? ', …' : ''}`);
  }
  if (r.groups.length > 20) out.push(`  … ${r.groups.length - 20} more groups (--json lists them all)`);
}

/** Flushes, the guest, and what went wrong. */
function guestLines(s: SummaryJson, out: string[]): void {
  out.push('', `TLB flushes: ${s.flushes.total}${s.flushes.total ? ` — ${counts(s.flushes.by_cause)}` : ''}`);
  if (s.guest.events > 0) {
    out.push(`IPIs: ${s.ipis.sent} sent (${s.ipis.waited} waited for), ${s.ipis.acks} acks${s.ipis.sent ? ` — ${counts(s.ipis.by_func)}` : ''}`);
    if (s.irqs.disabled + s.irqs.enabled > 0) out.push(`interrupts: ${s.irqs.disabled} off, ${s.irqs.enabled} on — ${counts(s.irqs.by_why, 6)}`);
    const g = s.guest;
    out.push(
      `guest: ${g.events} events; ops ${counts(g.ops) || 'none'}; vm_unmap_aliases ${g.vm_unmap_aliases}, purges ${g.purges}, ` +
        `kernel TLB flushes ${g.kernel_flushes}, stop_machine ${g.stop_machine}` +
        (g.pins.ok + g.pins.failed ? `, pins ${g.pins.ok} ok / ${g.pins.failed} failed` : '') +
        (g.exchanges.ok + g.exchanges.failed ? `, memory exchanges ${g.exchanges.ok} ok / ${g.exchanges.failed} refused` : ''),
    );
  } else {
    out.push('guest events: none (a replay log)');
  }
}

/** WARNs, BUGs, deadlocks, hazards, failed expectations, bad input. */
function problemLines(s: SummaryJson, out: string[]): void {
  out.push(`WARN: ${s.warns.total}  BUG: ${s.bugs.total}  deadlocks: ${s.deadlocks.total}  hazards: ${s.hazards.total}`);
  for (const w of s.warns.first.slice(0, 3)) out.push(`  WARN ${at(w.time)} vCPU${w.vcpu ?? '?'} ${w.where}: ${w.msg}`);
  if (s.warns.total > 3) out.push(`  WARN sites: ${counts(s.warns.by_where)}`);
  for (const b of s.bugs.list.slice(0, 3)) out.push(`  BUG ${at(b.time)} vCPU${b.vcpu ?? '?'} ${b.where}: ${b.msg}${b.reason ? ` (${b.reason})` : ''}`);
  for (const d of s.deadlocks.list.slice(0, 3)) out.push(`  DEADLOCK ${at(d.time)}: ${d.cycle}`);
  for (const h of s.hazards.first.slice(0, 3)) {
    out.push(`  hazard ${at(h.time)} vCPU${h.vcpu ?? '?'} ${h.kind} ${h.start}..${h.end}, stale on vCPUs [${h.stale_vcpus.join(',')}]`);
  }
  if (s.expect_failed || s.audit_mismatches) out.push(`expectations failed: ${s.expect_failed}  audit mismatches: ${s.audit_mismatches}`);
  for (const b of s.bad_input) out.push(`bad input: ${b}`);
  for (const e of s.internal_errors) out.push(`internal error: ${e}`);
  if (Object.keys(s.unknown_events).length > 0) out.push(`other events: ${counts(s.unknown_events)}`);
}

/** The summary as a person reads it: the most telling things first, nothing that is zero twice. */
export function summaryText(s: SummaryJson): string {
  const out: string[] = [];
  for (const section of [headLines, hypercallLines, callerLines, refusalLines, guestLines, problemLines]) section(s, out);
  return out.join('\n') + '\n';
}

export function summaryPrinter(o: PrinterOptions): Printer {
  const summary = new Summary(o.path);
  return {
    line(l) {
      summary.add(l.o, l.n);
      return '';
    },
    skipped(l) {
      if (!o.filtering) summary.addUnparsed(l.comment);
    },
    end(problem) {
      const s = summary.json();
      if (problem !== undefined && s.lines === 0) return { summary: s };
      return { out: o.json ? JSON.stringify(s) + '\n' : summaryText(s), summary: s };
    },
  };
}
