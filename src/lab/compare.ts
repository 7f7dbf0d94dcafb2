// `xensim compare`: the matrix of verdicts, scenarios × policies × seeds, as a table (or JSON/CSV).
// Large matrices run on every core: worker threads claim the runs a chunk at a time from a shared
// counter (compare-chunks.ts: chunks sized by each thread's measured cost, shrinking
// to single runs at the end), so a thread that starts late or runs slow takes fewer, and all end
// together, while this thread gathers their verdicts and writes them. The workers start before this
// thread loads the scenarios and the guest, so that their start-up overlaps it. Each cell is the same verdict `run` gives, whichever thread ran it; the
// verdicts are put back in matrix order, so the output is the same bytes whatever the threads.

import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { ChunkClaimer, runOrder, type CompareStats, type ThreadStats } from './compare-chunks.ts';
import type { Scenario } from './scenarios/schema.ts';
import type { runScenario } from './run.ts';
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
   * Threads running the matrix: 0 (or absent) = one per core when the matrix has PARALLEL_THRESHOLD
   * runs or more, 1 = this thread only, N = N worker threads (this thread gathers their verdicts).
   */
  workers?: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * Each verdict in matrix order, as soon as it and every one before it are done: what a stream
   * (CSV rows, NDJSON) writes, so that a stopped compare has written every finished prefix run.
   */
  onVerdict?: (v: Verdict, index: number) => void;
  /** `--shard K/N` (0-based index): only the jobs i with i mod count = index, in order (src/lab/merge.ts joins them). */
  shard?: { index: number; count: number };
  /** Abort = claim no more runs; compare returns the verdicts done (in order, possibly with gaps). */
  signal?: AbortSignal;
  /** With threads: what each did (runs, chunks, busy time, first and last run), once the matrix is done. */
  onStats?: (s: CompareStats) => void;
}

/** What a worker thread (compare-worker.ts) is started with: where it claims runs. */
export interface CompareWorkerStart {
  /** Int32 [0]: the next job index to claim (Atomics.add). */
  next: SharedArrayBuffer;
  /** Threads in all (chunk sizes shrink to a share of what is left each), this worker's number, and the matrix's start (ms since the epoch). */
  threads: number;
  thread: number;
  startedAt: number;
}

/**
 * The matrix a worker runs: the parsed scenarios (no thread reads a file), each job's [scenario
 * index, policy, seed], --set, and the order the jobs are claimed in (runOrder; absent: as listed).
 */
export interface CompareWorkerMatrix {
  scenarios: (Scenario & { file: string })[];
  jobs: [number, string, number][];
  set: string[];
  order?: number[];
}

/**
 * A worker's workerData. compare starts its workers before it has loaded the scenarios, so that
 * their start-up (an isolate, the imports) overlaps this thread's: the matrix then comes as the
 * first message. Given here, the worker runs it at once.
 */
export type CompareWorkerData = CompareWorkerStart & Partial<CompareWorkerMatrix>;

