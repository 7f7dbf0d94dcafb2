// `npm run fuzz:xen -- [--sequences N] [--records R] [--seed S] [--per-boot K] [--out DIR]`:
// differential fuzzing against real Xen 4.17. Random traces from the shared generator
// (src/trace/generate.ts; one domain, one vCPU: what the oracle can map) run on the model and, K per
// boot, on real Xen; each trace that disagrees is minimized (candidate traces with records removed
// run together in one boot) and written to DIR as a trace whose expects are real Xen's results.
// Exit 0 when nothing disagreed, 1 otherwise, 2 when Xen/QEMU is missing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { disagreementText, type Disagreement } from './diff.ts';
import { bugKey, encodeMappable, generated, keyOf, minimize, realDiffs, traceText, type Case } from './fuzz-lib.ts';
import { runSequences, XenMissing } from './on-xen.ts';

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
      const key = bugKey(diffs[0]!);
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
