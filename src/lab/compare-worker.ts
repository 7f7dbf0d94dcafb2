// A worker thread of `xensim compare` (compare.ts): claims chunks of runs from the shared counter
// (compare-chunks.ts) until none is left, posts the verdicts back a chunk at a time (at least every
// POST_MS, for the progress bar), and at the end what it did (its ThreadStats). It is started
// before the matrix is loaded (its imports overlap the main thread's): the matrix is its first
// message, unless its workerData holds it.
import { parentPort, workerData } from 'node:worker_threads';
import { ChunkClaimer } from './compare-chunks.ts';
import { runScenario } from './run.ts';
import type { CompareBatch, CompareFailure, CompareWorkerData, CompareWorkerMatrix } from './compare.ts';
import type { Verdict } from './verdict.ts';

/** A batch goes back at least this often (the progress bar), or at the end of a chunk. */
const POST_MS = 50;

const start = workerData as CompareWorkerData;
if (start.scenarios !== undefined && start.jobs !== undefined) work({ scenarios: start.scenarios, jobs: start.jobs, set: start.set ?? [], ...(start.order && { order: start.order }) });
else parentPort!.once('message', (m: CompareWorkerMatrix) => work(m));

function work({ scenarios, jobs, set, order }: CompareWorkerMatrix): void {
  const claimer = new ChunkClaimer(new Int32Array(start.next), jobs.length, start.threads, start.thread, start.startedAt);
  let batch: CompareBatch = [];
  let last = performance.now();
  const post = (): void => {
    if (batch.length > 0) parentPort!.postMessage(batch);
    batch = [];
    last = performance.now();
  };
  work: for (let chunk = claimer.claim(); chunk !== undefined; chunk = claimer.claim()) {
    for (let k = chunk[0]; k < chunk[1]; k++) {
      const i = order === undefined ? k : order[k]!;
      const [s, policy, seed] = jobs[i]!;
      let verdict: Verdict;
      const t0 = performance.now();
      try {
        verdict = runScenario(scenarios[s]!, { policy, seed, set });
      } catch (e) {
        // The run's error goes back whole (name, and the op that a scenario error points at).
        const { name, message, op } = e as Error & { op?: unknown };
        post();
        const failure: CompareFailure = { failed: { index: i, name, message, op } };
        parentPort!.postMessage(failure);
        break work;
      }
      claimer.ran(t0);
      batch.push([i, verdict]);
      if (performance.now() - last >= POST_MS) post();
    }
    post();
  }
  post();
  parentPort!.postMessage({ stats: claimer.stats });
}
