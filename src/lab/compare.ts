// `xensim compare`: the matrix of verdicts, scenarios × policies × seeds, as a table (or JSON/CSV).
// Large matrices run on every core: this thread and worker threads claim the runs one at a time
// from a shared counter, so a thread that starts late or runs slow takes fewer. Each cell is the
// same verdict `run` gives, whichever thread ran it.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { loadScenario } from './scenarios/load.ts';
import type { Scenario } from './scenarios/schema.ts';
import { runScenario } from './run.ts';
import type { Verdict } from './verdict.ts';

export interface CompareJob {
  index: number;
  scenario: string;
  policy: string;
  seed: number;
  set: string[];
}

export interface CompareOptions {
  scenarios: readonly string[];
  policies: readonly string[];
  seeds: readonly number[];
  set?: readonly string[];
  /**
   * Threads running the matrix, this one included: 0 (or absent) = one per core when the matrix has
   * PARALLEL_THRESHOLD runs or more, 1 = this thread only, N = this thread and N - 1 worker threads.
   */
  workers?: number;
  /** With 2 threads or more, false: this thread only gathers verdicts (the tests: every run crosses a worker). */
  mainThreadRuns?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** What a worker thread is given (compare-worker.ts): the parsed scenarios, so no thread reads a file. */
export interface CompareWorkerData {
  scenarios: (Scenario & { file: string })[];
  /** [scenario index, policy, seed] by job index. */
  jobs: [number, string, number][];
  set: string[];
  /** Int32 [0]: the next job index to claim (Atomics.add). */
  next: SharedArrayBuffer;
}

/** What a worker posts: a batch of [job index, verdict]. */
export type CompareBatch = [number, Verdict][];
/** …or, when a run threw, what the error was (then it stops): rebuilt here by runError. */
export interface CompareFailure {
  failed: { index: number; name: string; message: string; op?: unknown };
}

/**
 * A run's exception with the scenario file it came from, so that the command can name
 * FILE:LINE and the field (runErrorText), whichever thread ran it.
 */
function runError(e: { name: string; message: string; op?: unknown }, file: string): Error {
  const err = e instanceof Error ? e : Object.assign(new Error(e.message), { name: e.name, op: e.op });
  return Object.assign(err, { file });
}

/**
 * Below this many runs, threads cost more than they save. Each thread is a V8 isolate that loads
 * the code and warms its JIT up on its own (≈ 1–1.5 CPU-s), and one thread already keeps ≈ 1.4
 * cores busy (V8's compiler and GC threads): on 2 cores, --workers 2 was slower than one thread up
 * to ≈ 1,400 runs and 3 % faster at 2,240 (the built command; bench lab.compare has 560). With more
 * cores, pass --workers.
 */
const PARALLEL_THRESHOLD = 2000;
/** This thread lets the event loop in (worker batches, the progress bar) at least this often. */
const YIELD_MS = 20;

export function compareJobs(o: CompareOptions): CompareJob[] {
  const jobs: CompareJob[] = [];
  for (const scenario of o.scenarios) {
    for (const policy of o.policies) {
      for (const seed of o.seeds) jobs.push({ index: jobs.length, scenario, policy, seed, set: [...(o.set ?? [])] });
    }
  }
  return jobs;
}

export async function compare(o: CompareOptions): Promise<Verdict[]> {
  const jobs = compareJobs(o);
  // Each file is read and checked once, here: bad scenario names fail before any thread starts,
  // and every thread runs the same parsed scenario.
  const names = [...new Set(o.scenarios)];
  const scenarios = names.map((n) => loadScenario(n));
  const which = new Map(names.map((n, i) => [n, i]));
  const set = [...(o.set ?? [])];
  const total = jobs.length;
  const threads = o.workers === 0 || o.workers === undefined ? (total >= PARALLEL_THRESHOLD ? availableParallelism() : 1) : o.workers;
  const out = new Array<Verdict>(total);
  let done = 0;
  const scenarioOf = (j: CompareJob) => scenarios[which.get(j.scenario)!]!;
  const runHere = (j: CompareJob) => {
    try {
      out[j.index] = runScenario(scenarioOf(j), { policy: j.policy, seed: j.seed, set });
    } catch (e) {
      throw e instanceof Error ? runError(e, scenarioOf(j).file) : e;
    }
    done++;
    o.onProgress?.(done, total);
  };
  if (threads <= 1) {
    for (const j of jobs) runHere(j);
    return out;
  }

  const main = o.mainThreadRuns ?? true;
  const next = new Int32Array(new SharedArrayBuffer(4));
  const data: CompareWorkerData = { scenarios, jobs: jobs.map((j) => [which.get(j.scenario)!, j.policy, j.seed]), set, next: next.buffer as SharedArrayBuffer };
  const url = new URL(import.meta.url.endsWith('.ts') ? './compare-worker.ts' : './compare-worker.js', import.meta.url);
  const workers: Worker[] = [];
  let live = 0;
  let mainRunning = main;
  let closing = false;
  let failure: Error | undefined;
  let settle: (() => void) | undefined;
  const fail = (e: Error) => {
    if (closing) return;
    failure ??= e;
    Atomics.store(next, 0, total); // no thread claims another run
    settle?.();
  };
  // Every run claimed is posted before its worker exits: runs left then are runs lost.
  const check = () => {
    if (live === 0 && !mainRunning && done < total) fail(new Error(`compare: the worker threads exited with ${total - done} runs not done`));
  };
  for (let t = main ? 1 : 0; t < threads; t++) {
    const w = startWorker(url, data);
    live++;
    w.on('message', (m: CompareBatch | CompareFailure) => {
      if (!Array.isArray(m)) {
        fail(runError(m.failed, scenarioOf(jobs[m.failed.index]!).file));
        return;
      }
      const batch = m;
      for (const [i, v] of batch) out[i] = v;
      done += batch.length;
      o.onProgress?.(done, total);
      if (done === total) settle?.();
    });
    w.on('error', fail);
    w.on('exit', (code) => {
      live--;
      if (code !== 0) fail(new Error(`compare worker exited with ${code}`));
      else check();
    });
    workers.push(w);
  }
  try {
    let last = performance.now();
    while (mainRunning && failure === undefined) {
      const i = Atomics.add(next, 0, 1);
      if (i >= total) break;
      runHere(jobs[i]!);
      if (performance.now() - last >= YIELD_MS) {
        await new Promise<void>((r) => setImmediate(r));
        last = performance.now();
      }
    }
    mainRunning = false;
    check();
    // The rest come in the workers' batches.
    if (done < total && failure === undefined) await new Promise<void>((r) => (settle = r));
    if (failure !== undefined) throw failure;
    return out;
  } catch (e) {
    fail(e as Error);
    throw e;
  } finally {
    // A worker still starting when the last run was done is stopped, not waited for.
    closing = true;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * A worker on the compiled build runs its .js file directly; from the sources (tsx, vitest) it
 * first registers tsx's loader in the new thread, then imports the TypeScript file.
 */
function startWorker(url: URL, data: CompareWorkerData): Worker {
  if (url.pathname.endsWith('.js')) return new Worker(url, { workerData: data });
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true, workerData: data });
}
/** One cell: the verdicts of one scenario under one policy across the seeds. */
export function cellText(vs: readonly Verdict[]): string {
  const n = vs.length;
  const by = (o: string) => vs.filter((v) => v.outcome === o).length;
  const parts: string[] = [];
  for (const o of ['deadlock', 'bug', 'completed']) {
    const k = by(o);
    if (k === 0) continue;
    const name = o === 'completed' ? 'ok' : o.toUpperCase();
    parts.push(k === n ? name : `${name} ${k}/${n}`);
  }
  const marks: string[] = [];
  if (vs.some((v) => v.pins.refused > 0)) marks.push('pin refused');
  if (vs.some((v) => v.va_hazards > 0)) marks.push('VA hazard');
  if (vs.some((v) => v.warnings > 0)) marks.push('WARN');
  if (vs.some((v) => v.ipis > 0)) marks.push('IPIs');
  return parts.join(', ') + (marks.length ? ` (${marks.join(', ')})` : '');
}

/**
 * The table of a compare's verdicts, which come in compareJobs' order (scenario, then policy, then
 * seed): cells are taken by position, so that a scenario given as a file path (whose verdicts carry
 * the file's `name`) gets its row too.
 */
export function compareTable(verdicts: readonly Verdict[], scenarios: readonly string[], policies: readonly string[]): string {
  const seeds = verdicts.length / Math.max(1, scenarios.length * policies.length);
  const cell = (i: number, j: number) => verdicts.slice((i * policies.length + j) * seeds, (i * policies.length + j + 1) * seeds);
  const rows = scenarios.map((s, i) => [s, ...policies.map((_, j) => cellText(cell(i, j)))]);
  const head = ['scenario', ...policies];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const CSV_FIELDS = ['scenario', 'policy', 'seed', 'outcome', 'steps', 'pins_ok', 'pins_refused', 'ipis', 'flush_hypercalls', 'xen_flushes', 'warnings', 'va_hazards', 'deadlock'] as const;

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function compareCsv(verdicts: readonly Verdict[]): string {
  const rows = verdicts.map((v) =>
    [
      v.scenario,
      v.policy,
      String(v.seed),
      v.outcome,
      String(v.steps),
      String(v.pins.ok),
      String(v.pins.refused),
      String(v.ipis),
      String(v.flush_hypercalls),
      String(v.xen_flushes),
      String(v.warnings),
      String(v.va_hazards),
      v.deadlock ? v.deadlock.map((e) => `vCPU${e.vcpu} ${e.why}`).join('; ') : '',
    ].map(csvCell).join(','),
  );
  return [CSV_FIELDS.join(','), ...rows].join('\n');
}
