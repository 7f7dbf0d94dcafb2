// `xensim diff A B` / `xensim diff --run SCENARIO --policy P1 --policy P2 [--seed N]`: what changed
// between two logs (src/diff/). Exit 0 no difference, 1 they differ (as diff(1)), 2 bad input.
import type { Command } from 'commander';
import { intArg } from './args.ts';
import { collect, runCommand, UsageError } from './command.ts';

interface DiffFlags {
  run?: string;
  policy: string[];
  seed: number;
  json?: boolean;
}

async function runDiff(files: string[], flags: DiffFlags): Promise<void> {
  await runCommand('diff', async (_signal, err) => {
    const { diffLogs, diffText, DiffInputError } = await import('../diff/diff.ts');
    let r;
    try {
      if (flags.run !== undefined) {
        if (files.length > 0) throw new UsageError('give two logs, or --run SCENARIO with two --policy, not both');
        if (flags.policy.length !== 2) throw new UsageError(`--run needs two --policy (got ${flags.policy.length})`);
        const { diffRuns } = await import('../diff/runs.ts');
        r = await diffRuns({ scenario: flags.run, policies: [flags.policy[0]!, flags.policy[1]!], seed: flags.seed });
      } else {
        if (files.length !== 2) throw new UsageError(`give two logs A B (got ${files.length}), or --run SCENARIO --policy P1 --policy P2`);
        if (flags.policy.length > 0) throw new UsageError('--policy goes with --run');
        r = await diffLogs(files[0]!, files[1]!);
      }
    } catch (e) {
      const { inputError } = await import('./args.ts');
      if (!(e instanceof DiffInputError) && !inputError(e)) throw e;
      err.write(`${e.message}\n`);
      return 2;
    }
    process.stdout.write((flags.json ? JSON.stringify(r) : diffText(r)) + '\n');
    return r.same ? 0 : 1;
  });
}

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('what changed between two hypercall logs (or two runs of a scenario under two policies): the first divergence in context, then refused pins, IPIs, flushes, WARNs, VA hazards, deadlocks')
    .argument('[logs...]', 'two hypercall logs A B (replay --log or run --log)')
    .option('--run <scenario>', 'run this scenario (built-in name or .json file) under the two --policy and diff the runs')
    .option('--policy <spec>', 'with --run: a policy (give it twice)', collect, [])
    .option('--seed <n>', 'with --run: the scheduler seed of both runs', intArg('--seed', 0, 2 ** 32 - 1), 1)
    .option('--json', 'the diff as one JSON object')
    .action(runDiff);
}
