// The policy lab's acceptance: explore finds the irqs-off deadlock under FORCE and none under
// NEVER, its counterexample replays with `run --schedule`; compare's JSON equals the individual
// runs, with and without worker threads; a run's log replays to the same results.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CompareStats } from '../../src/lab/compare-chunks.ts';
import { compare } from '../../src/lab/compare.ts';
import { explore } from '../../src/lab/explore.ts';
import { replay } from '../../src/replay/replay.ts';
import { runScenario } from '../../src/lab/run.ts';
import { builtinScenarios, loadScenario, runErrorText, ScenarioFileError } from '../../src/lab/scenarios/load.ts';

describe('explore', () => {
  const s = loadScenario('cross-vcpu-irqsoff-purge');

  it('finds the deadlock under FORCE, and its shortest counterexample replays with run --schedule', () => {
    const r = explore(s, { policy: 'force' });
    expect(r.exhaustive).toBe(true);
    expect(r.outcomes.deadlock).toBeGreaterThan(0);
    const cx = r.counterexamples.deadlock!;
    const again = runScenario(s, { policy: 'force', schedule: cx.schedule });
    expect(again.outcome).toBe('deadlock');
    expect(again.deadlock).toEqual(cx.verdict.deadlock);
    expect(again.schedule).toEqual(cx.schedule);
  });

  it('finds no deadlock under NEVER, but the VA hazard in every schedule', () => {
    const r = explore(s, { policy: 'never' });
    expect(r.exhaustive).toBe(true);
    expect(r.outcomes.deadlock).toBe(0);
    expect(r.outcomes.bug).toBe(0);
    expect(r.outcomes.completed).toBeGreaterThan(0);
    expect(r.va_hazards).toBe(r.schedules);
  });

  it('visits more than one interleaving of a racy scenario', () => {
    const r = explore(loadScenario('auto-purge-trylock-race'), { policy: 'default' });
    expect(r.schedules).toBeGreaterThan(1);
    expect(r.outcomes.deadlock + r.outcomes.bug).toBe(0);
  });
});

describe('compare', () => {
  const scenarios = ['fork-pin-clean', 'suspend-pin-all-irqs-off', 'nfs-readdir-2.6.36'];
  const policies = ['force', 'never'];
  const seeds = [1, 2, 3, 4];

  it('its verdicts are exactly what run gives for each cell', async () => {
    const vs = await compare({ scenarios, policies, seeds, workers: 1 });
    expect(vs).toHaveLength(scenarios.length * policies.length * seeds.length);
    let i = 0;
    for (const sc of scenarios) {
      for (const p of policies) {
        for (const seed of seeds) expect(vs[i++]).toEqual(runScenario(loadScenario(sc), { policy: p, seed }));
      }
    }
  });

  it('worker threads give the same JSON as one thread', async () => {
    const one = await compare({ scenarios, policies, seeds, workers: 1 });
    const two = await compare({ scenarios, policies, seeds, workers: 2 });
    expect(JSON.stringify(two)).toBe(JSON.stringify(one));
    // Every run on a worker (this thread only gathers): the verdicts cross the thread boundary.
    let calls = 0;
    let stats: CompareStats | undefined;
    const workersOnly = await compare({ scenarios, policies, seeds, workers: 2, onProgress: () => void calls++, onStats: (st) => (stats = st) });
    expect(JSON.stringify(workersOnly)).toBe(JSON.stringify(one));
    expect(calls).toBeGreaterThan(0);
    // The workers' counters: every run counted once, in chunks that start at one run (no cost
    // measured yet) and end at one run (the tail is shared out run by run). A worker still starting
    // when the last run was done is stopped, not waited for: it ran nothing and has no counters.
    expect([[1], [2], [1, 2]]).toContainEqual(stats!.threads.map((t) => t.thread));
    expect(stats!.threads.reduce((a, t) => a + t.runs, 0)).toBe(one.length);
    for (const t of stats!.threads) {
      if (t.runs === 0) continue;
      expect(t.minChunk).toBe(1);
      expect(t.chunks).toBeLessThanOrEqual(t.runs);
      expect(t.lastMs).toBeGreaterThanOrEqual(t.firstMs);
    }
  }, 120_000);

  it('all scenarios × the four purge-flush policies × 10 seeds: the threaded matrix equals run, cell by cell', async () => {
    const names = builtinScenarios();
    const four = ['force', 'if_needed', 'never', 'default'];
    const tenSeeds = Array.from({ length: 10 }, (_, i) => i + 1);
    const vs = await compare({ scenarios: names, policies: four, seeds: tenSeeds, workers: 2 });
    expect(vs).toHaveLength(names.length * 4 * 10);
    let i = 0;
    for (const sc of names) {
      const s = loadScenario(sc);
      for (const p of four) for (const seed of tenSeeds) expect(JSON.stringify(vs[i++])).toBe(JSON.stringify(runScenario(s, { policy: p, seed })));
    }
  }, 300_000);

  it('a bad scenario name is an input error before anything runs', async () => {
    await expect(compare({ scenarios: ['no-such'], policies, seeds })).rejects.toBeInstanceOf(ScenarioFileError);
  });

  it('a scenario that fails when it runs names its file, line and field, from this thread or a worker', async () => {
    const bad = fileURLToPath(new URL('../fixtures/bad/scenario-names-nothing.json', import.meta.url));
    const want = `${bad}:30: field "programs[1][1]": no vmalloc area named "c" exists at this point`;
    for (const opts of [{ workers: 1 }, { workers: 2 }]) {
      const e = await compare({ scenarios: ['fork-pin-clean', bad], policies, seeds, ...opts }).then(
        () => undefined,
        (x: unknown) => x as Error & { file?: string },
      );
      expect(e?.name, JSON.stringify(opts)).toBe('ScenarioError');
      expect(runErrorText(e!.file, e!), JSON.stringify(opts)).toBe(want);
    }
  }, 60_000);
});

describe('run logs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xensim-run-'));

  it('the same scenario, policy and seed give byte-identical logs', () => {
    const s = loadScenario('suspend-pin-all-irqs-off');
    runScenario(s, { policy: 'never', seed: 7, log: join(dir, 'a.log') });
    runScenario(s, { policy: 'never', seed: 7, log: join(dir, 'b.log') });
    expect(readFileSync(join(dir, 'a.log'), 'utf8')).toBe(readFileSync(join(dir, 'b.log'), 'utf8'));
  });

  it('a guest run\'s hypercall lines replay with `replay` to the same results', async () => {
    for (const name of ['vmalloc-churn-then-fork', 'dom0-dma-contiguous-irqsoff', 'full-block-missed-alias']) {
      const log = join(dir, `${name}.log`);
      runScenario(loadScenario(name), { policy: 'never', log });
      const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const recorded = lines.filter((l) => typeof l.op === 'string').map((l) => l.result.rc);
      const out: string[] = [];
      const summary = await replay(log, { json: true, out: { write: (s: string) => void out.push(s) } });
      expect(summary.exit, name).toBe(0);
      const replayed = out.join('').trim().split('\n').map((l) => JSON.parse(l).rc);
      expect(replayed, name).toEqual(recorded);
      expect(recorded.length).toBeGreaterThan(10);
    }
  });
});

describe('scenario files', () => {
  it('every built-in has a title, a description and at least one expectation', () => {
    for (const name of builtinScenarios()) {
      const s = loadScenario(name);
      expect(s.title.length, name).toBeGreaterThan(10);
      expect(s.description.length, name).toBeGreaterThan(50);
      expect(Object.keys(s.expect).length, name).toBeGreaterThan(0);
    }
  });
});
