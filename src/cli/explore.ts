// `xensim explore SCENARIO …`: flags → explore (every interleaving) → the report (text or --json).
import type { Command } from 'commander';
import { intArg, scenarioCommand } from './args.ts';
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
      await scenarioCommand('explore', scenario, async (s) => {
        const { explore, exploreText } = await import('../lab/explore.ts');
        const opts: Parameters<typeof explore>[1] = { set: flags.set, maxSchedules: flags.maxSchedules };
        if (flags.policy !== undefined) opts.policy = flags.policy;
        if (flags.vcpus !== undefined) opts.vcpus = flags.vcpus;
        const r = explore(s, opts);
        return flags.json ? JSON.stringify(r) : exploreText(r);
      });
    });
}
