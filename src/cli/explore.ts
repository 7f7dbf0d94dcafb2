// `xensim explore SCENARIO …`: flags → explore (every interleaving) → the report (text or --json).
import type { Command } from 'commander';
import { inputError, intArg } from './args.ts';
import { collect } from './command.ts';

interface ExploreFlags {
  policy?: string;
  set: string[];
  vcpus?: number;
  maxSchedules: number;
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
    .option('--max-schedules <n>', 'stop after this many complete schedules', intArg('--max-schedules', 1, 10_000_000), 100_000)
    .option('--json', 'the report as one JSON object')
    .action(async (scenario: string, flags: ExploreFlags) => {
      const { loadScenario, runErrorText } = await import('../lab/scenarios/load.ts');
      const { explore, exploreText } = await import('../lab/explore.ts');
      let file: string | undefined;
      try {
        const s = loadScenario(scenario);
        file = s.file;
        const opts: Parameters<typeof explore>[1] = { set: flags.set, maxSchedules: flags.maxSchedules };
        if (flags.policy !== undefined) opts.policy = flags.policy;
        if (flags.vcpus !== undefined) opts.vcpus = flags.vcpus;
        const r = explore(s, opts);
        process.stdout.write(flags.json ? JSON.stringify(r) + '\n' : exploreText(r) + '\n');
        process.exitCode = 0;
      } catch (e) {
        if (!inputError(e)) throw e;
        process.stderr.write(`xensim explore: ${runErrorText(file, e)}\n`);
        process.exitCode = 2;
      }
    });
}
