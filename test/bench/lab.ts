// §4 Guest and lab — THE HOOK for the figures of `xensim run`, `compare` and `explore`.
//
// Those commands were written while this bench was. Each figure is measured only if its module
// exports what the bench calls (src/run.ts runScenario, src/compare.ts compare, src/explore.ts
// explore, src/scenarios/load.ts), and is reported as "pending" otherwise, so the bench never
// breaks on a lab being rebuilt; a call that throws is reported as pending with its message.
//   run      suspend-pin-all-irqs-off, runs/s (seeds 1, 2, …, for about 3 s)
//   compare  every scenario × 4 policies × 10 seeds: seconds with a worker per core, against one
//            thread in the same run (goal: ≥ 1.7× on 2 cores)
//   explore  cross-vcpu-irqsoff-purge with 2 vCPUs: seconds (goal: < 10 s), schedules and runs/s
import { cpus } from 'node:os';
import { judge, type Figure } from './report.ts';
import { human, round3 } from './util.ts';

const SECTION = '4. Guest and lab (the hook: figures measured once their commands exist)';

type AnyFn = (...args: never[]) => unknown;
type Module = Record<string, unknown>;

/** Imports a module of src/ if it exists; undefined while it is still being written. */
async function tryImport(path: string): Promise<Module | undefined> {
  try {
    return (await import(path)) as Module;
  } catch {
    return undefined;
  }
}

function fn(m: Module | undefined, name: string): AnyFn | undefined {
  const f = m?.[name];
  return typeof f === 'function' ? (f as AnyFn) : undefined;
}

function pending(id: string, what: string, why: string): Figure {
  return { id, section: SECTION, what, value: NaN, unit: 'pending', note: `pending: ${why}` };
}

/** Runs fn repeatedly for about `budgetMs` (at least `min` times); returns runs per second. */
function rate(fnToRun: () => unknown, budgetMs: number, min = 3): { perSec: number; runs: number } {
  let runs = 0;
  const t0 = performance.now();
  let t = t0;
  while (runs < min || t - t0 < budgetMs) {
    fnToRun();
    runs++;
    t = performance.now();
  }
  return { perSec: (runs / (t - t0)) * 1000, runs };
}

async function measureRun(): Promise<Figure[]> {
  const run = await tryImport('../../src/run.ts');
  const load = await tryImport('../../src/scenarios/load.ts');
  const runScenario = fn(run, 'runScenario') as ((s: unknown, o?: { seed?: number }) => unknown) | undefined;
  const loadScenario = fn(load, 'loadScenario') as ((name: string) => Record<string, unknown>) | undefined;
  if (!runScenario || !loadScenario) {
    return [pending('lab.run', 'run suspend-pin-all-irqs-off', 'src/run.ts runScenario / src/scenarios/load.ts loadScenario not exported yet')];
  }
  const s = loadScenario('suspend-pin-all-irqs-off');
  let seed = 1;
  const r = rate(() => runScenario(s, { seed: seed++ }), 3000);
  return [
    judge({
      id: 'lab.run',
      section: SECTION,
      what: 'run suspend-pin-all-irqs-off',
      value: Math.round(r.perSec),
      unit: 'runs/s',
      note: `${r.runs} runs, seeds 1…${r.runs}`,
    }),
  ];
}

async function measureCompare(): Promise<Figure[]> {
  const m = await tryImport('../../src/compare.ts');
  const compare = fn(m, 'compare') as ((o: Record<string, unknown>) => Promise<unknown[]>) | undefined;
  const load = await tryImport('../../src/scenarios/load.ts');
  const builtin = fn(load, 'builtinScenarios') as (() => string[]) | undefined;
  if (!compare || !builtin) return [pending('lab.compare', 'compare: all scenarios × 4 policies × 10 seeds', 'src/compare.ts compare() not exported yet')];
  const scenarios = builtin();
  const policies = ['default', 'force', 'if_needed', 'never'];
  const seeds = Array.from({ length: 10 }, (_, i) => i + 1);
  const job = (workers: number) => async () => {
    const t0 = performance.now();
    await compare({ scenarios, policies, seeds, workers });
    return performance.now() - t0;
  };
  try {
    const one = await job(1)();
    const many = await job(cpus().length)();
    // What the threads cost before any work: the same call on a 2-run matrix.
    const t0 = performance.now();
    await compare({ scenarios: scenarios.slice(0, 1), policies: policies.slice(0, 1), seeds: [1, 2], workers: cpus().length });
    const startMs = performance.now() - t0;
    return [
      judge({
        id: 'lab.compare',
        section: SECTION,
        what: `compare: ${scenarios.length} scenarios × 4 policies × 10 seeds, ${cpus().length} workers`,
        value: round3(many / 1000),
        unit: 's',
        baseline: { what: 'one thread', value: round3(one / 1000), unit: 's' },
        ratio: round3(one / many),
        goal: { on: 'ratio', op: '>=', limit: 1.7 },
        note: `ratio = speed-up of the worker threads over one thread; starting the workers alone (a 2-run matrix) took ${round3(startMs / 1000)} s`,
      }),
    ];
  } catch (e) {
    return [pending('lab.compare', 'compare: all scenarios × 4 policies × 10 seeds', `compare() failed: ${(e as Error).message}`)];
  }
}

async function measureExplore(): Promise<Figure[]> {
  const m = await tryImport('../../src/explore.ts');
  const explore = fn(m, 'explore') as ((s: unknown, o?: Record<string, unknown>) => Record<string, unknown>) | undefined;
  const load = await tryImport('../../src/scenarios/load.ts');
  const loadScenario = fn(load, 'loadScenario') as ((name: string) => unknown) | undefined;
  if (!explore || !loadScenario) return [pending('lab.explore', 'explore cross-vcpu-irqsoff-purge, 2 vCPUs', 'src/explore.ts explore() not exported yet')];
  try {
    const t0 = performance.now();
    const r = explore(loadScenario('cross-vcpu-irqsoff-purge'), { vcpus: 2 });
    const ms = performance.now() - t0;
    const schedules = Number(r.schedules ?? NaN);
    const runs = schedules + Number(r.pruned ?? 0);
    return [
      judge({
        id: 'lab.explore',
        section: SECTION,
        what: 'explore cross-vcpu-irqsoff-purge, 2 vCPUs',
        value: round3(ms / 1000),
        unit: 's',
        goal: { on: 'value', op: '<', limit: 10 },
        note: Number.isFinite(schedules)
          ? `${schedules} complete schedules, ${runs} runs in all (pruned ones included): ${human((runs / ms) * 1000)} runs/s; exhaustive: ${String(r.exhaustive)}`
          : 'schedule count not reported',
      }),
    ];
  } catch (e) {
    return [pending('lab.explore', 'explore cross-vcpu-irqsoff-purge, 2 vCPUs', `explore() failed: ${(e as Error).message}`)];
  }
}

export async function lab(): Promise<Figure[]> {
  return [...(await measureRun()), ...(await measureCompare()), ...(await measureExplore())];
}
