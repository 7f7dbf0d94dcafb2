// The long fuzz run (issue 15, item 5): `npm run fuzz`. The same arbitraries (gen.ts) and the same
// checks after every record (sim.ts: the audit, the reachability walk, the model) as the vitest
// properties, without fast-check's runner: each sequence is drawn from its own seed
// (fc.sample(arb, { seed, numRuns: 1 })), run, and forgotten; only a failing seed is handed to
// fc.check with that seed, which draws the same case, shrinks it, and writes it as a trace to
// test/fixtures/shrunk/ (shrunk.ts). One worker thread per core, each on its own seeds
// (SEED + worker + k × workers); their counts are merged and printed per hypercall and result.
//
//   XENSIM_FUZZ_HYPERCALLS=n  stop after n hypercalls in all (default 10,000,000)
//   XENSIM_FUZZ_MINUTES=m     stop after m minutes even if short of that (the counts still print)
//   XENSIM_FUZZ_WORKERS=n     worker threads (default: the cores, os.availableParallelism())
//   XENSIM_FUZZ_SEED=n        the first seed (shrunk.ts; default the CI seed)
//   XENSIM_FUZZ_JSON=FILE     also write the totals and counts as JSON
// Exit 0: no violation; 1: a violation (its shrunk counterexample named); 2: bad settings.
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { ERRNO } from '../../hypervisor/index.ts';
import { bigMachineArb, machineArb, opArb, type MachineCfg, type Op } from './gen.ts';
import { knownHits, tolerateKnown } from './known.ts';
import { OpCommand, PropertyFailure, reproduce, runProperty, SEED } from './shrunk.ts';
import { rcCounts, Sim, stats, type SimOptions } from './sim.ts';

/** A sequence: a machine (small, or big: thousands of frames, up to 64 vCPUs) and its operations. */
export type LongCase = [MachineCfg, Op[]];
/** Unbiased: every seed draws from the whole space (fast-check's bias favours small values). */
export const longCaseArb: fc.Arbitrary<LongCase> = fc.noBias(
  fc.tuple(
    fc.oneof({ weight: 5, arbitrary: machineArb }, { weight: 1, arbitrary: bigMachineArb }),
    fc.array(opArb({ destroy: 1 }), { minLength: 1, maxLength: 120, size: 'max' }),
  ),
);

/** The case a seed draws: what fc.check({ seed, numRuns: 1 }) draws first too. */
export function caseOf(seed: number): LongCase {
  return fc.sample(longCaseArb, { seed, numRuns: 1 })[0]!;
}

/** A Sim for a machine (a test may plant a bug in a subclass). */
export type MakeSim = (cfg: MachineCfg, opts?: SimOptions) => Sim;
const plainSim: MakeSim = (cfg, opts) => new Sim(cfg, opts);

/** Runs one case with every check; throws what the checks throw (known issues aside). */
export function runCase([cfg, ops]: LongCase, makeSim: MakeSim = plainSim): void {
  const sim = makeSim(cfg);
  tolerateKnown(sim, () => {
    for (const op of ops) sim.run(op);
    sim.finish();
  });
}

export interface Totals {
  sequences: number;
  ops: number;
  records: number;
  hypercalls: number;
  refused: number;
  destroys: number;
  /** "call\trc" → count (sim.ts rcCounts). */
  counts: [string, number][];
  known: [string, number][];
}

function totalsNow(): Totals {
  return { ...stats, counts: [...rcCounts], known: [...knownHits] };
}

export interface Failure {
  seed: number;
  message: string;
}

/**
 * Runs seeds first, first + step, … until `enough()` says so or one fails (returned). Progress
 * is reported through `progress` every `everyMs`.
 */
