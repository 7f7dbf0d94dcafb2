// `xensim run SCENARIO …`: flags → runScenario → the verdict (text or --json). Exit 0 for any
// verdict; 2 for bad input (an unknown scenario or knob, a bad file, a schedule that cannot run).

import { InvalidArgumentError, Option, type Command } from 'commander';
import { collect } from './command.ts';
import { LOG_LEVELS, type LogLevel } from './log.ts';

export interface RunFlags {
  policy?: string;
  set: string[];
  seed: number;
  vcpus?: number;
  schedule?: number[];
  log?: string;
  logLevel: LogLevel;
  json?: boolean;
}

export function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer ${min}…${max}`);
    return n;
  };
}

function scheduleArg(v: string): number[] {
  if (!/^\d+(,\d+)*$/.test(v)) throw new InvalidArgumentError('a schedule is vCPU ids separated by commas, e.g. 0,1,1,0');
  return v.split(',').map(Number);
}


/** Errors that mean the input was wrong (exit 2), as opposed to a fault of the simulator. */
export const INPUT_ERRORS = new Set(['ScenarioFileError', 'PolicyError', 'ScheduleError', 'ScenarioError', 'OutOfMemory']);

export function inputError(e: unknown): e is Error {
  return e instanceof Error && INPUT_ERRORS.has(e.name);
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a scenario on the simulated guest and Xen, and print the verdict')
    .argument('<scenario>', 'a built-in scenario name or a scenario .json file')
    .option('--policy <spec>', 'preset or purge-flush label, then ,knob=value … (default: the scenario\'s)')
    .option('--set <knob=value>', 'set one policy knob (repeatable)', collect, [])
    .option('--seed <n>', 'scheduler seed', intArg('--seed', 0, 2 ** 32 - 1), 1)
    .option('--vcpus <n>', 'override the number of vCPUs', intArg('--vcpus', 1, 64))
    .option('--schedule <ids>', 'force the interleaving: the vCPU of each step, e.g. 0,1,1,0', scheduleArg)
    .option('--log <path>', 'write the hypercall + guest-event log (replays with `xensim replay`)')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .option('--json', 'the verdict as one JSON object')
    .action(async (scenario: string, flags: RunFlags) => {
      const { loadScenario, runErrorText } = await import('./scenarios/load.ts');
      const { runScenario, verdictText } = await import('./run.ts');
      let file: string | undefined;
      try {
        const s = loadScenario(scenario);
        file = s.file;
        const opts: Parameters<typeof runScenario>[1] = { set: flags.set, seed: flags.seed, logLevel: flags.logLevel };
        if (flags.policy !== undefined) opts.policy = flags.policy;
        if (flags.vcpus !== undefined) opts.vcpus = flags.vcpus;
        if (flags.schedule !== undefined) opts.schedule = flags.schedule;
        if (flags.log !== undefined) opts.log = flags.log;
        const v = runScenario(s, opts);
        process.stdout.write(flags.json ? JSON.stringify(v) + '\n' : verdictText(v, s.title) + '\n');
        process.exitCode = 0;
      } catch (e) {
        if (!inputError(e)) throw e;
        process.stderr.write(`xensim run: ${runErrorText(file, e)}\n`);
        process.exitCode = 2;
      }
    });
}

function seedsArg(v: string): number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(v);
  if (range) {
    const [a, b] = [Number(range[1]), Number(range[2])];
    if (b < a || b - a > 100_000) throw new InvalidArgumentError('a seed range is FIRST..LAST with FIRST ≤ LAST (at most 100,000 seeds)');
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  if (/^\d+(,\d+)*$/.test(v)) return v.split(',').map(Number);
  throw new InvalidArgumentError('seeds are a range 1..10 or a list 1,2,3');
}

const listArg = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), ...v.split(/[\s,]+/).filter(Boolean)];

interface CompareFlags {
  scenarios?: string[];
  policy: string[];
  seeds: number[];
  set: string[];
  json?: boolean;
  csv?: boolean;
  workers: number;
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('the matrix of verdicts: scenarios × policies × seeds (default: the seed patch\'s question)')
    .option('--scenarios <names>', 'scenarios, comma-separated (default: all built-ins)', listArg)
    .option('--policy <spec>', 'a policy column (repeatable; default: force, if_needed, never, default)', collect, [])
    .option('--seeds <seeds>', 'a range 1..10 or a list 1,2,3', seedsArg, [1, 2, 3])
    .option('--set <knob=value>', 'set one policy knob in every run (repeatable)', collect, [])
    .option('--workers <n>', 'threads running the matrix, this one included (0 = one per core from 2000 runs, 1 = this thread only)', intArg('--workers', 0, 256), 0)
    .option('--json', 'every verdict as a JSON array (the same objects `run --json` prints)')
    .option('--csv', 'one CSV row per run')
    .action(async (flags: CompareFlags) => {
      const { builtinScenarios } = await import('./scenarios/load.ts');
      const { SEED_QUESTION } = await import('./scenarios/policies.ts');
      const { compare, compareCsv, compareTable } = await import('./compare.ts');
      const scenarios = flags.scenarios ?? builtinScenarios();
      const policies = flags.policy.length ? flags.policy : [...SEED_QUESTION];
      const total = scenarios.length * policies.length * flags.seeds.length;
      const bar = !flags.json && !flags.csv && process.stderr.isTTY && total >= 20 ? await progressBar(total) : null;
      try {
        const verdicts = await compare({
          scenarios,
          policies,
          seeds: flags.seeds,
          set: flags.set,
          workers: flags.workers,
          onProgress: (done) => bar?.update(done),
        });
        bar?.stop();
        if (flags.json) process.stdout.write(JSON.stringify(verdicts) + '\n');
        else if (flags.csv) process.stdout.write(compareCsv(verdicts) + '\n');
        else process.stdout.write(compareTable(verdicts, scenarios, policies) + `\n\n${total} runs (seeds ${flags.seeds[0]}…${flags.seeds.at(-1)})\n`);
        process.exitCode = 0;
      } catch (e) {
        bar?.stop();
        if (!inputError(e)) throw e;
        const { runErrorText } = await import('./scenarios/load.ts');
        process.stderr.write(`xensim compare: ${runErrorText((e as { file?: string }).file, e)}\n`);
        process.exitCode = 2;
      }
    });
}

async function progressBar(total: number) {
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format: 'compare [{bar}] {value}/{total} runs' }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return bar;
}

interface ExploreFlags {
  policy?: string;
  set: string[];
  vcpus?: number;
  maxSchedules: number;
  maxTime?: number;
  json?: boolean;
}

export function registerExplore(program: Command): void {
  program
    .command('explore')
    .description('every interleaving of a scenario\'s vCPUs: how many deadlock, BUG or leave a hazard, and the shortest counterexample')
    .argument('<scenario>', 'a built-in scenario name or a scenario .json file')
    .option('--policy <spec>', 'preset or purge-flush label, then ,knob=value …')
    .option('--set <knob=value>', 'set one policy knob (repeatable)', collect, [])
    .option('--vcpus <n>', 'override the number of vCPUs', intArg('--vcpus', 1, 64))
    .option('--max-schedules <n>', 'stop after this many complete schedules (then: not exhaustive)', intArg('--max-schedules', 1, 10_000_000), 100_000)
    .option('--max-time <seconds>', 'stop after this many seconds (then: not exhaustive)', intArg('--max-time', 1, 10_000_000))
    .option('--json', 'the report as one JSON object')
    .action(async (scenario: string, flags: ExploreFlags) => {
      const { loadScenario, runErrorText } = await import('./scenarios/load.ts');
      const { exploreCommand } = await import('./lab/explore/command.ts');
      let file: string | undefined;
      try {
        const s = loadScenario(scenario);
        file = s.file;
        // Ctrl-C: the report so far, then the shell's usual 130.
        const r = await exploreCommand(s, scenario, flags);
        process.exitCode = r.stopped === 'interrupted' ? 130 : 0;
      } catch (e) {
        if (!inputError(e)) throw e;
        process.stderr.write(`xensim explore: ${runErrorText(file, e)}\n`);
        process.exitCode = 2;
      }
    });
}

/**
 * `npm start` with no arguments: the seed's story in Xen's terms (the hypercalls of the bundled
 * trace, a lazy writable alias blocking a pin), then its headline under each purge-flush policy.
 */
export async function headline(demoTrace: string): Promise<void> {
  const { replay } = await import('./replay.ts');
  const report: string[] = [];
  await replay(demoTrace, { out: { write: (s: string) => void report.push(s) } });
  const calls = report
    .join('')
    .split('\n')
    .filter((l) => /^line \d+\s+(mmuext_op|mmu_update|update_va_mapping|multicall)\b/.test(l));
  process.stdout.write(
    ['A lazy writable alias blocks a pin (examples/seed-alias-blocks-pin.ndjson, replayed on the simulated Xen):', '', ...calls, '', ''].join('\n'),
  );
  const { compare, compareTable } = await import('./compare.ts');
  const { SEED_QUESTION } = await import('./scenarios/policies.ts');
  const scenarios = ['suspend-pin-all-irqs-off', 'cross-vcpu-irqsoff-purge'];
  const policies = [...SEED_QUESTION];
  const verdicts = await compare({ scenarios, policies, seeds: [1], workers: 1 });
  process.stdout.write(
    [
      'xensim — the Dec 2008 RFC "vm_unmap_aliases: allow callers to inhibit TLB flush", on a simulated Xen PV guest',
      '',
      'Killing lazy vmalloc aliases with interrupts off, under each purge-flush policy (2 vCPUs, Linux 2.6.28):',
      '',
      compareTable(verdicts, scenarios, policies),
      '',
      ...verdicts
        .filter((v) => v.deadlock)
        .slice(0, 1)
        .flatMap((v) => [`why ${v.scenario} hangs under ${v.policy}:`, ...v.deadlock!.map((e) => `  vCPU${e.vcpu} ${e.why}`), '']),
      'NEVER (the patch\'s __vm_unmap_aliases(0)) never hangs, but frees virtual ranges that other vCPUs may still',
      'have in their TLBs — Nick Piggin\'s objection, and why the patch was not merged.',
      '',
      'More: xensim run SCENARIO [--policy P]   xensim compare   xensim explore SCENARIO   xensim replay examples/seed-alias-blocks-pin.ndjson',
    ].join('\n') + '\n',
  );
}
