// `xensim compare`: flags → compare (on worker threads for large matrices) → the table, --json,
// --ndjson or --csv; a progress bar on a terminal. Exit 0 for any verdicts; 2 for bad input.
// The machine forms stream: each verdict is written as soon as it and every one before it are
// done, so a compare stopped by a signal (exit 128 + n) keeps every finished run it wrote; the
// table, which needs whole rows, is printed at the end, or of the finished runs when stopped.
import { InvalidArgumentError, type Command } from 'commander';
import { stopExit } from '../log/output.ts';
import type { Verdict } from '../lab/verdict.ts';
import { inputErrorExit, listArg, seedsArg, shardArg } from './args.ts';
import { collect, runCommand, UsageError } from './command.ts';

interface CompareFlags {
  scenarios?: string[];
  scenario: string[];
  policy: string[];
  seeds: number[];
  set: string[];
  json?: boolean;
  ndjson?: boolean;
  csv?: boolean;
  workers: number;
  shard?: { index: number; count: number };
  expect: boolean;
}

/** --workers: a count, or auto (0: compare picks by the matrix's size). */
function workersArg(v: string): number {
  if (v === 'auto') return 0;
  if (!/^\d+$/.test(v) || Number(v) > 256) throw new InvalidArgumentError('--workers must be auto or an integer 0…256');
  return Number(v);
}

/** Each run that fails its scenario's own expect for its policy (not with --set: the expectation is for the policy as written). */
async function expectFailures(verdicts: readonly Verdict[], given: readonly string[], flags: CompareFlags): Promise<string> {
  if (!flags.expect || flags.set.length > 0) return '';
  const { loadScenario } = await import('../lab/scenarios/load.ts');
  const { expectationFailures, expectationFor } = await import('../lab/expectation.ts');
  // A verdict names its scenario by the file's `name`; the command line, by name or path.
  const scenarios = new Map(given.map((g) => loadScenario(g)).map((s) => [s.name, s]));
  let out = '';
  for (const v of verdicts) {
    const s = scenarios.get(v.scenario);
    const e = s === undefined ? undefined : expectationFor(s, v.policy);
    for (const f of e === undefined ? [] : expectationFailures(v, e.want)) out += `xensim compare: ${v.scenario} seed ${v.seed}: expect[${e!.key}] failed: ${f}\n`;
  }
  return out;
}

/** How each finished verdict is written (--json, --ndjson, --csv), and what closes the output (also `merge`'s). */
export async function streamFor(flags: Pick<CompareFlags, 'json' | 'ndjson' | 'csv'>): Promise<{ start: string; each: (v: Verdict, i: number) => string; end: string } | undefined> {
  const { CSV_HEADER, csvRow } = await import('../lab/compare.ts');
  // --json is one array, written element by element: the same bytes as JSON.stringify of it.
  if (flags.json) return { start: '[', each: (v, i) => (i === 0 ? '' : ',') + JSON.stringify(v), end: ']\n' };
  if (flags.ndjson) return { start: '', each: (v) => JSON.stringify(v) + '\n', end: '' };
  if (flags.csv) return { start: CSV_HEADER + '\n', each: (v) => csvRow(v) + '\n', end: '' };
  return undefined;
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('the matrix of verdicts: scenarios × policies × seeds (default: the seed patch\'s question)')
    .option('--scenarios <names>', 'scenarios, comma-separated (default: all built-ins)', listArg)
    .option('--scenario <name-or-path>', 'one scenario, taken as it is: a path may hold commas and spaces (repeatable; adds to --scenarios)', collect, [])
    .option('--policy <spec>', 'a policy column (repeatable; default: force, if_needed, never, default)', collect, [])
    .option('--seeds <seeds>', 'a range 1..10 or a list 1,2,3', seedsArg, [1, 2, 3])
    .option('--set <knob=value>', 'set one policy knob in every run (repeatable)', collect, [])
    .option('--workers <n|auto>', 'threads running the matrix (auto or 0, the default: a worker thread per core from 2000 runs, this thread alone below; 1 = this thread only; N = N worker threads)', workersArg, 0)
    .option('--shard <K/N>', 'run only the runs i with i mod N = K - 1, written for `xensim merge` (--ndjson unless --json)', shardArg)
    .option('--no-expect', "do not check each run against its scenario's own expect for its policy (checked by default: exit 1 naming each that failed)")
    .option('--json', 'every verdict as a JSON array (the same objects `run --json` prints), written as runs finish')
    .option('--ndjson', 'every verdict as one JSON line, written as runs finish')
    .option('--csv', 'one CSV row per run, written as runs finish')
    .action((flags: CompareFlags) => runCommand('compare', (signal) => compareCommand(flags, signal)));
}

