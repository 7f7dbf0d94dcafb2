// How the threads of `xensim compare` share the matrix (compare.ts, compare-worker.ts): each
// claims a chunk of runs at a time from one shared counter. A chunk is sized by what the thread has
// measured a run to cost, so that it lasts about CHUNK_MS: long enough that claiming and posting
// back cost nothing beside the runs, short enough that no thread is left with a long chunk while
// the others are done. Towards the end chunks shrink to a share of the runs left (guided
// self-scheduling), down to single runs, so every thread stays busy until the last ones. Each
// thread counts what it did (ThreadStats): the bench checks by these counters that the work was
// balanced, whatever the machine's load did to the times.

/** How many runs of each cell (a scenario under a policy) the run order puts first: see runOrder. */
export const WARM_UP_RUNS = 2;

/**
 * The order the matrix's runs are claimed in (job indices): the first WARM_UP_RUNS runs of every
 * cell, then the rest in matrix order. V8 optimises a thread's hot functions for what they have
 * seen so far: in matrix order, each scenario met later brought new shapes and operations, and the
 * code optimised for the earlier ones was thrown out and compiled again (in every thread). A few
 * runs of every cell first show each thread all of them before its compiler starts; in a 3,000-run
 * compare on one thread, 457 optimising compiles and 65 deoptimisations instead of 550 and 115. The
 * verdicts still come out in matrix order; the first ones wait for that short warm-up.
 */
export function runOrder(cellOf: readonly string[]): number[] {
  const seen = new Map<string, number>();
  const first: number[] = [];
  const rest: number[] = [];
  cellOf.forEach((cell, i) => {
    const n = seen.get(cell) ?? 0;
    seen.set(cell, n + 1);
    (n < WARM_UP_RUNS ? first : rest).push(i);
  });
  return [...first, ...rest];
}

/** A chunk's aim: this many milliseconds of runs. */
export const CHUNK_MS = 25;

/** What one thread did: runs and chunks, the time it ran them, when it started and ended. */
export interface ThreadStats {
  /** 0 = this (the main) thread, then the workers in start order. */
  thread: number;
  runs: number;
  chunks: number;
  /** The smallest and largest chunk it claimed. */
  minChunk: number;
  maxChunk: number;
  /** Milliseconds spent in runs. */
  busyMs: number;
  /** From the start of the matrix to this thread's first claim (a worker's start-up), and to the end of its last run. */
  firstMs: number;
  lastMs: number;
}

/** The threads of one matrix, and its length (compare's onStats). */
export interface CompareStats {
  wallMs: number;
  threads: ThreadStats[];
}

/** A thread's claims on the shared counter (Int32 [0]: the next job index), and its counters. */
export class ChunkClaimer {
  readonly stats: ThreadStats;
  private readonly next: Int32Array;
  private readonly total: number;
  private readonly threads: number;
  /** performance.now() at the matrix's start, in this thread's clock (timeOrigin-adjusted). */
  private readonly origin: number;

  constructor(next: Int32Array, total: number, threads: number, thread: number, startedAt: number) {
    this.next = next;
    this.total = total;
    this.threads = threads;
    this.origin = startedAt - performance.timeOrigin;
    this.stats = { thread, runs: 0, chunks: 0, minChunk: Infinity, maxChunk: 0, busyMs: 0, firstMs: -1, lastMs: 0 };
  }

  /** The size of the next chunk: CHUNK_MS at the cost measured so far, at most a share of what is left. */
  private size(): number {
    const s = this.stats;
    // Before its first run a thread knows no cost: one run, then it does.
    const byCost = s.runs === 0 ? 1 : Math.max(1, Math.floor((CHUNK_MS * s.runs) / Math.max(s.busyMs, 1e-3)));
    const left = this.total - Atomics.load(this.next, 0);
    return Math.max(1, Math.min(byCost, Math.floor(left / (2 * this.threads))));
  }

  /** The next chunk [start, end) of job indices, or undefined when none is left. */
  claim(): [number, number] | undefined {
    const k = this.size();
    const start = Atomics.add(this.next, 0, k);
    if (start >= this.total) return undefined;
    const end = Math.min(this.total, start + k);
    const s = this.stats;
    if (s.firstMs < 0) s.firstMs = performance.now() - this.origin;
    s.chunks++;
    s.minChunk = Math.min(s.minChunk, end - start);
    s.maxChunk = Math.max(s.maxChunk, end - start);
    return [start, end];
  }

  /** Counts one run that took from t0 (performance.now()) until now. */
  ran(t0: number): void {
    const now = performance.now();
    this.stats.runs++;
    this.stats.busyMs += now - t0;
    this.stats.lastMs = now - this.origin;
  }

  /** No thread claims another run (a stop or a failure). */
  static stopAll(next: Int32Array, total: number): void {
    Atomics.store(next, 0, total);
  }
}
