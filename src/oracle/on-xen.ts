// `xensim replay TRACE --on xen [--xen PATH] [--compare]`: runs the trace on real Xen 4.17 (QEMU,
// the oracle kernel as dom0, see docs/oracle.md) and prints the replay report with Xen's results;
// --compare also runs the model and lists every disagreement. Exit 0 when every expectation Xen
// can answer held (and, with --compare, nothing disagreed), 1 otherwise, 2 when the trace cannot
// run on real Xen (the message says why) or Xen/QEMU is missing.
import { describe, linePrefix } from '../replay/report.ts';
import type { Sink } from '../replay/replay.ts';
import { checkExpect } from '../trace/expect.ts';
import { TraceError } from '../trace/fields.ts';
import { readTrace } from '../trace/read.ts';
import type { Expect, ExpectValue, TraceEntry, TraceRecord } from '../trace/types.ts';
import { hex } from '../trace/write.ts';
import { diffSequence, disagreementText, runModel, type Disagreement } from './diff.ts';
import { encodeSequence, program, Unmappable, type Encoded } from './encode.ts';
import { boot, findXen } from './qemu.ts';
import { parseRun, type XenResult, type XenSequence } from './results.ts';

export interface OnXenOptions {
  xen?: string;
  compare?: boolean;
  json?: boolean;
  out?: Sink;
  err?: Sink;
}

/** Runs encoded sequences in one boot. Throws when Xen or the kernel fails (message says how). */
export async function runSequences(seqs: readonly Encoded[], xenPath?: string): Promise<XenSequence[]> {
  const firstDomU = seqs.findIndex((s) => !s.privileged);
  if (firstDomU >= 0 && seqs.slice(firstDomU).some((s) => s.privileged)) {
    throw new Error('a privileged trace after an unprivileged one in the same boot: dom0 cannot get its I/O rights back');
  }
  const setup = findXen(xenPath);
  if (typeof setup === 'string') throw new XenMissing(setup);
  // TCG boots in ~1.3 s; a sequence takes well under a second: anything longer is a hang.
  const res = await boot(setup, program(seqs), 60_000 + 3_000 * seqs.length);
  const parsed = parseRun(res.lines, seqs);
  if (res.ended !== 'halted' || parsed.length !== seqs.length || parsed.some((s) => !s.complete)) {
    const tail = res.serial.split('\n').slice(-12).join('\n');
    throw new Error(`real Xen did not finish the run (${res.ended}, ${parsed.length}/${seqs.length} sequences); the serial console's end:\n${tail}`);
  }
  return parsed;
}

export class XenMissing extends Error {}

const PT_TYPES = new Set(['l1', 'l2', 'l3', 'l4']);

/** The part of an expectation real Xen can answer, and the keys it cannot. */
export function xenExpect(rec: TraceRecord, e: Expect): { expect: Expect | undefined; skipped: string[] } {
  if (typeof e === 'number') return { expect: e, skipped: [] };
  const keep: Record<string, ExpectValue> = {};
  const skipped: string[] = [];
  for (const [k, v] of Object.entries(e)) {
    const ok =
      k === 'rc' || k === 'done' || k === 'results' ||
      (rec.op === 'read' && (k === 'val' || k === 'mfn' || k === 'present')) ||
      (rec.op === 'frame' && k === 'pinned') ||
      (rec.op === 'frame' && k === 'owner') ||
      (rec.op === 'frame' && k === 'type' && (PT_TYPES.has(String(v)) ? e.type_count !== 0 : v === 'none'));
    if (ok) keep[k] = v;
    else skipped.push(k);
  }
  return { expect: Object.keys(keep).length > 0 ? keep : undefined, skipped };
}

function flatten(rec: TraceRecord, enc: Encoded, r: XenResult): Record<string, unknown> {
  const o: Record<string, unknown> = { ...r };
  if (rec.op === 'frame') o.owner = r.type === 'foreign' ? null : enc.domid;
  return o;
}

function rcText(rc: number): string {
  return rc === 0 ? 'OK' : String(rc);
}

function resultText(rec: TraceRecord, r: XenResult): string {
  if (rec.op === 'frame') return `${r.type}${r.pinned ? ' pinned' : ''}  (getpageframeinfo3 ${hex(r.pfinfo ?? 0)})`;
  if (rec.op === 'read') return `${hex(r.val ?? 0n)} (${r.present ? `mfn ${hex(r.mfn ?? 0)}, present` : 'not present'})`;
  if (rec.op === 'access') return r.rc === 0 ? 'OK' : `${r.rc} page fault`;
  if (rec.op === 'store' && r.mapRc !== undefined) return `${r.rc}  (Xen refused the writable mapping: ${r.mapRc})`;
  let s = rcText(r.rc);
  if (r.results !== undefined) s += `  results [${r.results.map(rcText).join(', ')}]`;
  const n = rec.op === 'mmu_update' ? rec.reqs.length : rec.op === 'mmuext_op' ? rec.ops.length : 0;
  if (r.done !== undefined && r.rc !== 0 && n > 1) s += `  done ${r.done}/${n}`;
  return s;
}

