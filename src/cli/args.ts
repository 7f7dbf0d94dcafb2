// The lab subcommands' argument parsers (commander's argParser functions: they throw
// InvalidArgumentError, which commander reports as a usage error), and which errors of a run are
// the input's fault.
import { InvalidArgumentError } from 'commander';
import type { loadScenario } from '../lab/scenarios/load.ts';

type LoadedScenario = ReturnType<typeof loadScenario>;

export function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer ${min}…${max}`);
    return n;
  };
}

export function scheduleArg(v: string): number[] {
  if (!/^\d+(,\d+)*$/.test(v)) throw new InvalidArgumentError('a schedule is vCPU ids separated by commas, e.g. 0,1,1,0');
  return v.split(',').map(Number);
}


/**
 * A lab subcommand's failure: an input error (a bad scenario file, knob or schedule) is printed as
 * `xensim NAME: FILE:LINE: …` and exits 2; anything else is a bug and is thrown on.
 */
export async function inputErrorExit(name: string, file: string | undefined, e: unknown): Promise<void> {
  if (!inputError(e)) throw e;
  const { runErrorText } = await import('../lab/scenarios/load.ts');
  process.stderr.write(`xensim ${name}: ${runErrorText(file, e)}\n`);
  process.exitCode = 2;
}

/** `run`: load the scenario, then `body` gives the text to print (exit 0), or the text and its exit status. */
export async function scenarioCommand(name: string, scenario: string, body: (s: LoadedScenario) => Promise<string | { text: string | null; exit: number }>): Promise<void> {
  const { loadScenario } = await import('../lab/scenarios/load.ts');
  let file: string | undefined;
  try {
    const s = loadScenario(scenario);
    file = s.file;
    const r = await body(s);
    const text = typeof r === 'string' ? r : r.text;
    if (text !== null) process.stdout.write(text + '\n');
    process.exitCode = typeof r === 'string' ? 0 : r.exit;
  } catch (e) {
    await inputErrorExit(name, file, e);
  }
}

/** Errors that mean the input (or an output path) was wrong (exit 2), as opposed to a fault of the simulator. */
export const INPUT_ERRORS = new Set(['ScenarioFileError', 'PolicyError', 'ScheduleError', 'ScenarioError', 'OutOfMemory', 'OutputError']);

export function inputError(e: unknown): e is Error {
  return e instanceof Error && INPUT_ERRORS.has(e.name);
}

export function seedsArg(v: string): number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(v);
  if (range) {
    const [a, b] = [Number(range[1]), Number(range[2])];
    if (b < a || b - a > 100_000) throw new InvalidArgumentError('a seed range is FIRST..LAST with FIRST ≤ LAST (at most 100,000 seeds)');
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  if (/^\d+(,\d+)*$/.test(v)) return v.split(',').map(Number);
  throw new InvalidArgumentError('seeds are a range 1..10 or a list 1,2,3');
}

/**
 * A comma-separated list (repeatable, the lists add up); spaces around a comma are dropped, spaces
 * inside a name kept (a path may have them). A list that names nothing ("", ",") is a usage error.
 */
export const listArg = (v: string, prev: string[] | undefined): string[] => {
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new InvalidArgumentError(`"${v}" names nothing (a comma-separated list; a path with a comma: --scenario PATH)`);
  return [...(prev ?? []), ...items];
};

/** `--shard K/N` (1 ≤ K ≤ N, the habit of vitest/jest/playwright) → a 0-based index and the count. */
export function shardArg(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const [k, n] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (!m || k < 1 || k > n || n > 1_000_000) throw new InvalidArgumentError('a shard is K/N with 1 ≤ K ≤ N ≤ 1000000, e.g. 2/8');
  return { index: k - 1, count: n };
}
