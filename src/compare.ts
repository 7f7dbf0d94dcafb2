// `xensim compare`: the matrix of verdicts, scenarios × policies × seeds, as a table (or JSON/CSV).
// Large matrices run on every core with worker threads; each cell is the same verdict `run` gives.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { loadScenario } from './scenarios/load.ts';
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
  /** Worker threads: 0 = one per core when the matrix is large enough, 1 = in this thread. */
  workers?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Below this many runs, threads cost more than they save. */
const PARALLEL_THRESHOLD = 24;

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
  // Bad scenario names fail here, before any thread starts.
  for (const name of o.scenarios) loadScenario(name);
  const threads = o.workers === 0 || o.workers === undefined ? (jobs.length >= PARALLEL_THRESHOLD ? availableParallelism() : 1) : o.workers;
  const out = new Array<Verdict>(jobs.length);
  let done = 0;
  if (threads <= 1) {
    for (const j of jobs) {
      out[j.index] = runScenario(loadScenario(j.scenario), { policy: j.policy, seed: j.seed, set: j.set });
      o.onProgress?.(++done, jobs.length);
    }
    return out;
  }
  const url = new URL(import.meta.url.endsWith('.ts') ? './compare-worker.ts' : './compare-worker.js', import.meta.url);
  const shards = Array.from({ length: threads }, (_, t) => jobs.filter((j) => j.index % threads === t));
  await Promise.all(
    shards.map(
      (shard) =>
        new Promise<void>((resolve, reject) => {
          const w = startWorker(url, shard);
          w.on('message', (m: { index: number; verdict: Verdict }) => {
            out[m.index] = m.verdict;
            o.onProgress?.(++done, jobs.length);
          });
          w.on('error', reject);
          w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`compare worker exited with ${code}`))));
        }),
    ),
  );
  return out;
}

/**
 * A worker on the compiled build runs its .js file directly; from the sources (tsx, vitest) it
 * first registers tsx's loader in the new thread, then imports the TypeScript file.
 */
function startWorker(url: URL, jobs: CompareJob[]): Worker {
  if (url.pathname.endsWith('.js')) return new Worker(url, { workerData: { jobs } });
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true, workerData: { jobs } });
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
