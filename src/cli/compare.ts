// `xensim compare`: flags → compare (on worker threads for large matrices) → the table, --json or
// --csv; a progress bar on a terminal. Exit 0 for any verdicts; 2 for bad input.
import type { Command } from 'commander';
import { inputErrorExit, intArg, listArg, seedsArg } from './args.ts';
import { collect } from './command.ts';

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
      const { builtinScenarios } = await import('../lab/scenarios/load.ts');
      const { SEED_QUESTION } = await import('../lab/scenarios/policies.ts');
      const { compare, compareCsv, compareTable } = await import('../lab/compare.ts');
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
        await inputErrorExit('compare', (e as { file?: string }).file, e);
      }
    });
}

async function progressBar(total: number) {
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format: 'compare [{bar}] {value}/{total} runs' }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return bar;
}
