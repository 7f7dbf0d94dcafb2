// The differential fuzzer's parts (npm run fuzz:xen is src/oracle/fuzz.ts): generated traces cut
// to what the oracle can map, disagreements between the model and real Xen, their minimization
// (delta debugging over records, each round's candidates run in one boot) and the trace written
// for one, with real Xen's results as its expects.
import { readRecord } from '../trace/read.ts';
import { generateTrace } from '../trace/generate.ts';
import type { TraceEntry, TraceRecord } from '../trace/types.ts';
import { recordToJson } from '../trace/write.ts';
import { diffSequence, disagreementText, runModel, type Disagreement, type ModelRun } from './diff.ts';
import { encodeSequence, Unmappable, type Encoded } from './encode.ts';
import { runSequences } from './on-xen.ts';
import type { XenResult, XenSequence } from './results.ts';

export interface Case {
  seed: number;
  entries: TraceEntry[];
  enc: Encoded;
}

/** Encodes a trace, leaving out the records the oracle cannot map (the model runs the same). */
export function encodeMappable(entries: TraceEntry[], id: number): { entries: TraceEntry[]; enc: Encoded } {
  let cur = entries;
  for (;;) {
    try {
      return { entries: cur, enc: encodeSequence(cur, id) };
    } catch (e) {
      if (!(e instanceof Unmappable)) throw e;
      const at = cur.findIndex((x) => x.line === e.line);
      if (at <= 0) throw e; // create_domain itself
      cur = cur.filter((_, i) => i !== at);
    }
  }
}

/**
 * The shared generator's trace for `seed` (src/trace/generate.ts, every hypercall it can draw), kept
 * to what the oracle can map: one domain, one vCPU, `forOracle` (docs/oracle.md).
 */
export function generated(seed: number, records: number): TraceEntry[] {
  return generateTrace({ seed, records, domains: 1, vcpus: 1, frames: 48, allHypercalls: true, forOracle: true }).map((o, i) => {
    const r = readRecord(o as never);
    delete r.expect;
    return { line: i + 1, record: r };
  });
}

/** The real (not hardware) disagreements of one case. */
export function realDiffs(enc: Encoded, xen: XenSequence): Disagreement[] {
  return diffSequence(enc, runModel(enc), xen).filter((d) => !d.hardware);
}

/**
 * What tells two disagreements apart when the fuzzer counts distinct ones: the op and field, with
 * a multicall's results reduced to the first entry that differs (so the same refusal inside and
 * outside a multicall counts once), frame numbers left out.
 */
export function bugKey(d: Disagreement): string {
  const m = /^(\S+) (rc|results|done|type|pinned|read)/.exec(d.what);
  if (m === null) return `${d.what}: ${d.model} / ${d.xen}`.replace(/0x[0-9a-f]+/g, 'X').replace(/\[\d+\]/g, '[N]');
  if (m[2] === 'results') {
    const a = d.model.slice(1, -1).split(',');
    const b = d.xen.slice(1, -1).split(',');
    const i = a.findIndex((v, k) => v !== b[k]);
    return `call rc: ${a[i]} / ${b[i]}`;
  }
  const op = m[1] === 'mmuext_op' || m[1] === 'multicall' ? 'call' : m[1];
  return `${op} ${m[2]}: ${d.model} / ${d.xen}`.replace(/0x[0-9a-f]+/g, 'X');
}

/** What identifies a disagreement across minimization steps (its line moves). */
export const keyOf = (d: Disagreement): string => `${d.what}: model ${d.model}, xen ${d.xen}`;

/** Re-numbers the lines 1..n (the trace as written). */
function renumber(entries: readonly TraceEntry[]): TraceEntry[] {
  return entries.map((e, i) => ({ line: i + 1, record: e.record }));
}

