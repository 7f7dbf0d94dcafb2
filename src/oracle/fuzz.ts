// `npm run fuzz:xen -- [--sequences N] [--records R] [--seed S] [--per-boot K] [--out DIR]`:
// differential fuzzing against real Xen 4.17. Random traces from the shared generator
// (src/trace/generate.ts; one domain, one vCPU: what the oracle can map) run on the model and, K per
// boot, on real Xen; each trace that disagrees is minimized (candidate traces with records removed
// run together in one boot) and written to DIR as a trace whose expects are real Xen's results.
// Exit 0 when nothing disagreed, 1 otherwise, 2 when Xen/QEMU is missing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readRecord } from '../trace/read.ts';
import { generateTrace } from '../trace/generate.ts';
import type { TraceEntry, TraceRecord } from '../trace/types.ts';
import { recordToJson } from '../trace/write.ts';
import { diffSequence, disagreementText, runModel, type Disagreement } from './diff.ts';
import { encodeSequence, Unmappable, type Encoded } from './encode.ts';
import { runSequences, XenMissing } from './on-xen.ts';
import type { XenResult, XenSequence } from './results.ts';

interface Case {
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

export function generated(seed: number, records: number): TraceEntry[] {
  return generateTrace({ seed, records, domains: 1, vcpus: 1, frames: 48 }).map((o, i) => {
    const r = readRecord(o as never);
    delete r.expect;
    return { line: i + 1, record: r };
  });
}

/** The real (not hardware) disagreements of one case. */
function realDiffs(enc: Encoded, xen: XenSequence): Disagreement[] {
  return diffSequence(enc, runModel(enc), xen).filter((d) => !d.hardware);
}

/** What identifies a disagreement across minimization steps (its line moves). */
const keyOf = (d: Disagreement): string => `${d.what}: model ${d.model}, xen ${d.xen}`;

/** Re-numbers the lines 1..n (the trace as written). */
function renumber(entries: readonly TraceEntry[]): TraceEntry[] {
  return entries.map((e, i) => ({ line: i + 1, record: e.record }));
}

/** Delta debugging over records: chunks then single records, each round's candidates in one boot. */
async function minimize(c: Case, target: string, xenPath?: string): Promise<{ entries: TraceEntry[]; enc: Encoded; xen: XenSequence }> {
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

function traceText(seed: number, m: { entries: TraceEntry[]; enc: Encoded; xen: XenSequence }, diffs: Disagreement[]): string {
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
  return [...head, ...body, ''].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sequences: { type: 'string', default: '100' },
      records: { type: 'string', default: '60' },
      seed: { type: 'string', default: '1' },
      'per-boot': { type: 'string', default: '100' },
      out: { type: 'string', default: 'test/fixtures/xen-disagreements' },
      xen: { type: 'string' },
      'no-minimize': { type: 'boolean', default: false },
    },
  });
  const n = Number(values.sequences);
  const perBoot = Number(values['per-boot']);
  const seed0 = Number(values.seed);
  const t0 = Date.now();
  let records = 0;
  const found = new Map<string, { seed: number; diffs: Disagreement[]; c: Case }>();
  for (let start = 0; start < n; start += perBoot) {
    const cases: Case[] = [];
    for (let i = start; i < Math.min(n, start + perBoot); i++) {
      const m = encodeMappable(generated(seed0 + i, Number(values.records)), cases.length);
      cases.push({ seed: seed0 + i, ...m });
      records += m.entries.length;
    }
    const runs = await runSequences(cases.map((c) => c.enc), values.xen);
    cases.forEach((c, i) => {
      const diffs = realDiffs(c.enc, runs[i]!);
      if (diffs.length === 0) return;
      const key = keyOf(diffs[0]!).replace(/0x[0-9a-f]+/g, 'X');
      if (!found.has(key)) found.set(key, { seed: c.seed, diffs, c });
    });
    process.stderr.write(`fuzz:xen: ${Math.min(n, start + perBoot)}/${n} sequences, ${found.size} distinct disagreements\n`);
  }
  const secs = (Date.now() - t0) / 1000;
  console.log(`${n} sequences (${records} records) on real Xen 4.17 and the model in ${secs.toFixed(1)} s (${((secs / n) * 1000).toFixed(0)} ms per sequence)`);
  console.log(`${found.size} distinct disagreements`);
  if (found.size > 0) mkdirSync(values.out, { recursive: true });
  for (const { seed, diffs, c } of found.values()) {
    console.log(`  seed ${seed}: ${disagreementText(diffs[0]!)}${diffs.length > 1 ? ` (+${diffs.length - 1} more)` : ''}`);
    if (values['no-minimize']) continue;
    const m = await minimize(c, keyOf(diffs[0]!), values.xen);
    const md = realDiffs(m.enc, m.xen);
    const file = join(values.out, `seed-${seed}.ndjson`);
    writeFileSync(file, traceText(seed, m, md));
    console.log(`    minimized to ${m.entries.length} records: ${file}`);
  }
  return found.size > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`fuzz:xen: ${(e as Error).message}`);
    process.exit(e instanceof XenMissing ? 2 : 1);
  },
);
