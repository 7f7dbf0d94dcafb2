// `xensim run SCENARIO …`: flags → runScenarioAsync → the verdict (text or --json). Exit 0 for any
// verdict; 2 for bad input (an unknown scenario or knob, a bad file, a schedule that cannot run);
// 128 + n for SIGINT, SIGTERM, SIGHUP, which stop it between scheduler steps (no verdict).
import { Option, type Command } from 'commander';
import { LOG_LEVELS, type LogLevel } from '../log/write.ts';
import { intArg, scenarioCommand, scheduleArg } from './args.ts';
import { stopExit } from '../log/output.ts';
import { collect, runCommand, type StopReason } from './command.ts';

export interface RunFlags {
  policy?: string;
  set: string[];
  seed: number;
  vcpus?: number;
  schedule?: number[];
  log?: string;
  logLevel: LogLevel;
  json?: boolean;
  expect: boolean;
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
    .option('--no-expect', "do not check the scenario's own expect for this policy (checked by default: exit 1 naming each that failed)")
    .action(async (scenario: string, flags: RunFlags) => {
      // SIGINT, SIGTERM and SIGHUP stop the run between scheduler steps (runCommand's signal).
      await runCommand('run', async (signal, err) => {
        await scenarioCommand('run', scenario, async (s) => {
          const { runScenarioAsync, verdictText } = await import('../lab/run.ts');
          const opts: Parameters<typeof runScenarioAsync>[1] = { set: flags.set, seed: flags.seed, logLevel: flags.logLevel };
          if (flags.policy !== undefined) opts.policy = flags.policy;
          if (flags.vcpus !== undefined) opts.vcpus = flags.vcpus;
          if (flags.schedule !== undefined) opts.schedule = flags.schedule;
          if (flags.log !== undefined) opts.log = flags.log;
          const v = await runScenarioAsync(s, opts, signal, stopExit);
          if ('interrupted' in v) {
            const why = (signal.reason as StopReason | undefined)?.why ?? 'a signal';
            err.write(`interrupted by ${why} after ${v.steps} steps: no verdict${flags.log ? ` (${flags.log} ends with reason interrupted)` : ''}\n`);
            return { text: null, exit: stopExit(signal) };
          }
          const text = flags.json ? JSON.stringify(v) : verdictText(v, s.title);
          // The scenario's expectation holds for its policy as written: not once knobs, vCPUs or the schedule are changed.
          const asWritten = flags.set.length === 0 && flags.vcpus === undefined && flags.schedule === undefined;
          if (!flags.expect || !asWritten) return text;
          const { expectationFailures, expectationFor, failuresText } = await import('../lab/expectation.ts');
          const e = expectationFor(s, flags.policy);
          const failed = e === undefined ? [] : expectationFailures(v, e.want);
          if (failed.length === 0) return text;
          process.stderr.write(failuresText(e!.key, failed, 'xensim run: '));
          return { text, exit: 1 };
        });
        return Number(process.exitCode ?? 0);
      });
    });
}