/** The command's body: the matrix run, streamed or tabled, then the scenarios' own expectations. */
async function compareCommand(flags: CompareFlags, signal: AbortSignal): Promise<number> {
  const { builtinScenarios } = await import('../lab/scenarios/load.ts');
  const { SEED_QUESTION } = await import('../lab/scenarios/policies.ts');
  const { compare, compareTable } = await import('../lab/compare.ts');
  const named = [...(flags.scenarios ?? []), ...flags.scenario];
  const scenarios = named.length ? named : builtinScenarios();
  const policies = flags.policy.length ? flags.policy : [...SEED_QUESTION];
  let total = scenarios.length * policies.length * flags.seeds.length;
  let stream = await streamFor(flags);
  if (flags.shard) {
    const head = { k: flags.shard.index + 1, n: flags.shard.count, scenarios, policies, seeds: flags.seeds, set: flags.set };
    stream = shardStream(flags, head);
    total = Math.floor((total - flags.shard.index - 1) / flags.shard.count) + 1;
  }
  const bar = stream === undefined && process.stderr.isTTY && total >= 20 ? await progressBar(total) : null;
  let started = false;
  const begin = (): void => {
    if (started || stream === undefined) return;
    started = true;
    process.stdout.write(stream.start);
  };
  let verdicts: Verdict[];
  try {
    verdicts = await compare({
      scenarios,
      policies,
      seeds: flags.seeds,
      set: flags.set,
      workers: flags.workers,
      signal,
      ...(flags.shard && { shard: flags.shard }),
      onProgress: (done) => bar?.update(done),
      onVerdict: stream && ((v, i) => {
        begin();
        process.stdout.write(stream.each(v, i));
      }),
    });
  } catch (e) {
    bar?.stop();
    await inputErrorExit('compare', (e as { file?: string }).file, e);
    return Number(process.exitCode ?? 2);
  }
  bar?.stop();
  const stopped = signal.aborted;
  if (stream !== undefined) {
    begin();
    process.stdout.write(stream.end);
  } else {
    const note = stopped ? `stopped after ${verdicts.length} of ${total} runs (… = not run)` : `${total} runs (seeds ${flags.seeds[0]}…${flags.seeds.at(-1)})`;
    process.stdout.write(compareTable(verdicts, scenarios, policies, flags.seeds.length) + `\n\n${note}\n`);
  }
  if (stopped) return stopExit(signal);
  // A shard holds a part of the matrix: its runs are checked once merged, not here.
  const failed = flags.shard ? '' : await expectFailures(verdicts, scenarios, flags);
  process.stderr.write(failed);
  return failed === '' ? 0 : 1;
}

/**
 * A shard's output, what `xensim merge` reads: its place and the whole matrix first (a head line,
 * or the head of one object), then its verdicts as --ndjson (default) or --json writes them.
 */
function shardStream(flags: CompareFlags, head: object): { start: string; each: (v: Verdict, i: number) => string; end: string } {
  if (flags.csv) throw new UsageError('--shard writes what `xensim merge` reads: --ndjson (the default) or --json, not --csv');
  const h = JSON.stringify({ shard: head });
  if (flags.json) return { start: h.slice(0, -1) + ',"verdicts":[', each: (v, i) => (i === 0 ? '' : ',') + JSON.stringify(v), end: ']}\n' };
  return { start: h + '\n', each: (v) => JSON.stringify(v) + '\n', end: '' };
}

async function progressBar(total: number) {
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format: 'compare [{bar}] {value}/{total} runs' }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return bar;
}
