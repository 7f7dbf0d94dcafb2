// Determinism (issue 6, item 5): every example (examples/*.ndjson replayed, examples/*.json run)
// and every built-in scenario, run twice as the built command in separate processes, gives the
// same bytes: the log file, the --json output, the human report. And compare's matrix is the same
// on one thread and on two worker threads.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinScenarios } from '../../src/lab/scenarios/builtin.ts';
import { buildCommand, limiter, repo, runBuilt, type Built } from './built.ts';

const examples = readdirSync(join(repo, 'examples')).sort();
const traces = examples.filter((f) => f.endsWith('.ndjson')).map((f) => `examples/${f}`);
const scenarios = [...builtinScenarios(), ...examples.filter((f) => f.endsWith('.json')).map((f) => `examples/${f}`)];

let built: Built;
let dir: string;
beforeAll(() => {
  built = buildCommand('xensim-determinism-');
  dir = mkdtempSync(join(tmpdir(), 'xensim-determinism-out-'));
}, 120_000);
afterAll(() => {
  built?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const slot = limiter(2);
let n = 0;

/** Runs the command twice; the outputs and the logs of the two runs. */
async function twice(args: (log: string) => string[]): Promise<{ out: [string, string]; log: [string, string]; status: [number | null, number | null] }> {
  const logs = [join(dir, `${n++}.log`), join(dir, `${n++}.log`)] as const;
  const [a, b] = await Promise.all(logs.map((log) => slot(() => runBuilt(built.bin, args(log)))));
  return {
    out: [a!.stdout, b!.stdout],
    log: [readFileSync(logs[0], 'utf8'), readFileSync(logs[1], 'utf8')],
    status: [a!.status, b!.status],
  };
}

describe.concurrent('two runs, the same bytes', () => {
  it('there are examples of both kinds, and every built-in scenario', () => {
    expect(traces.length).toBeGreaterThanOrEqual(2);
    expect(scenarios).toContain('examples/my-first-scenario.json');
    expect(scenarios.length).toBe(builtinScenarios().length + examples.filter((f) => f.endsWith('.json')).length);
  });

  for (const trace of traces) {
    it(`replay ${trace}: the log, the --json output and the report`, async () => {
      const json = await twice((log) => ['replay', trace, '--json', '--log', log]);
      const human = await twice((log) => ['replay', trace, '--log', log]);
      for (const r of [json, human]) {
        expect(r.status).toEqual([0, 0]);
        expect(r.out[1]).toBe(r.out[0]);
        expect(r.log[1]).toBe(r.log[0]);
      }
      expect(human.log[0]).toBe(json.log[0]);
      expect(json.log[0].split('\n').length).toBeGreaterThan(20);
    }, 60_000);
  }

  for (const scenario of scenarios) {
    it(`run ${scenario}: the log and the --json verdict`, async () => {
      const r = await twice((log) => ['run', scenario, '--json', '--log', log]);
      expect(r.status).toEqual([0, 0]);
      expect(r.out[1]).toBe(r.out[0]);
      expect(r.log[1]).toBe(r.log[0]);
      expect(JSON.parse(r.log[0].trim().split('\n').at(-1)!)).toMatchObject({ event: 'end', msg: 'run stopped', reason: (JSON.parse(r.out[0]) as { outcome: string }).outcome });
    }, 60_000);
  }

  it('compare --json: the same matrix on one thread and on two worker threads', async () => {
    const args = ['compare', '--json', '--seeds', '1..2', '--scenarios', scenarios.join(',')];
    const [one, two] = await Promise.all([slot(() => runBuilt(built.bin, [...args, '--workers', '1'])), slot(() => runBuilt(built.bin, [...args, '--workers', '2']))]);
    expect([one.status, two.status]).toEqual([0, 0]);
    expect(two.stdout).toBe(one.stdout);
    expect((JSON.parse(one.stdout) as unknown[]).length).toBe(scenarios.length * 4 * 2);
  }, 120_000);
});
