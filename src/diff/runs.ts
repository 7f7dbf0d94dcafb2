// `xensim diff --run SCENARIO --policy P1 --policy P2`: the same scenario and seed under two
// policies, each run with its log (src/lab/run.ts) into a temporary directory, then diffLogs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../lab/run.ts';
import { loadScenario } from '../lab/scenarios/load.ts';
import { diffLogs, type DiffResult } from './diff.ts';

export interface DiffRunsOptions {
  scenario: string;
  policies: readonly [string, string];
  seed?: number;
}

/** Runs the scenario under each policy and diffs the two logs. Input errors (ScenarioFileError, PolicyError) are thrown. */
export async function diffRuns(o: DiffRunsOptions): Promise<DiffResult> {
  const s = loadScenario(o.scenario);
  const dir = mkdtempSync(join(tmpdir(), 'xensim-diff-'));
  try {
    const logs = o.policies.map((policy, i) => {
      const log = join(dir, `${i}.log`);
      runScenario(s, { policy, seed: o.seed ?? 1, log });
      return log;
    });
    const name = (p: string) => `${o.scenario} --policy ${p} --seed ${o.seed ?? 1}`;
    return await diffLogs(logs[0]!, logs[1]!, { a: name(o.policies[0]), b: name(o.policies[1]) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
