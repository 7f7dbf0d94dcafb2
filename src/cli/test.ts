// `xensim test PATH…`: every trace and scenario file under the paths, on every core, reported like
// a test runner (or TAP, or JUnit XML). Exit 0 all passed, 1 a case failed, 2 bad input.
import { Option, type Command } from 'commander';
import { intArg } from './args.ts';
import { runCommand } from './command.ts';

interface TestFlags {
  reporter: 'text' | 'tap' | 'junit';
  jobs?: number;
  seed: number;
}

export function registerTest(program: Command): void {
  program
    .command('test')
    .description('run every trace (its expects) and scenario file (its expect per policy) under the paths, in parallel; a line per case, a summary; exit 1 on a failure')
    .argument('<paths...>', 'files or directories: traces (.ndjson), scenario files (.json)')
    .addOption(new Option('--reporter <name>', 'text, TAP 13, or JUnit XML (Jenkins, GitLab, GitHub)').choices(['text', 'tap', 'junit']).default('text'))
    .option('--jobs <n>', 'threads (default: one per core)', intArg('--jobs', 1, 256))
    .option('--seed <n>', 'the scheduler seed of the scenario runs', intArg('--seed', 0, 2 ** 32 - 1), 1)
    .action(async (paths: string[], flags: TestFlags) => {
      await runCommand('test', async (_signal, err) => {
        const { runTests } = await import('../testrun/test.ts');
        const opts: Parameters<typeof runTests>[1] = { reporter: flags.reporter, seed: flags.seed };
        if (flags.jobs !== undefined) opts.jobs = flags.jobs;
        const r = await runTests(paths, opts);
        if (r.error !== undefined) err.write(r.error + '\n');
        return r.exit;
      });
    });
}
