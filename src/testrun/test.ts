// `xensim test PATH…`: collect the cases (cases.ts), run them on every core (pool.ts), report
// (report.ts). Exit 0 all passed, 1 one failed, 2 a path that does not exist or no case at all.
import { collectCases, CaseError } from './cases.ts';
import { runCases } from './pool.ts';
import { caseText, junitText, summaryLine, tapText, type Reporter } from './report.ts';
import type { CaseResult } from './run-case.ts';

export interface TestOptions {
  reporter?: Reporter;
  /** Threads (default: one per core). */
  jobs?: number;
  /** The scheduler seed of the scenario runs (default 1). */
  seed?: number;
  out?: { write(s: string): unknown };
}

export interface TestRun {
  exit: number;
  results: CaseResult[];
  /** Why nothing ran (exit 2). */
  error?: string;
}

export async function runTests(paths: readonly string[], o: TestOptions = {}): Promise<TestRun> {
  const out = o.out ?? process.stdout;
  let cases;
  try {
    cases = collectCases(paths, o.seed ?? 1);
  } catch (e) {
    if (e instanceof CaseError) return { exit: 2, results: [], error: e.message };
    throw e;
  }
  if (cases.length === 0) return { exit: 2, results: [], error: `no cases under ${paths.join(' ')} (traces: .ndjson; scenarios: .json with "programs")` };
  const reporter = o.reporter ?? 'text';
  // The text form prints each case when it and those before it are done: in order, as they come.
  let printed = 0;
  const done: (CaseResult | undefined)[] = new Array(cases.length);
  const onResult = (i: number, r: CaseResult): void => {
    if (reporter !== 'text') return;
    done[i] = r;
    while (printed < cases.length && done[printed] !== undefined) out.write(caseText(done[printed++]!));
  };
  const results = await runCases(cases, o.jobs, onResult);
  if (reporter === 'text') out.write(`\n${summaryLine(results)}\n`);
  else out.write(reporter === 'tap' ? tapText(results) : junitText(results));
  return { exit: results.every((r) => r.ok) ? 0 : 1, results };
}
