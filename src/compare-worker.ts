// A worker thread of `xensim compare`: runs the jobs it is given and posts each verdict back.
import { parentPort, workerData } from 'node:worker_threads';
import { loadScenario } from './scenarios/load.ts';
import { runScenario } from './run.ts';
import type { CompareJob } from './compare.ts';

const jobs = (workerData as { jobs: CompareJob[] }).jobs;
for (const job of jobs) {
  const verdict = runScenario(loadScenario(job.scenario), { policy: job.policy, seed: job.seed, set: job.set });
  parentPort!.postMessage({ index: job.index, verdict });
}