export function runSeeds(
  first: number,
  step: number,
  enough: () => boolean,
  opts: { makeSim?: MakeSim; progress?: (t: Totals) => void; everyMs?: number } = {},
): Failure | undefined {
  let last = Date.now();
  for (let seed = first; !enough(); seed += step) {
    try {
      runCase(caseOf(seed), opts.makeSim);
    } catch (e) {
      return { seed, message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
    }
    if (opts.progress && Date.now() - last >= (opts.everyMs ?? 2000)) {
      last = Date.now();
      opts.progress(totalsNow());
    }
  }
  return undefined;
}

/**
 * A failing seed: fc.check draws the same case from it, shrinks it, and runProperty writes the
 * shrunk counterexample (test/fixtures/shrunk/long-<seed>.ndjson). Returns runProperty's message.
 */
export async function shrinkSeed(seed: number, makeSim: MakeSim = plainSim, dir?: string): Promise<{ message: string; path?: string }> {
  try {
    await runProperty<LongCase>({
      name: `long-${seed}`,
      arb: longCaseArb,
      predicate: (c) => runCase(c, makeSim),
      reproduce: ([cfg, ops]) =>
        reproduce(
          cfg,
          ops.map((op) => new OpCommand(op)),
          (sim) => sim.finish(),
          makeSim,
        ),
      machine: ([cfg]) => cfg,
      numRuns: 1,
      seed,
      ...(dir === undefined ? {} : { dir }),
    });
  } catch (e) {
    if (e instanceof PropertyFailure) return { message: e.message, ...(e.path === undefined ? {} : { path: e.path }) };
    return { message: e instanceof Error ? e.message : String(e) };
  }
  return { message: `seed ${seed} failed in the run but passed when run again (not deterministic?)` };
}

// ---- The report ---------------------------------------------------------------------------------
const ERRNO_NAME = new Map<number, string>(Object.entries(ERRNO).map(([k, v]) => [-v, k]));
const num = (n: number) => n.toLocaleString('en-US');

/** The counts per hypercall and result, one line a call: total, then each result. */
export function countTable(counts: [string, number][]): string[] {
  const byCall = new Map<string, Map<string, number>>();
  for (const [k, n] of counts) {
    const [call, rc] = k.split('\t') as [string, string];
    const name = rc === '0' ? 'ok' : (ERRNO_NAME.get(Number(rc)) ?? rc);
    let m = byCall.get(call);
    if (!m) byCall.set(call, (m = new Map()));
    m.set(name, (m.get(name) ?? 0) + n);
  }
  const calls = [...byCall.keys()].sort();
  const width = Math.max(...calls.map((c) => c.length), 4);
  return calls.map((c) => {
    const m = byCall.get(c)!;
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    const parts = [...m.entries()].sort(([a], [b]) => (a === 'ok' ? -1 : b === 'ok' ? 1 : a.localeCompare(b))).map(([r, n]) => `${r} ${num(n)}`);
    return `  ${c.padEnd(width)}  ${num(total).padStart(11)}  ${parts.join(', ')}`;
  });
}

function merge(all: Totals[]): Totals {
  const t: Totals = { sequences: 0, ops: 0, records: 0, hypercalls: 0, refused: 0, destroys: 0, counts: [], known: [] };
  const counts = new Map<string, number>();
  const known = new Map<string, number>();
  for (const x of all) {
    t.sequences += x.sequences;
    t.ops += x.ops;
    t.records += x.records;
    t.hypercalls += x.hypercalls;
    t.refused += x.refused;
    t.destroys += x.destroys;
    for (const [k, n] of x.counts) counts.set(k, (counts.get(k) ?? 0) + n);
    for (const [k, n] of x.known) known.set(k, (known.get(k) ?? 0) + n);
  }
  t.counts = [...counts];
  t.known = [...known];
  return t;
}

// ---- Workers ------------------------------------------------------------------------------------
interface WorkerJob {
  kind: 'xensim-fuzz';
  first: number;
  step: number;
  /** Hypercalls this worker runs. */
  hypercalls: number;
  /** Date.now() at which to stop anyway. */
  deadline: number;
}
type WorkerMsg = { kind: 'progress'; totals: Totals } | { kind: 'done'; totals: Totals; failure?: Failure };

function workerMain(job: WorkerJob): void {
  const port = parentPort!;
  const failure = runSeeds(job.first, job.step, () => stats.hypercalls >= job.hypercalls || Date.now() >= job.deadline, {
    progress: (totals) => port.postMessage({ kind: 'progress', totals } satisfies WorkerMsg),
  });
  port.postMessage({ kind: 'done', totals: totalsNow(), ...(failure ? { failure } : {}) } satisfies WorkerMsg);
}

function envNumber(name: string, dflt: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    process.stderr.write(`${name}: expected a number ≥ ${min}, got "${raw}"\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<number> {
  const target = envNumber('XENSIM_FUZZ_HYPERCALLS', 10_000_000, 1);
  const minutes = envNumber('XENSIM_FUZZ_MINUTES', Infinity, 0);
  const workers = Math.floor(envNumber('XENSIM_FUZZ_WORKERS', availableParallelism(), 1));
  const start = Date.now();
  const deadline = start + minutes * 60_000;
  const budget = minutes === Infinity ? '' : `, at most ${minutes} min`;
  console.log(`[fuzz] ${num(target)} hypercalls on ${workers} worker(s) from seed ${SEED}${budget}; the audit, reachability and model checks after every record`);

  const latest: Totals[] = [];
  const failures: Failure[] = [];
  const threads: Worker[] = [];
  const finished = Array.from({ length: workers }, (_, i) =>
    new Promise<void>((resolve, reject) => {
      const job: WorkerJob = { kind: 'xensim-fuzz', first: SEED + i, step: workers, hypercalls: Math.ceil(target / workers), deadline };
      // The worker loads this file as TypeScript through tsx's API (a thread inherits no hooks).
      const boot = `import('tsx/esm/api').then((t) => t.tsImport(${JSON.stringify(import.meta.url)}, ${JSON.stringify(import.meta.url)}))`;
      const w = new Worker(boot, { eval: true, workerData: job });
      threads.push(w);
      w.on('message', (m: WorkerMsg) => {
        latest[i] = m.totals;
        if (m.kind !== 'done') return;
        if (m.failure) {
          failures.push(m.failure);
          // One failure is enough: the others stop at once.
          for (const t of threads) if (t !== w) void t.terminate();
        }
        resolve();
      });
      w.on('error', reject);
      w.on('exit', () => resolve());
    }),
  );
  const ticker = setInterval(() => {
    const t = merge(latest.filter(Boolean));
    const s = (Date.now() - start) / 1000;
    process.stderr.write(`[fuzz] ${s.toFixed(0)} s: ${num(t.hypercalls)} hypercalls (${num(Math.round(t.hypercalls / s))}/s), ${num(t.records)} records, ${num(t.sequences)} sequences\n`);
  }, 15_000);
  await Promise.all(finished);
  clearInterval(ticker);

  report(merge(latest.filter(Boolean)), failures, (Date.now() - start) / 1000, workers);
  if (failures.length === 0) return 0;
  const f = failures[0]!;
  console.log(`[fuzz] violation at seed ${f.seed}: ${f.message}\n[fuzz] shrinking it …`);
  const shrunk = await shrinkSeed(f.seed);
  console.log(shrunk.message);
  if (shrunk.path) console.log(`[fuzz] counterexample: ${relative(process.cwd(), shrunk.path)}`);
  return 1;
}

/** The end of a run: the counts, the totals, the rates; XENSIM_FUZZ_JSON too. */
function report(t: Totals, failures: Failure[], secs: number, workers: number): void {
  const cpu = process.cpuUsage();
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const lines = [
    `[fuzz] counts per hypercall and result (a call in a multicall also as "multicall → call"; mmuext ops one by one):`,
    ...countTable(t.counts),
    `[fuzz] ${num(t.hypercalls)} hypercalls (${num(t.refused)} refused) in ${num(t.records)} records (${num(t.ops)} operations, ${num(t.sequences)} sequences, ${num(t.destroys)} domain destructions), each followed by the audit, reachability and model checks`,
    `[fuzz] ${failures.length} violation(s); ${secs.toFixed(1)} s on ${workers} worker(s): ${num(Math.round(t.hypercalls / secs))} hypercalls/s, ${num(Math.round(t.hypercalls / Math.max(cpuSecs, 1e-9)))} per CPU-second (${cpuSecs.toFixed(0)} CPU-s)` +
      (t.known.length > 0 ? `; sequences ended by known issues: ${t.known.map(([k, n]) => `${k} ×${n}`).join(', ')}` : ''),
  ];
  console.log(lines.join('\n'));
  const json = process.env.XENSIM_FUZZ_JSON;
  if (json) writeFileSync(json, JSON.stringify({ seconds: secs, cpuSeconds: cpuSecs, workers, violations: failures.length, ...t }, null, 1) + '\n');
}

const job = workerData as WorkerJob | undefined;
if (!isMainThread && parentPort && job?.kind === 'xensim-fuzz') workerMain(job);
else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();
