// `npm run fuzz:xen -- [--sequences N] [--records R] [--seed S] [--per-boot K] [--jobs J] [--out DIR]`:
// differential fuzzing against real Xen 4.17. Random traces from the shared generator
// (src/trace/generate.ts: every hypercall it draws, kept to what the oracle can map — one domain,
// one vCPU, `forOracle`; fuzz-lib.ts generated) run on the model and, K per
// boot, on real Xen; each trace that disagrees is minimized (candidate traces with records removed
// run together in one boot) and written to DIR as a trace whose expects are real Xen's results.
// Known model bugs (src/oracle/known.ts) are counted apart and not minimized again. J boots run at
// a time (default 1: one per core is the most that helps). `--sample DIR` also writes every trace
// that agreed, with real Xen's results as its expects (test/fixtures/xen-sample/). Exit 0 when
// nothing disagreed, 1 otherwise, 2 when Xen/QEMU is missing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { disagreementText, type Disagreement } from './diff.ts';
import { runModel } from './diff.ts';
import { bugKey, encodeMappable, generated, keyOf, minimize, realDiffs, sampleText, traceText, type Case } from './fuzz-lib.ts';
import { isKnown } from './known.ts';
import { runSequences, XenMissing } from './on-xen.ts';
import type { XenSequence } from './results.ts';

interface Found {
  seed: number;
  diffs: Disagreement[];
  c: Case;
}

/** Runs cases [start, end) in boots of `perBoot`, `jobs` boots at a time; returns their disagreements. */
async function runAll(gen: (i: number, id: number) => Case, n: number, perBoot: number, jobs: number, xen?: string): Promise<{ records: number; per: Disagreement[][]; cases: Case[]; xens: XenSequence[] }> {
  const batches: Case[][] = [];
  let records = 0;
  for (let start = 0; start < n; start += perBoot) {
    const b: Case[] = [];
    for (let i = start; i < Math.min(n, start + perBoot); i++) b.push(gen(i, b.length));
    records += b.reduce((s, c) => s + c.entries.length, 0);
    batches.push(b);
  }
  const per: Disagreement[][] = [];
  const xens: XenSequence[] = [];
  let done = 0;
  for (let k = 0; k < batches.length; k += jobs) {
    const group = batches.slice(k, k + jobs);
    const runs = await Promise.all(group.map((b) => runSequences(b.map((c) => c.enc), xen)));
    group.forEach((b, g) => b.forEach((c, i) => {
      per.push(realDiffs(c.enc, runs[g]![i]!));
      xens.push(runs[g]![i]!);
    }));
    done += group.reduce((s, b) => s + b.length, 0);
    process.stderr.write(`fuzz:xen: ${done}/${n} sequences\n`);
  }
  return { records, per, cases: batches.flat(), xens };
}

/** --sample DIR: every trace that agreed, with real Xen's results as its expects. */
function writeSample(dir: string, cases: Case[], per: Disagreement[][], xens: XenSequence[]): void {
  mkdirSync(dir, { recursive: true });
  cases.forEach((c, i) => {
    if (per[i]!.length === 0) writeFileSync(join(dir, `seed-${c.seed}.ndjson`), sampleText(c.seed, c.enc, xens[i]!, runModel(c.enc)));
  });
  console.log(`sample: ${per.filter((d) => d.length === 0).length} traces written to ${dir}`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sequences: { type: 'string', default: '100' },
      records: { type: 'string', default: '60' },
      seed: { type: 'string', default: '1' },
      'per-boot': { type: 'string', default: '100' },
      jobs: { type: 'string', default: '1' },
      out: { type: 'string', default: 'test/fixtures/xen-disagreements' },
      xen: { type: 'string' },
      'no-minimize': { type: 'boolean', default: false },
      sample: { type: 'string' },
    },
  });
  const n = Number(values.sequences);
  const seed0 = Number(values.seed);
  const t0 = Date.now();
  const gen = (i: number, id: number): Case => ({ seed: seed0 + i, ...encodeMappable(generated(seed0 + i, Number(values.records)), id) });
  const { records, per, cases, xens } = await runAll(gen, n, Number(values['per-boot']), Math.max(1, Number(values.jobs)), values.xen);
  const secs = (Date.now() - t0) / 1000;
  if (values.sample !== undefined) writeSample(values.sample, cases, per, xens);
  const fresh = new Map<string, Found>();
  const known = new Map<string, number>();
  per.forEach((diffs, i) => {
    for (const d of diffs) {
      const text = `${d.what}: model ${d.model}, xen ${d.xen}`;
      if (isKnown(text)) known.set(bugKey(d), (known.get(bugKey(d)) ?? 0) + 1);
      else if (!fresh.has(bugKey(d))) fresh.set(bugKey(d), { seed: cases[i]!.seed, diffs: [d, ...diffs.filter((x) => x !== d)], c: cases[i]! });
    }
  });
  console.log(`${n} sequences (${records} records) on real Xen 4.17 and the model in ${secs.toFixed(1)} s (${((secs / n) * 1000).toFixed(0)} ms per sequence)`);
  console.log(`${per.filter((d) => d.length > 0).length} sequences disagree: ${fresh.size} new distinct disagreements, ${known.size} known model bugs (src/oracle/known.ts)`);
  for (const [k, count] of known) console.log(`  known: ${k} (${count}×)`);
  if (fresh.size > 0) mkdirSync(values.out, { recursive: true });
  for (const { seed, diffs, c } of fresh.values()) {
    console.log(`  NEW seed ${seed}: ${disagreementText(diffs[0]!)}${diffs.length > 1 ? ` (+${diffs.length - 1} more)` : ''}`);
    if (values['no-minimize']) continue;
    const m = await minimize(c, keyOf(diffs[0]!), values.xen);
    const file = join(values.out, `seed-${seed}.ndjson`);
    writeFileSync(file, traceText(seed, m, realDiffs(m.enc, m.xen)));
    console.log(`    minimized to ${m.entries.length} records: ${file}`);
  }
  return fresh.size > 0 || known.size > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`fuzz:xen: ${(e as Error).message}`);
    process.exit(e instanceof XenMissing ? 2 : 1);
  },
);
