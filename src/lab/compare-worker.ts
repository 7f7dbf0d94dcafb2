// A worker thread of `xensim compare` (compare.ts): claims runs from the shared counter until none
// is left, and posts the verdicts back in batches (a message a run cost more than some runs).
import { parentPort, workerData } from 'node:worker_threads';
import { runScenario } from './run.ts';
import type { CompareBatch, CompareFailure, CompareWorkerData } from './compare.ts';
import type { Verdict } from './verdict.ts';

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
  let verdict: Verdict;
  try {
    verdict = runScenario(scenarios[s]!, { policy, seed, set });
  } catch (e) {
    // The run's error goes back whole (name, and the op that a scenario error points at).
    const { name, message, op } = e as Error & { op?: unknown };
    const failure: CompareFailure = { failed: { index: i, name, message, op } };
    parentPort!.postMessage(failure);
    break;
  }
  batch.push([i, verdict]);
  if (performance.now() - last >= POST_MS) {
    parentPort!.postMessage(batch);
    batch = [];
    last = performance.now();
  }
}
if (batch.length > 0) parentPort!.postMessage(batch);