async function readAll(path: string): Promise<TraceEntry[]> {
  const all: TraceEntry[] = [];
  for await (const e of readTrace(path)) all.push(e);
  return all;
}

interface Tally {
  held: number;
  failed: number;
  unchecked: number;
}

/** One record's report line (or JSON object) with Xen's result and its expectation. */
function reportRecord(enc: Encoded, xen: XenSequence, i: number, tally: Tally, json: boolean): string | undefined {
  const { line, record } = enc.plan[i]!;
  const r = xen.results[i];
  if (record.op === 'create_domain') {
    if (json) return JSON.stringify({ line, op: record.op, pool: xen.pool.map(hex) });
    return `${linePrefix(line)}${describe(record)}  on dom0's frames ${xen.pool.length > 0 ? `${hex(xen.pool[0]!)}…` : ''}`;
  }
  if (xen.stoppedAt === i) return `${linePrefix(line)}${describe(record)}  NOT RUN: the trace uses slot 511 of the base, the oracle kernel's; the rest is not run`;
  if (r === undefined) return undefined;
  let text = `${linePrefix(line)}${describe(record)}  ${resultText(record, r)}`;
  const jo: Record<string, unknown> = { line, op: record.op, ...r, val: r.val === undefined ? undefined : hex(r.val), mfn: r.mfn === undefined ? undefined : hex(r.mfn) };
  if (record.expect !== undefined) {
    const { expect, skipped } = xenExpect(record, record.expect);
    if (expect !== undefined) {
      const check = checkExpect(record.op, expect, flatten(record, enc, r));
      if (check.ok) {
        tally.held++;
        text += '  [as expected]';
      } else {
        tally.failed++;
        jo.expect = 'failed';
        text += `\n${' '.repeat(11)}EXPECT FAILED: expected ${JSON.stringify(check.expected)}, got ${JSON.stringify(check.actual)}`;
      }
    }
    if (skipped.length > 0) {
      tally.unchecked++;
      text += `  (not visible on Xen: ${skipped.join(', ')})`;
    }
  }
  return json ? JSON.stringify(jo) : text;
}

/** Encodes and runs the trace at `path`; a string is the message of an exit 2 (or 1: `code`). */
async function runTrace(path: string, xenPath?: string): Promise<{ enc: Encoded; xen: XenSequence } | { message: string; code: number }> {
  try {
    const enc = encodeSequence(await readAll(path), 0);
    const [xen] = (await runSequences([enc], xenPath)) as [XenSequence];
    return { enc, xen };
  } catch (e) {
    if (e instanceof TraceError) return { message: e.message, code: 2 };
    if (e instanceof Unmappable || e instanceof XenMissing) return { message: `${path}: ${e.message}`, code: 2 };
    return { message: `${path}: ${(e as Error).message}`, code: 1 };
  }
}

export async function replayOnXen(path: string, opts: OnXenOptions = {}): Promise<number> {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const run = await runTrace(path, opts.xen);
  if ('message' in run) {
    err.write(run.message + '\n');
    return run.code;
  }
  const { enc, xen } = run;
  const tally: Tally = { held: 0, failed: 0, unchecked: 0 };
  for (let i = 0; i < enc.plan.length; i++) {
    const text = reportRecord(enc, xen, i, tally, opts.json === true);
    if (text !== undefined) out.write(text + '\n');
  }
  let disagreements: Disagreement[] = [];
  if (opts.compare) {
    disagreements = diffSequence(enc, runModel(enc), xen);
    const hw = disagreements.filter((d) => d.hardware).length;
    out.write(`\ncompared with the model: ${disagreements.length - hw} disagreements${hw > 0 ? ` (+${hw} A/D-bit differences, out of scope)` : ''}\n`);
    for (const d of disagreements) out.write(`  ${disagreementText(d)}\n`);
  }
  if (!opts.json) {
    const extra = tally.unchecked > 0 ? `, ${tally.unchecked} with keys Xen does not show (type_count, count, tlb state…)` : '';
    out.write(`\non real Xen 4.17: expectations: ${tally.held} held, ${tally.failed} failed${extra}\n`);
  }
  return tally.failed > 0 || disagreements.some((d) => !d.hardware) ? 1 : 0;
}
