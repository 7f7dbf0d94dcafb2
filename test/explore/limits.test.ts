// Issue 13, item 4 of "Deliver": a search cut by --max-schedules, --max-time or Ctrl-C is a
// partial result that says so, never "exhaustive"; the CLI's repro line names a scenario file by
// its path; the progress line stays off stderr when it is not a terminal.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { explore, exploreAsync, exploreText } from '../../src/lab/explore.ts';
import { loadScenario } from '../../src/lab/scenarios/load.ts';

const s = loadScenario('cross-vcpu-irqsoff-purge');
const repo = fileURLToPath(new URL('../../', import.meta.url));

describe('explore limits', () => {
  it('--max-schedules: not exhaustive, and the text says so', () => {
    const r = explore(s, { policy: 'never', maxSchedules: 3 });
    expect(r.schedules).toBe(3);
    expect(r.exhaustive).toBe(false);
    expect(r.stopped).toBe('max-schedules');
    const text = exploreText(r);
    expect(text).toContain('NOT EXHAUSTIVE: stopped at --max-schedules');
    expect(text).not.toContain('(exhaustive)');
    // A whole search is exhaustive and says so.
    const whole = explore(s, { policy: 'never' });
    expect(whole.exhaustive).toBe(true);
    expect(exploreText(whole)).toContain('(exhaustive)');
    expect(whole.schedules).toBeGreaterThan(3);
  });

  it('--max-time: stops between runs with what it found', () => {
    const r = explore(s, { policy: 'never', maxTimeMs: 0 });
    expect(r.exhaustive).toBe(false);
    expect(r.stopped).toBe('max-time');
    expect(exploreText(r)).toContain('NOT EXHAUSTIVE: stopped at --max-time');
  });

  it('an abort (Ctrl-C) after some runs: the findings so far, marked interrupted', async () => {
    const abort = new AbortController();
    let runs = 0;
    const r = await exploreAsync(s, { policy: 'force', onRun: () => void (++runs === 2 && abort.abort()) }, abort.signal);
    expect(r.schedules).toBe(2);
    expect(r.stopped).toBe('interrupted');
    expect(r.exhaustive).toBe(false);
    expect(r.counterexamples.deadlock).toBeDefined();
    expect(exploreText(r)).toContain('NOT EXHAUSTIVE: interrupted');
  });

  it("the CLI: a scenario file's repro line names the path; no progress line when stderr is not a terminal", () => {
    const file = 'test/fixtures/explore/preempted-dirty-walk.json';
    const out = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/program.ts', 'explore', file, '--max-schedules', '40'], { cwd: repo, encoding: 'utf8' });
    expect(out.status).toBe(0);
    expect(out.stderr).toBe('');
    expect(out.stdout).toContain('NOT EXHAUSTIVE: stopped at --max-schedules');
    expect(out.stdout).toContain(`xensim run ${file} --policy linux-2.6.28 --schedule `);
  }, 60_000);
});
