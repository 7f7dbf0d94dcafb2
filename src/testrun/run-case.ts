// One case of `xensim test`: a trace replayed (src/replay/), or a scenario run under one policy
// (src/lab/run.ts) and its verdict held against the scenario's `expect`. What failed is named.
import { exploreExpectationFailures, expectationFailures } from '../lab/expectation.ts';
import { explore } from '../lab/explore.ts';
import { runScenario } from '../lab/run.ts';
import { loadScenario, runErrorText } from '../lab/scenarios/load.ts';
import { replay } from '../replay/replay.ts';
import type { Case } from './cases.ts';

export interface CaseResult {
  name: string;
  file: string;
  ok: boolean;
  /** What failed, one line each (empty when ok). */
  failures: string[];
}

/** A trace: every expectation holds, and the replay finishes (exit 0). */
async function traceCase(file: string): Promise<string[]> {
  let out = '';
  let err = '';
  const s = await replay(file, { json: true, quiet: true, out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t) } });
  if (s.exit === 0) return [];
  const failures: string[] = [];
  for (const l of out.split('\n')) {
    if (l === '') continue;
    const o = JSON.parse(l) as { line: number; op: string; expect?: string; expected?: unknown; actual?: unknown; audit?: unknown };
    if (o.expect === 'failed') failures.push(`line ${o.line}: ${o.op} expected ${JSON.stringify(o.expected)}, got ${JSON.stringify(o.actual)}`);
    else if (o.audit !== undefined) failures.push(`line ${o.line}: audit found ${JSON.stringify(o.audit)}`);
  }
  if (err !== '') failures.push(...err.trimEnd().split('\n'));
  if (failures.length === 0) failures.push(`replay stopped: ${s.reason}, exit ${s.exit}`);
  return failures;
}

/** A scenario under one policy (its own when none): each expectation of `expect[policy]` holds. */
function scenarioCase(file: string, policy: string | undefined, seed: number): string[] {
  let s;
  try {
    s = loadScenario(file);
    const v = runScenario(s, policy === undefined ? { seed } : { policy, seed });
    const want = policy === undefined ? undefined : s.expect[policy];
    return want === undefined ? [] : expectationFailures(v, want);
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    return [runErrorText(s?.file ?? file, e)];
  }
}

/** Every interleaving under one policy (at most EXPLORE_LIMIT schedules): `expect[policy].explore` holds. */
const EXPLORE_LIMIT = 20_000;
function exploreCase(file: string, policy: string): string[] {
  let s;
  try {
    s = loadScenario(file);
    const want = s.expect[policy];
    return want === undefined ? [] : exploreExpectationFailures(explore(s, { policy, maxSchedules: EXPLORE_LIMIT }), want);
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    return [runErrorText(s?.file ?? file, e)];
  }
}

export async function runCase(c: Case): Promise<CaseResult> {
  const failures = c.kind === 'trace' ? await traceCase(c.file) : c.kind === 'scenario' ? scenarioCase(c.file, c.policy, c.seed) : exploreCase(c.file, c.policy);
  return { name: c.name, file: c.file, ok: failures.length === 0, failures };
}
