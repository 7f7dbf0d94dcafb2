// A worker thread of `xensim test` (pool.ts): claims cases from the shared counter until none is
// left, and posts each result back as [case index, result].
import { parentPort, workerData } from 'node:worker_threads';
import type { Case } from './cases.ts';
import { runCase } from './run-case.ts';

const { cases, next: shared } = workerData as { cases: Case[]; next: SharedArrayBuffer };
const next = new Int32Array(shared);
for (;;) {
  const i = Atomics.add(next, 0, 1);
  if (i >= cases.length) break;
  parentPort!.postMessage([i, await runCase(cases[i]!)]);
}