/** What a worker posts: a batch of [job index, verdict]; at its end, its counters. */
export type CompareBatch = [number, Verdict][];
export interface CompareWorkerEnd {
  stats: ThreadStats;
}
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
 * Below this many runs, threads cost more than they save: the default (--workers auto) runs the
 * matrix on this thread. Each worker is a V8 isolate that starts (≈ 0.25 s), loads the code and
 * warms its JIT up on its own (≈ 0.4 s), and one thread already keeps ≈ 1.15–1.4 cores busy (V8's
 * compiler and GC threads): on 2 cores, --workers 2 was slower than one thread up to ≈ 1,400 runs
 * of the built-in scenarios (≈ 3 s of one thread's work) and 3 % faster at 2,240; bench lab.compare
 * (560 runs) measures the default against one thread. With more cores, pass --workers.
 */
const PARALLEL_THRESHOLD = 2000;

/**
 * The V8 heap of a worker thread: semi-spaces of this many MB from the start (the young generation
 * is three of them). A run allocates ≈ 1 MB, nearly all dead when it ends; with V8's default
 * (1 MB growing to 16 MB) a thread scavenged every ≈ 15 runs, ≈ 375 scavenges and 20 mark-compacts
 * for 5,000 runs, each scavenge copying the run under way and promoting what it had copied the time
 * before. At 64 MB: ≈ 85 scavenges and 14 mark-compacts (--trace-gc-nvp, the 10,000-run matrix on
 * 2 workers), so less GC work in each worker and for V8's GC helper threads, which two busy threads
 * on two cores have no spare core for. It costs memory (two 64 MB semi-spaces a worker). This is why
 * the runs go to workers only: this thread's heap was sized when the process started, and a
 * `node --min-semi-space-size=64 --max-semi-space-size=64` would give it the same (which helps
 * --workers 1 too, and is the fair baseline to judge the workers' speed-up by).
 */
export const WORKER_SEMI_SPACE_MB = 64;
/** This thread lets the event loop in (worker batches, the progress bar) at least this often. */
const YIELD_MS = 20;

/** How many jobs compareJobs makes (a shard's share), without making them. */
function jobCount(o: CompareOptions): number {
  const all = o.scenarios.length * o.policies.length * o.seeds.length;
  const { index: k, count: n } = o.shard ?? { index: 0, count: 1 };
  return Math.max(0, Math.ceil((all - k) / n));
}

export function compareJobs(o: CompareOptions): CompareJob[] {
  const jobs: CompareJob[] = [];
  const { index: k, count: n } = o.shard ?? { index: 0, count: 1 };
  let i = 0;
  for (const scenario of o.scenarios) {
    for (const policy of o.policies) {
      for (const seed of o.seeds) if (i++ % n === k) jobs.push({ index: jobs.length, scenario, policy, seed, set: [...(o.set ?? [])] });
    }
  }
  return jobs;
}

/** One matrix being run: its jobs, the parsed scenarios, the verdicts so far. */
class Matrix {
  readonly jobs: CompareJob[];
  /** Job indices in the order they are run (claim k runs job order[k]). */
  readonly order: number[];
  readonly scenarios: (Scenario & { file: string })[];
  /** Scenario name → index in `scenarios`. */
  readonly which: Map<string, number>;
  readonly set: string[];
  readonly out: Verdict[];
  done = 0;
  /** Verdicts handed to onVerdict so far (the finished prefix). */
  private emitted = 0;
  private readonly onProgress: CompareOptions['onProgress'];
  private readonly onVerdict: CompareOptions['onVerdict'];
  private readonly run: typeof runScenario;

  /** The loader and the guest are imported here, not with this module: worker threads start first. */
  static async load(o: CompareOptions): Promise<Matrix> {
    const [{ loadScenario }, { runScenario }] = await Promise.all([import('./scenarios/load.ts'), import('./run.ts')]);
    return new Matrix(o, loadScenario, runScenario);
  }

  private constructor(o: CompareOptions, loadScenario: (name: string) => Scenario & { file: string }, run: typeof runScenario) {
    this.jobs = compareJobs(o);
    this.order = runOrder(this.jobs.map((j) => `${j.scenario}\n${j.policy}`));
    this.run = run;
    // Each file is read and checked once, here: bad scenario names fail before any run, and every
    // thread runs the same parsed scenario.
    const names = [...new Set(o.scenarios)];
    this.scenarios = names.map((n) => loadScenario(n));
    this.which = new Map(names.map((n, i) => [n, i]));
    this.set = [...(o.set ?? [])];
    this.out = new Array<Verdict>(this.jobs.length);
    this.onProgress = o.onProgress;
    this.onVerdict = o.onVerdict;
  }

  get total(): number {
    return this.jobs.length;
  }

  /** The verdicts of the finished prefix of the matrix (all of them unless it was stopped). */
  finished(): Verdict[] {
    const n = this.out.findIndex((v) => v === undefined);
    return n < 0 ? this.out : this.out.slice(0, n);
  }

  scenarioOf(j: CompareJob): Scenario & { file: string } {
    return this.scenarios[this.which.get(j.scenario)!]!;
  }

  /** Runs one job on this thread. */
  runHere(j: CompareJob): void {
    try {
      this.out[j.index] = this.run(this.scenarioOf(j), { policy: j.policy, seed: j.seed, set: this.set });
    } catch (e) {
      throw e instanceof Error ? runError(e, this.scenarioOf(j).file) : e;
    }
    this.progress(1);
  }

  /** A worker's batch of verdicts. */
  take(batch: CompareBatch): void {
    for (const [i, v] of batch) this.out[i] = v;
    this.progress(batch.length);
  }

  private progress(n: number): void {
    this.done += n;
    this.onProgress?.(this.done, this.total);
    if (this.onVerdict === undefined) return;
    while (this.emitted < this.total && this.out[this.emitted] !== undefined) {
      this.onVerdict(this.out[this.emitted]!, this.emitted);
      this.emitted++;
    }
  }

  /** What the workers are sent once it is loaded. */
  forWorkers(): CompareWorkerMatrix {
    const jobs = this.jobs.map((j): [number, string, number] => [this.which.get(j.scenario)!, j.policy, j.seed]);
    return { scenarios: this.scenarios, jobs, set: this.set, order: this.order };
  }
}

/**
 * Runs the matrix. The verdicts come back in matrix order; after an abort (o.signal), the finished
 * prefix only (what onVerdict has had): compareTable shows the cells not run as such.
 */
export async function compare(o: CompareOptions): Promise<Verdict[]> {
  const total = jobCount(o);
  const threads = o.workers === 0 || o.workers === undefined ? (total >= PARALLEL_THRESHOLD ? availableParallelism() : 1) : o.workers;
  // The workers start first: their start-up overlaps this thread's loading of the scenarios and the guest.
  // With 2 or more, this thread only gathers and writes (see WORKER_SEMI_SPACE_MB for why).
  const t = threads > 1 ? new Threads(total, threads, o.signal) : undefined;
  let m: Matrix;
  try {
    m = await Matrix.load(o);
  } catch (e) {
    await t?.abandon();
    throw e;
  }
  if (t === undefined) {
    // The event loop is let in every YIELD_MS so that a signal can stop the matrix between runs.
    let last = performance.now();
    for (const i of m.order) {
      if (o.signal?.aborted) break;
      m.runHere(m.jobs[i]!);
      if (performance.now() - last >= YIELD_MS) {
        await new Promise<void>((r) => setImmediate(r));
        last = performance.now();
      }
    }
    return m.finished();
  }
  await t.run(m);
  o.onStats?.(t.stats());
  return m.finished();
}

/** A matrix on worker threads, which claim chunks of runs from a shared counter. */
class Threads {
  /** The matrix, once loaded (run): no worker posts before it has it. */
  private m!: Matrix;
  private readonly total: number;
  private readonly count: number;
  /** Int32 [0]: the next job index to claim. */
  private readonly next = new Int32Array(new SharedArrayBuffer(4));
  private readonly workers: Worker[] = [];
  /** Workers that have posted verdicts (they started, and end on their own once the runs run out). */
  private readonly ran = new Set<Worker>();
  /** Workers whose counters came (their last message), and who waits for those still to come. */
  private readonly reported = new Set<Worker>();
  private readonly ending = new Map<Worker, (v: unknown) => void>();
  private live = 0;
  private closing = false;
  private failure: Error | undefined;
  private settle: (() => void) | undefined;
  /** When the matrix started (ms since the epoch: every thread's clock counts from it). */
  private readonly startedAt = performance.timeOrigin + performance.now();
  /** The workers' counters as they end. */
  private readonly ended: ThreadStats[] = [];
  /** When the last verdict came (ms since the epoch). */
  private doneAt: number | undefined;

  private readonly signal: AbortSignal | undefined;

  /** Starts the workers at once; run() gives them the matrix. */
  constructor(total: number, threads: number, signal?: AbortSignal) {
    this.total = total;
    this.count = threads;
    this.signal = signal;
    this.startWorkers();
  }

  /** The matrix could not be loaded: the workers are stopped, none has run. */
  async abandon(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** What each worker that ended did, and the matrix's length: until its last verdict came. */
  stats(): CompareStats {
    const threads = [...this.ended].sort((a, b) => a.thread - b.thread);
    return { wallMs: (this.doneAt ?? performance.timeOrigin + performance.now()) - this.startedAt, threads };
  }

  async run(m: Matrix): Promise<void> {
    this.m = m;
    // A stop: no thread claims another run; the runs in flight are let go (terminate below).
    const onAbort = (): void => {
      ChunkClaimer.stopAll(this.next, m.total);
      this.settle?.();
    };
    this.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const matrix = m.forWorkers();
      for (const w of this.workers) w.postMessage(matrix);
      this.check();
      // The rest come in the workers' batches.
      if (m.done < m.total && this.failure === undefined && this.signal?.aborted !== true) await new Promise<void>((r) => (this.settle = r));
      this.doneAt = performance.timeOrigin + performance.now();
      if (this.failure !== undefined) throw this.failure;
    } catch (e) {
      this.fail(e as Error);
      throw e;
    } finally {
      this.signal?.removeEventListener('abort', onAbort);
      // A worker that ran is let end (its counters are its last message); one still starting when
      // the last run was done is stopped, not waited for, and so is every worker after a stop.
      this.closing = true;
      const stopped = this.failure !== undefined || this.signal?.aborted === true;
      await Promise.all(this.workers.map(async (w) => {
        if (!stopped && this.ran.has(w) && !this.reported.has(w)) await new Promise((r) => (this.ending.set(w, r), w.once('exit', r)));
        await w.terminate();
      }));
    }
  }

  private fail(e: Error): void {
    if (this.closing) return;
    this.failure ??= e;
    ChunkClaimer.stopAll(this.next, this.total); // no thread claims another run
    this.settle?.();
  }

  /** Every run claimed is posted before its worker exits: runs left then are runs lost. */
  private check(): void {
    if (this.m === undefined) return; // not started: run() sees the failure, if any
    const { done, total } = this.m;
    if (this.live === 0 && done < total && this.signal?.aborted !== true) this.fail(new Error(`compare: the worker threads exited with ${total - done} runs not done`));
  }

  private startWorkers(): void {
    // A V8 flag is read when an isolate is made: set now, it sizes the workers' semi-spaces from
    // the start (resourceLimits caps the young generation but lets it start at 1 MB), not this
    // thread's heap, which exists already.
    setFlagsFromString(`--min-semi-space-size=${WORKER_SEMI_SPACE_MB}`);
    const url = new URL(import.meta.url.endsWith('.ts') ? './compare-worker.ts' : './compare-worker.js', import.meta.url);
    const data = { next: this.next.buffer as SharedArrayBuffer, threads: this.count, startedAt: this.startedAt };
    // The workers are threads 1 … N of the stats (0 would be this one, which runs none).
    for (let t = 1; t <= this.count; t++) {
      const w = startWorker(url, { ...data, thread: t });
      this.live++;
      w.on('message', (msg: CompareBatch | CompareFailure | CompareWorkerEnd) => {
        if ('stats' in msg) {
          this.ended.push(msg.stats);
          this.reported.add(w);
          this.ending.get(w)?.(undefined);
          return;
        }
        const m = this.m;
        if (!Array.isArray(msg)) {
          this.fail(runError(msg.failed, m.scenarioOf(m.jobs[msg.failed.index]!).file));
          return;
        }
        this.ran.add(w);
        m.take(msg);
        if (m.done === m.total) this.settle?.();
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        this.live--;
        if (code !== 0) this.fail(new Error(`compare worker exited with ${code}`));
        else this.check();
      });
      this.workers.push(w);
    }
  }
}

/**
 * A worker on the compiled build runs its .js file directly; from the sources (tsx, vitest) it
 * first registers tsx's loader in the new thread, then imports the TypeScript file.
 */
function startWorker(url: URL, data: CompareWorkerData): Worker {
  const resourceLimits = { maxYoungGenerationSizeMb: 3 * WORKER_SEMI_SPACE_MB };
  if (url.pathname.endsWith('.js')) return new Worker(url, { workerData: data, resourceLimits });
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true, workerData: data, resourceLimits });
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
 * seed): cells are taken by position. A row is labelled with the scenario's `name` (a file given
 * by path too), or, when two given scenarios share a name, with the name and what was given.
 */
