// `xensim explore SCENARIO …`: flags → explore (every interleaving that can differ, docs/explore.md)
// → the report (text or --json). A progress line on stderr (a terminal, not with --json; or
// --progress);
// --max-time and --max-schedules end with a partial result marked "not exhaustive"; SIGINT,
// SIGTERM and SIGHUP stop the search between runs and print what it found so far (exit 128 + n).
import type { Command } from 'commander';
import { stopExit } from '../log/output.ts';
import type { ExploreOptions, ExploreProgress } from '../lab/explore.ts';
import { inputErrorExit, intArg, shardArg } from './args.ts';
import { collect, runCommand } from './command.ts';
import { progressLine, wantProgress } from './progress.ts';

interface ExploreFlags {
  policy?: string;
  set: string[];
  vcpus?: number;
  maxSchedules: number;
  /** Seconds. */
  maxTime?: number;
  json?: boolean;
  shard?: { index: number; count: number };
  expect: boolean;
  progress?: boolean;
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
    .option('--shard <K/N>', "explore only the root's choices u with u mod N = K - 1; the report (JSON) is for `xensim merge`", shardArg)
    .option('--json', 'the report as one JSON object')
    .option('--progress', 'a progress line on stderr even when it is not a terminal (at most 5 a second)')
    .option('--no-expect', "do not check the scenario's reachability expectations for this policy (expect[P].explore: checked by default, exit 1 naming each that failed)")
    .action(async (scenario: string, flags: ExploreFlags) => {
      await runCommand('explore', async (signal) => {
        const { loadScenario } = await import('../lab/scenarios/load.ts');
        const { exploreAsync, exploreText } = await import('../lab/explore.ts');
        let file: string | undefined;
        let progress: Awaited<ReturnType<typeof exploreProgress>> | null = null;
        try {
          const s = loadScenario(scenario);
          file = s.file;
          if (wantProgress(flags.progress, !flags.json && !flags.shard)) progress = await exploreProgress();
          const opts: ExploreOptions = { set: flags.set, maxSchedules: flags.maxSchedules, source: scenario };
          if (flags.policy !== undefined) opts.policy = flags.policy;
          if (flags.vcpus !== undefined) opts.vcpus = flags.vcpus;
          if (flags.maxTime !== undefined) opts.maxTimeMs = flags.maxTime * 1000;
          if (progress) opts.onRun = progress.update;
          if (flags.shard) opts.shard = flags.shard;
          const r = await exploreAsync(s, opts, signal);
          progress?.stop();
          process.stdout.write(flags.json || flags.shard ? JSON.stringify(r) + '\n' : exploreText(r) + '\n');
          if (signal.aborted) return stopExit(signal);
          // A shard's report is a part of the search: reachability is judged on the merged whole.
          return flags.expect && !flags.shard && flags.set.length === 0 && flags.vcpus === undefined ? await checkReach(s, flags.policy, r) : 0;
        } catch (e) {
          progress?.stop();
          await inputErrorExit('explore', file, e);
          return Number(process.exitCode ?? 2);
        }
      });
    });
}

/** The scenario's reachability expectations for this policy (`expect[P].explore`): exit 1 naming each that failed. */
async function checkReach(s: Parameters<typeof import('../lab/expectation.ts').expectationFor>[0], policy: string | undefined, r: import('../lab/explore.ts').ExploreReport): Promise<number> {
  const { exploreExpectationFailures, expectationFor, failuresText } = await import('../lab/expectation.ts');
  const e = expectationFor(s, policy);
  const failed = e === undefined ? [] : exploreExpectationFailures(r, e.want);
  process.stderr.write(failuresText(e?.key ?? '', failed, 'xensim explore: '));
  return failed.length === 0 ? 0 : 1;
}

/** One line: schedules, states, depth, rate. */
async function exploreProgress(): Promise<{ update: (p: ExploreProgress) => void; stop: () => void }> {
  const t0 = performance.now();
  const line = await progressLine('explore {schedules} schedules  {states} states  depth {depth}  {rate} schedules/s  {elapsed}s', {
    schedules: 0,
    states: 0,
    depth: 0,
    rate: 0,
    elapsed: 0,
  });
  return {
    update: (p) => {
      const s = (performance.now() - t0) / 1000;
      line.update({ schedules: p.schedules, states: p.states, depth: p.depth, rate: s > 0 ? Math.round(p.schedules / s) : 0, elapsed: Math.round(s) });
    },
    stop: line.stop,
  };
}
