// `npm run bench [-- --json] [-- --quick] [-- --only replay,validation,scale,growth,lab,startup,export,memory,mutation]`
// [-- --memory-records 1000000,5000000] (the two sizes of the memory section; --quick: 100k and 500k)
// (for machines: `npm run --silent bench -- --json`, so that npm's banner stays off stdout)
//
// xensim's performance figures, each measured against a baseline in the same run (see report.ts
// and the section files). Prints a table (or, with --json, one JSON document on stdout) and, after
// a full run, rewrites the results record docs/bench.md. No timing is asserted in `npm test`.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportSpeed } from './export.ts';
import { lab } from './lab.ts';
import { replayGrowth, replayThroughput } from './replay.ts';
import { memory } from './memory.ts';
import { mutationScore } from './mutation.ts';
import { machine, markdown, textTable, type Figure } from './report.ts';
import { scale } from './scale.ts';
import { startup } from './startup.ts';
import { scratchDir } from './util.ts';

const SECTIONS = ['replay', 'validation', 'scale', 'growth', 'lab', 'startup', 'export', 'memory', 'mutation'] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-record': { type: 'boolean', default: false },
    'memory-records': { type: 'string' },
  },
});

const only = values.only?.split(',').map((s) => s.trim()) ?? [...SECTIONS];
for (const s of only) {
  if (!(SECTIONS as readonly string[]).includes(s)) {
    console.error(`bench: unknown section ${s} (known: ${SECTIONS.join(', ')})`);
    process.exit(2);
  }
}
const want = (s: Section) => only.includes(s);
const quick = values.quick === true;
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);

const dir = scratchDir();
const figures: Figure[] = [];
const started = new Date();

if (want('replay')) {
  progress('replay throughput…');
  figures.push(...(await replayThroughput(dir, quick ? 20_000 : 200_000, quick ? 1 : 7)));
}
if (want('validation')) {
  progress('validation speed (a child process)…');
  const child = fileURLToPath(new URL('./validation-child.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--import', 'tsx', child, String(quick ? 5 : 15)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  figures.push(...(JSON.parse(out.trim().split('\n').pop()!) as Figure[]));
}
if (want('scale')) {
  progress('scale (child processes)…');
  figures.push(...scale(quick ? 1 : 3));
}
if (want('growth')) {
  progress('cost growth…');
  figures.push(...(await replayGrowth(dir, quick ? [1_000, 10_000] : [10_000, 100_000, 1_000_000])));
}
if (want('lab')) {
  progress('guest and lab…');
  figures.push(...(await lab()));
}
// ---- startup (issue 8; startup.ts, runnable alone: tsx test/bench/startup.ts) -----------------
// Whole-process time of the built command (rebuilt first) against `node -e 0` and the pino +
// xstate import floor, in the same run; goal: replay ≤ 1.3× the import floor.
if (want('startup')) {
  progress('start-up of the built command (child processes)…');
  figures.push(...(await startup({ runs: quick ? 5 : 15 })));
}
// ---- export (issue 17; export.ts): 1M records to protobuf and JSON against read + JSON.parse ---
if (want('export')) {
  progress('export of a hypercall log…');
  figures.push(...(await exportSpeed(dir, quick ? 100_000 : 1_000_000, quick ? 1 : 2)));
}
// ---- memory (issue 18; memory.ts): peak RSS of replay --log at two sizes, each in a child ------
if (want('memory')) {
  const sizes = (values['memory-records'] ?? (quick ? '100000,500000' : '1000000,5000000')).split(',').map(Number);
  if (sizes.length !== 2 || sizes.some((n) => !Number.isInteger(n) || n < 1000)) {
    console.error('bench: --memory-records takes two record counts, e.g. 1000000,5000000');
    process.exit(2);
  }
  figures.push(...memory(dir, sizes as [number, number], progress));
}
// ---- mutation (issue 15; mutation.ts): hypervisor/'s score, read from test/mutate/score.json -----
if (want('mutation')) figures.push(...mutationScore());

const m = machine();
const date = started.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
const judged = figures.filter((f) => f.met !== undefined);
const summary = `${judged.filter((f) => f.met).length} of ${judged.length} goals met`;

if (values.json) {
  process.stdout.write(JSON.stringify({ date: started.toISOString(), machine: m, quick, summary, figures }, null, 2) + '\n');
} else {
  process.stdout.write(`${textTable(figures)}\n\n${summary}; ${m.cpu}, ${m.cores} cores, Node ${m.node}\n`);
}

// The results record: only a full run is a record.
if (!quick && values.only === undefined && !values['no-record']) {
  const path = fileURLToPath(new URL('../../docs/bench.md', import.meta.url));
  writeFileSync(path, markdown(figures, m, date, [summary]));
  progress(`wrote ${path}`);
}