export function compareTable(verdicts: readonly Verdict[], scenarios: readonly string[], policies: readonly string[], seedCount?: number): string {
  // seedCount: when the matrix was stopped, verdicts is its finished prefix; cells past it show "…".
  const seeds = seedCount ?? verdicts.length / Math.max(1, scenarios.length * policies.length);
  const cell = (i: number, j: number) => verdicts.slice((i * policies.length + j) * seeds, (i * policies.length + j + 1) * seeds);
  const names = scenarios.map((s, i) => cell(i, 0)[0]?.scenario ?? s);
  const label = (i: number): string =>
    names.filter((n) => n === names[i]).length > 1 && names[i] !== scenarios[i] ? `${names[i]} (${scenarios[i]})` : names[i]!;
  const text = (c: Verdict[]) => (c.length === seeds ? cellText(c) : c.length === 0 ? '…' : `${cellText(c)} …`);
  const rows = scenarios.map((_, i) => [label(i), ...policies.map((_, j) => text(cell(i, j)))]);
  const head = ['scenario', ...policies];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const CSV_FIELDS = ['scenario', 'policy', 'seed', 'outcome', 'steps', 'pins_ok', 'pins_refused', 'ipis', 'flush_hypercalls', 'xen_flushes', 'warnings', 'va_hazards', 'deadlock'] as const;

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The CSV header line (no line break). */
export const CSV_HEADER = CSV_FIELDS.join(',');

/** One verdict as a CSV row (no line break). */
export function csvRow(v: Verdict): string {
  return [
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
  ]
    .map(csvCell)
    .join(',');
}

export function compareCsv(verdicts: readonly Verdict[]): string {
  return [CSV_HEADER, ...verdicts.map(csvRow)].join('\n');
}