/** Delta debugging over records: chunks then single records, each round's candidates in one boot. */
export async function minimize(c: Case, target: string, xenPath?: string): Promise<{ entries: TraceEntry[]; enc: Encoded; xen: XenSequence }> {
  let best = renumber(c.entries);
  let chunk = Math.max(1, Math.floor(best.length / 4));
  for (let round = 0; round < 40; round++) {
    const cands: { entries: TraceEntry[]; enc: Encoded }[] = [];
    for (let at = 1; at < best.length; at += chunk) {
      const entries = renumber([...best.slice(0, at), ...best.slice(at + chunk)]);
      try {
        cands.push(encodeMappable(entries, cands.length));
      } catch {
        // unmappable without its create_domain: skip
      }
    }
    const runs = await runSequences(cands.map((x) => x.enc), xenPath);
    const hit = cands.findIndex((x, i) => realDiffs(x.enc, runs[i]!).some((d) => keyOf(d) === target || d.what === target.split(':')[0]));
    if (hit >= 0) best = cands[hit]!.entries;
    else if (chunk > 1) chunk = Math.max(1, Math.floor(chunk / 2));
    else break;
  }
  const final = encodeMappable(renumber(best), 0);
  const [xen] = (await runSequences([final.enc], xenPath)) as [XenSequence];
  return { entries: final.entries, enc: final.enc, xen };
}

/** Xen's result as an expect the model can be checked against. */
function expectOf(rec: TraceRecord, r: XenResult): unknown {
  switch (rec.op) {
    case 'frame':
      return r.type !== 'none' && r.type !== 'foreign' ? { type: r.type, pinned: r.pinned } : { pinned: r.pinned };
    case 'read':
      return { present: r.present, ...(r.present ? { mfn: `0x${(r.mfn ?? 0).toString(16)}` } : {}) };
    case 'multicall':
      return { rc: r.rc, results: r.results };
    case 'mmu_update':
    case 'mmuext_op':
      return { rc: r.rc, done: r.done };
    default:
      return r.rc;
  }
}

/**
 * A whole generated trace with real Xen's result as every record's expect (a sample for tests that
 * run without Xen: test/fixtures/xen-sample/). Records whose result the model does not give by
 * design (diff.ts outOfScope) carry none; the domain is marked the hardware domain, as dom0 is.
 */
export function sampleText(seed: number, enc: Encoded, xen: XenSequence, model: ModelRun): string {
  const head = [
    `# Recorded by npm run fuzz:xen -- --sample (generator seed ${seed}): a generated trace with real`,
    "# Xen 4.17's results as its expects (Debian xen-hypervisor-4.17-amd64 under QEMU, the oracle",
    '# kernel as the domain: the hardware domain). The model agreed with every one when recorded.',
  ];
  const body = enc.plan.map(({ record }, i) => {
    const o = recordToJson(record.op === 'create_domain' ? { ...record, hardware: true } : record) as Record<string, unknown>;
    const r = xen.results[i];
    if (r !== undefined && model.results[i] !== undefined) o.expect = expectOf(record, r);
    return JSON.stringify(o);
  });
  return [...head, ...body, ''].join('\n');
}

export function traceText(seed: number, m: { entries: TraceEntry[]; enc: Encoded; xen: XenSequence }, diffs: Disagreement[]): string {
  const head = [
    `# Found by npm run fuzz:xen (generator seed ${seed}), minimized. The expects are real Xen 4.17's`,
    '# results (Debian xen-hypervisor-4.17-amd64 under QEMU, the oracle kernel as the domain);',
    '# where the model disagrees:',
    ...diffs.map((d) => `#   ${disagreementText(d)}`),
  ];
  const body = m.enc.plan.map(({ record }, i) => {
    const o = recordToJson(record) as Record<string, unknown>;
    const r = m.xen.results[i];
    if (r !== undefined) o.expect = expectOf(record, r);
    return JSON.stringify(o);
  });
  // What differed only in the tables at the end becomes a query, so that the trace fails on the model.
  for (const d of diffs) {
    const e = /^(0x[0-9a-f]+)\[(\d+)\] at the end$/.exec(d.what);
    if (e !== null) body.push(JSON.stringify({ op: 'read', mfn: e[1], slot: Number(e[2]), expect: { val: d.xen === 'empty' ? '0x0' : d.xen } }));
    const f = /^frame (0x[0-9a-f]+) at the end$/.exec(d.what);
    if (f !== null) {
      const [type, pin] = d.xen.split(' ');
      body.push(JSON.stringify({ op: 'frame', mfn: f[1], expect: { ...(type !== 'none' ? { type } : {}), pinned: pin === 'pinned' } }));
    }
  }
  return [...head, ...body, ''].join('\n');
}
