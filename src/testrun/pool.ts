// The cases of `xensim test` on every core: worker threads (worker.ts) claim them one at a time
// from a shared counter; the results come back in case order whatever thread ran them. One thread
// (or one case) runs here, without a worker.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Case } from './cases.ts';
import { runCase, type CaseResult } from './run-case.ts';

/**
 * A worker on the compiled build runs its .js file (dist/test-worker.js, next to the chunk this
 * module is bundled into); from the sources (tsx, vitest) it first registers tsx's loader.
 */
function startWorker(data: { cases: Case[]; next: SharedArrayBuffer }): Worker {
  const url = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './test-worker.js', import.meta.url);
  if (url.pathname.endsWith('.js')) return new Worker(url, { workerData: data });
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true, workerData: data });
}

/** Runs the cases on `jobs` threads (default: one per core); `onResult` sees each as it comes. */
export async function runCases(cases: readonly Case[], jobs = availableParallelism(), onResult?: (i: number, r: CaseResult) => void): Promise<CaseResult[]> {
  const results = new Array<CaseResult>(cases.length);
  const threads = Math.min(jobs, cases.length);
  if (threads <= 1) {
    for (let i = 0; i < cases.length; i++) onResult?.(i, (results[i] = await runCase(cases[i]!)));
    return results;
  }
  const next = new SharedArrayBuffer(4);
  const workers = Array.from({ length: threads }, () => startWorker({ cases: [...cases], next }));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.on('message', ([i, r]: [number, CaseResult]) => onResult?.(i, (results[i] = r)));
            w.on('error', reject);
            w.on('exit', () => resolve());
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
