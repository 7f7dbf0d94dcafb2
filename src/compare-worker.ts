// A worker thread of `xensim compare` (compare.ts): claims runs from the shared counter until none
// is left, and posts the verdicts back in batches (a message a run cost more than some runs).
import { parentPort, workerData } from 'node:worker_threads';
import { runScenario } from './run.ts';
import type { CompareBatch, CompareWorkerData } from './compare.ts';

/** A batch goes back at least this often (the progress bar), or when the runs run out. */
const POST_MS = 50;

const { scenarios, jobs, set, next: shared } = workerData as CompareWorkerData;
const next = new Int32Array(shared);
let batch: CompareBatch = [];
let last = performance.now();
for (;;) {
  const i = Atomics.add(next, 0, 1);
  if (i >= jobs.length) break;
  const [s, policy, seed] = jobs[i]!;
  batch.push([i, runScenario(scenarios[s]!, { policy, seed, set })]);
  if (performance.now() - last >= POST_MS) {
    parentPort!.postMessage(batch);
    batch = [];
    last = performance.now();
  }
}
if (batch.length > 0) parentPort!.postMessage(batch);
